"""Sample ledger commands shared by the codec tests: every field set to a non-default value, so
a field the codec forgot to carry shows up as an inequality."""

from __future__ import annotations

import pytest

from node.ledger.commands import (
    ActionKind,
    CheckpointVote,
    CreateMarket,
    Deposit,
    EmergencyAction,
    MakerSide,
    MarketKind,
    OptionType,
    OracleSource,
    PriceUpdate,
    SettleTrade,
    Signature,
    Withdraw,
)

SAMPLE_COMMANDS = (
    CreateMarket(
        id="op:m-1",
        market="BTC-C-70K",
        kind=MarketKind.OPTION,
        tick_size=5,
        lot_size=2,
        initial_margin_bps=1_000,
        maintenance_margin_bps=500,
        liquidation_fee_bps=50,
        open_interest_cap=10_000,
        trade_band_bps=300,
        band_bps=800,
        band_window_ms=60_000,
        cooldown_ms=120_000,
        expiry_ms=1_790_000_000_000,
        strike_price=70_000_000_000,
        option_type=OptionType.CALL,
        open_interest_soft_cap=500_000,
        position_cap=100_000,
        cascade_window_ms=30_000,
        cascade_bps=1_500,
        sources=(OracleSource("feed-a", b"\x06" * 32), OracleSource("feed-b", b"\x07" * 32)),
        min_sources=2,
        stale_after_ms=30_000,
        volatility_bps=500,
        twap_window_ms=300_000,
        liquidation_slice_bps=2_000,
        liquidation_window_ms=60_000,
        liquidation_cap_notional=10**12,
        fund_position_cap=50,
        unwind_start_bps=20,
        unwind_slope_bps_per_minute=5,
        unwind_discount_max_bps=500,
        unwind_slice_contracts=10,
        unwind_window_ms=30_000,
        unwind_deadline_ms=3_600_000,
        maker_fee_bps=-2,
        taker_fee_bps=5,
        fee_fund_share_bps=2_500,
        funding_interval_ms=3_600_000,
        funding_rate_cap_bps=75,
        margin_call_bps=750,
        volatility_half_life_ms=600_000,
        band_volatility_pct=400,
        band_floor_bps=300,
        band_ceiling_bps=3_000,
        initial_margin_ceiling_bps=3_000,
        outlier_bps=500,
        clamp_after_ms=300_000,
        settlement_window_ms=600_000,
        underlying="BTC-PERP",
    ),
    Deposit(id="cust:d-1", account="alice", amount=5_000_000_000),
    Withdraw(id="cust:w-1", account="alice", amount=1_000_000),
    SettleTrade(
        id="me:fill-1",
        market="BTC-PERP",
        buyer="alice",
        seller="bob",
        price=64_000_000_000,
        quantity=3,
        buyer_fee=1_200,
        seller_fee=800,
        maker_side=MakerSide.SELLER,  # the codec carries what it is given; the ledger judges the mix
    ),
    PriceUpdate(
        id="or:p-1",
        market="BTC-PERP",
        source="feed-a",
        price=64_100_000_000,
        source_time_ms=1_763_000_000_123,
        signature=b"\x01" * 64,
    ),
    EmergencyAction(
        id="g:e-1",
        kind=ActionKind.EMERGENCY_SETTLE,
        canonical_bytes=b"settlement/v1 emergency ...",
        nonce=42,
        not_after_ms=1_763_000_300_000,
        signatures=(Signature(key_id="guardian-1", signature=b"\x02" * 64), Signature(key_id="node-2", signature=b"\x03" * 64)),
        market="BTC-PERP",
        price=63_000_000_000,
    ),
    CheckpointVote(id="n1:cp-900", node="n1", index=900, state_hash=b"\x04" * 32, signature=b"\x05" * 64),
)


@pytest.fixture
def sample_commands():
    return SAMPLE_COMMANDS


@pytest.fixture(params=SAMPLE_COMMANDS, ids=lambda command: type(command).__name__)
def sample_command(request):
    return request.param
