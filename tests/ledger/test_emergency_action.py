"""EmergencyAction: without an installed signer set, nothing can gather a quorum."""

from node.ledger.commands import ActionKind, EmergencyAction, Signature
from node.ledger.results import ResultCode

from .driver import MARKET, LedgerDriver, listed_market_with_traders


def halt(**overrides) -> EmergencyAction:
    fields = dict(
        id="halt-1", kind=ActionKind.HALT_MARKET, canonical_bytes=b"settlement/v1 halt BTC-PERP",
        nonce=1, not_after_ms=2_000_000, signatures=(Signature("guardian-1", b"\x01" * 64),), market=MARKET,
    )
    fields.update(overrides)
    return EmergencyAction(**fields)


def test_well_formed_halt_is_refused_without_a_signer_set_and_changes_nothing():
    driver = listed_market_with_traders()
    markets_before = dict(driver.state.markets)
    assert driver.one(halt()).code == ResultCode.NO_SIGNER_SET
    assert driver.state.markets == markets_before


def test_action_without_signatures_is_invalid():
    assert LedgerDriver().one(halt(signatures=())).code == ResultCode.INVALID_ACTION


def test_action_without_canonical_bytes_is_invalid():
    assert LedgerDriver().one(halt(canonical_bytes=b"")).code == ResultCode.INVALID_ACTION


def test_market_action_without_market_is_invalid():
    assert LedgerDriver().one(halt(market="")).code == ResultCode.INVALID_ACTION


def test_unknown_action_kind_is_invalid():
    assert LedgerDriver().one(halt(kind=99)).code == ResultCode.INVALID_ACTION


def test_too_many_signatures_is_invalid():
    many = tuple(Signature(f"k{i}", b"\x01" * 64) for i in range(33))
    assert LedgerDriver().one(halt(signatures=many)).code == ResultCode.INVALID_ACTION
