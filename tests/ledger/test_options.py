"""Options: listing, marks, premium at the fill, portfolio margin, liquidation and expiry
(docs/design.md#options). One behaviour per test."""

from __future__ import annotations

from dataclasses import replace

from node.ledger.commands import MarketKind, OptionType
from node.ledger.events import Liquidation
from node.ledger.margin import account_valuation, positions_valuation
from node.ledger.option_margin import scenario_params
from node.ledger.option_pricing import option_price
from node.ledger.portfolio_margin import LinearPosition, OptionPosition, UnderlyingBook, underlying_requirement
from node.ledger.records import MarketStatus, StatusReason
from node.ledger.results import ResultCode

from .driver import MARKET, SOURCE, LedgerDriver, create_market, oracle_source, signed_price
from .options_fixture import (
    CALL,
    DAY_MS,
    INDEX,
    PUT,
    STRIKE,
    VOL_SOURCE,
    VOLATILITY_PPM,
    listed_option,
    model_premium,
    option_market,
    tick_price,
)


def _perpetual() -> LedgerDriver:
    driver = LedgerDriver()
    driver.one(create_market())
    driver.price(INDEX)
    return driver


def _refused(driver: LedgerDriver, cmd, code: ResultCode) -> None:
    hash_before, markets_before = driver.state.state_hash, dict(driver.state.markets)
    result = driver.one(replace(cmd, id=driver.next_id("create")))
    assert result.code == code, result
    assert driver.state.markets == markets_before and cmd.market not in driver.state.option_underlying
    assert f"sys:fund:{cmd.market}" not in driver.state.accounts
    assert hash_before != driver.state.state_hash  # only its dedup record was written


# -- listing -----------------------------------------------------------------------------------


def test_a_call_on_a_perpetual_is_listed_with_its_underlying():
    driver = _perpetual()
    assert driver.one(option_market(driver)).code == ResultCode.OK
    market = driver.state.markets[CALL]
    assert (market.kind, market.underlying, market.strike_price, market.option_type) == (
        MarketKind.OPTION, MARKET, STRIKE, OptionType.CALL)
    assert driver.state.options_of[MARKET] == {CALL: None}


def test_an_option_on_an_unknown_market_is_refused():
    driver = _perpetual()
    _refused(driver, option_market(driver, underlying="ETH-PERP"), ResultCode.UNKNOWN_UNDERLYING)


def test_an_option_on_an_option_is_refused():
    driver = _perpetual()
    driver.one(option_market(driver))
    _refused(driver, option_market(driver, market="BTC-CC", underlying=CALL), ResultCode.INVALID_UNDERLYING)


def test_an_option_must_be_a_call_or_a_put():
    driver = _perpetual()
    _refused(driver, option_market(driver, option_type=OptionType.NONE), ResultCode.INVALID_OPTION_TYPE)


def test_a_strike_off_the_underlyings_tick_is_refused():
    driver = LedgerDriver()
    driver.one(create_market(tick_size=1_000_000))
    _refused(driver, option_market(driver, strike_price=STRIKE + 1), ResultCode.INVALID_STRIKE)
    _refused(driver, option_market(driver, strike_price=0), ResultCode.INVALID_STRIKE)


def test_an_expiry_not_in_the_future_is_refused():
    driver = _perpetual()
    _refused(driver, option_market(driver, expiry_ms=driver.time_ms), ResultCode.INVALID_OPTION_EXPIRY)


def test_an_expiry_after_a_future_underlyings_is_refused():
    driver = LedgerDriver()
    expiry = driver.time_ms + 10 * DAY_MS
    driver.one(create_market(market="BTC-FUT", kind=MarketKind.FUTURE, expiry_ms=expiry))
    _refused(driver, option_market(driver, underlying="BTC-FUT", expiry_ms=expiry + 1), ResultCode.INVALID_OPTION_EXPIRY)
    assert driver.one(option_market(driver, underlying="BTC-FUT", expiry_ms=expiry)).code == ResultCode.OK


def test_an_option_with_a_price_volatility_guard_is_refused():
    driver = _perpetual()
    _refused(driver, option_market(driver, volatility_bps=500, twap_window_ms=60_000), ResultCode.INVALID_MARKET_PARAMS)


def test_only_an_option_has_an_underlying():
    driver = _perpetual()
    _refused(driver, create_market(market="ETH-PERP", underlying=MARKET), ResultCode.INVALID_MARKET_PARAMS)


# -- marks -------------------------------------------------------------------------------------


def test_the_mark_volatility_is_the_median_of_the_sources():
    driver = _perpetual()
    sources = tuple(oracle_source(name) for name in ("vol-a", "vol-b", "vol-c"))
    driver.one(option_market(driver, sources=sources, outlier_bps=0))
    driver.run(*(
        signed_price(f"v{i}", CALL, name, vol, driver.time_ms + 1)
        for i, (name, vol) in enumerate((("vol-a", 700_000), ("vol-b", 800_000), ("vol-c", 2_000_000)))
    ))
    assert driver.state.markets[CALL].mark_volatility_ppm == 800_000


def test_the_mark_premium_is_the_model_price_at_the_marks():
    driver = listed_option()
    option = driver.state.markets[CALL]
    expected = option_price(OptionType.CALL, INDEX, STRIKE, VOLATILITY_PPM, option.expiry_ms - option.premium_time_ms)
    assert option.mark_price == expected and option.mark_volatility_ppm == VOLATILITY_PPM


def test_the_premium_follows_the_underlyings_mark_in_the_same_entry():
    driver = listed_option()
    before = driver.state.markets[CALL].mark_price
    # Half a second later: sooner than option_premium_refresh_ms, so only the new index reprices it.
    driver.run(signed_price("px-up", MARKET, SOURCE, INDEX * 105 // 100, driver.time_ms + 1), time_ms=driver.time_ms + 500)
    assert driver.state.markets[CALL].mark_price > before
    assert driver.state.markets[CALL].mark_price == model_premium(driver)


def test_the_premium_decays_as_ledger_time_moves():
    driver = listed_option()
    before = driver.state.markets[CALL].mark_price
    driver.run(time_ms=driver.time_ms + DAY_MS)  # an empty entry a day later
    assert driver.state.markets[CALL].mark_price < before
    assert driver.state.markets[CALL].premium_time_ms == driver.time_ms


def test_a_volatility_jump_beyond_the_band_halts_the_option():
    driver = listed_option()
    driver.price(VOLATILITY_PPM * 2, market=CALL, source=VOL_SOURCE)  # +100% against a 50% band
    assert driver.state.markets[CALL].status == MarketStatus.HALTED
    assert driver.state.markets[CALL].status_reason == StatusReason.PRICE_BAND


# -- trading -----------------------------------------------------------------------------------


def test_the_buyer_pays_the_premium_to_the_seller_at_the_fill():
    driver = listed_option()
    premium = tick_price(driver.state.markets[CALL].mark_price)
    alice, bob = driver.collateral("alice"), driver.collateral("bob")
    assert driver.trade("alice", "bob", premium, 3, market=CALL).code == ResultCode.OK
    assert driver.collateral("alice") == alice - 3 * premium
    assert driver.collateral("bob") == bob + 3 * premium
    assert driver.state.position("alice", CALL).cost_basis == 0 == driver.state.position("bob", CALL).cost_basis


def test_a_long_option_needs_no_margin_beyond_its_premium():
    driver = listed_option()
    premium = tick_price(driver.state.markets[CALL].mark_price)
    driver.deposit("carol", 2 * premium)
    assert driver.trade("carol", "bob", premium, 2, market=CALL).code == ResultCode.OK
    assert driver.collateral("carol") == 0
    assert account_valuation(driver.state, "carol")[2:] == (0, 0)


def test_a_buyer_who_cannot_pay_the_premium_is_refused():
    driver = listed_option()
    premium = tick_price(driver.state.markets[CALL].mark_price)
    driver.deposit("carol", 2 * premium - 1)
    hash_positions = dict(driver.state.positions)
    assert driver.trade("carol", "bob", premium, 2, market=CALL).code == ResultCode.INSUFFICIENT_MARGIN
    assert driver.state.positions == hash_positions and driver.collateral("carol") == 2 * premium - 1


def _short_call_requirement(driver: LedgerDriver, size: int, entries_ahead: int = 0) -> int:
    """The initial requirement of `size` short calls, at the ledger time `entries_ahead` entries from now."""
    option = driver.state.markets[CALL]
    book = UnderlyingBook(INDEX, (OptionPosition(-size, OptionType.CALL, STRIKE, option.expiry_ms, VOLATILITY_PPM),))
    now_ms = driver.state.ledger_time_ms + 1_000 * entries_ahead  # the driver's clock: 1 s per entry
    return underlying_requirement(book, now_ms, scenario_params(driver.state.markets[MARKET])).initial


def test_a_short_option_is_margined_by_the_scenarios():
    driver = listed_option()
    premium = tick_price(driver.state.markets[CALL].mark_price)
    required = _short_call_requirement(driver, 1, entries_ahead=2)
    assert required > premium  # the buy-back price and the worst scenario's loss
    driver.deposit("dave", required - premium - 1)  # the premium received counts as collateral
    assert driver.trade("alice", "dave", premium, 1, market=CALL).code == ResultCode.INSUFFICIENT_MARGIN
    required = _short_call_requirement(driver, 1, entries_ahead=2)
    driver.deposit("dave", required - premium - driver.collateral("dave"))
    assert driver.trade("alice", "dave", premium, 1, market=CALL).code == ResultCode.OK
    assert account_valuation(driver.state, "dave")[2] == required


def test_a_short_call_against_a_long_perpetual_needs_less_than_the_two_alone():
    driver = listed_option()
    premium = tick_price(driver.state.markets[CALL].mark_price)
    driver.trade("bob", "alice", INDEX, 1)  # bob long one perpetual
    perpetual_alone = account_valuation(driver.state, "bob")[2]
    driver.trade("alice", "bob", premium, 1, market=CALL)  # and short one call
    hedged = account_valuation(driver.state, "bob")[2]
    call_alone = _short_call_requirement(driver, 1)
    assert hedged < perpetual_alone + call_alone
    assert hedged < call_alone  # the long perpetual gains in the rallies that set the call's requirement


def test_an_account_without_options_keeps_the_linear_margin():
    driver = listed_option()
    driver.trade("alice", "bob", INDEX, 2)
    positions = list(driver.state.positions["alice"].items())
    assert "alice" not in driver.state.option_accounts
    assert account_valuation(driver.state, "alice") == positions_valuation(driver.state, positions)


def test_an_option_does_not_trade_while_its_underlying_is_halted():
    driver = listed_option()
    premium = tick_price(driver.state.markets[CALL].mark_price)
    driver.price(INDEX * 2)  # the perpetual's band breaker trips
    assert driver.state.markets[MARKET].status == MarketStatus.HALTED
    premium = tick_price(driver.state.markets[CALL].mark_price)  # made from the halted mark
    assert driver.trade("alice", "bob", premium, 1, market=CALL).code == ResultCode.MARKET_NOT_ACTIVE


def test_a_premium_outside_the_trade_band_is_refused():
    driver = listed_option()
    premium = driver.state.markets[CALL].mark_price
    assert driver.trade("alice", "bob", tick_price(premium * 2), 1, market=CALL).code == ResultCode.PRICE_OUTSIDE_BAND


def test_the_position_cap_applies_to_an_option():
    driver = listed_option(position_cap=2)
    premium = tick_price(driver.state.markets[CALL].mark_price)
    assert driver.trade("alice", "bob", premium, 3, market=CALL).code == ResultCode.POSITION_CAP


# -- liquidation -------------------------------------------------------------------------------


def test_a_short_call_holder_is_liquidated_when_the_underlying_rallies():
    driver = listed_option()
    premium = tick_price(driver.state.markets[CALL].mark_price)
    driver.deposit("dave", _short_call_requirement(driver, 1, entries_ahead=2) - premium)
    assert driver.trade("alice", "dave", premium, 1, market=CALL).code == ResultCode.OK
    for step in (1, 2, 3):  # +15% a band window apart: the perpetual's breaker stays quiet
        driver.run(time_ms=driver.time_ms + 61_000)
        driver.price(VOLATILITY_PPM, market=CALL, source=VOL_SOURCE)  # the volatility stays fresh
        driver.price(INDEX * (100 + 15 * step) // 100)
    assert driver.state.markets[MARKET].status == MarketStatus.ACTIVE
    liquidations = [e for e in driver.events if isinstance(e, Liquidation) and e.account == "dave"]
    assert liquidations and liquidations[0].market == CALL
    assert driver.size("dave", CALL) == 0


# -- expiry ------------------------------------------------------------------------------------


def _expire_at(option_type: OptionType, underlying_price: int) -> tuple[LedgerDriver, int, int]:
    driver = listed_option(option_type)
    market = CALL if option_type == OptionType.CALL else PUT
    premium = tick_price(driver.state.markets[market].mark_price)
    assert driver.trade("alice", "bob", premium, 2, market=market).code == ResultCode.OK
    expiry_ms = driver.state.markets[market].expiry_ms
    driver.run(time_ms=expiry_ms - 1_000)
    driver.price(underlying_price)  # the underlying's mark is VALID and fresh at expiry
    alice, bob = driver.collateral("alice"), driver.collateral("bob")
    driver.run(time_ms=expiry_ms)
    assert driver.state.markets[market].status == MarketStatus.SETTLED
    assert driver.state.markets[market].status_reason == StatusReason.EXPIRED
    assert driver.size("alice", market) == 0 == driver.size("bob", market)
    return driver, driver.collateral("alice") - alice, driver.collateral("bob") - bob


def test_a_call_in_the_money_pays_the_index_above_the_strike():
    _, long_gain, short_gain = _expire_at(OptionType.CALL, INDEX + 3_000_000_000)
    assert (long_gain, short_gain) == (2 * 3_000_000_000, -2 * 3_000_000_000)


def test_a_call_out_of_the_money_expires_worthless():
    _, long_gain, short_gain = _expire_at(OptionType.CALL, INDEX - 3_000_000_000)
    assert (long_gain, short_gain) == (0, 0)


def test_a_put_in_the_money_pays_the_strike_above_the_index():
    _, long_gain, short_gain = _expire_at(OptionType.PUT, INDEX - 4_000_000_000)
    assert (long_gain, short_gain) == (2 * 4_000_000_000, -2 * 4_000_000_000)


def test_a_put_out_of_the_money_expires_worthless():
    _, long_gain, short_gain = _expire_at(OptionType.PUT, INDEX + 4_000_000_000)
    assert (long_gain, short_gain) == (0, 0)


def test_an_expired_option_no_longer_trades():
    driver = listed_option()
    premium = tick_price(driver.state.markets[CALL].mark_price)
    driver.run(time_ms=driver.state.markets[CALL].expiry_ms)
    assert driver.trade("alice", "bob", premium, 1, market=CALL).code in (ResultCode.MARKET_EXPIRED, ResultCode.MARKET_NOT_ACTIVE)


def test_an_option_market_reloads_from_its_records():
    from node.ledger.state import state_from_records

    driver = listed_option()
    premium = tick_price(driver.state.markets[CALL].mark_price)
    driver.trade("alice", "bob", premium, 1, market=CALL)
    reloaded = state_from_records(iter(list(driver.state.records())), driver.state.applied_index)
    assert reloaded.state_hash == driver.state.state_hash
    assert reloaded.markets[CALL] == driver.state.markets[CALL]
    assert reloaded.option_holders == {MARKET: {"alice": None, "bob": None}}
    assert reloaded.option_accounts == driver.state.option_accounts



def test_an_option_with_a_margin_call_level_is_refused():
    driver = _perpetual()
    _refused(driver, option_market(driver, margin_call_bps=700), ResultCode.INVALID_MARKET_PARAMS)


def test_an_option_holder_is_never_margin_called():
    from node.ledger.margin_calls import call_level

    driver = LedgerDriver()
    driver.one(create_market(margin_call_bps=700))  # the perpetual calls its holders at 7%
    driver.price(INDEX)
    driver.one(option_market(driver))
    driver.price(VOLATILITY_PPM, market=CALL, source=VOL_SOURCE)
    for account in ("alice", "bob"):
        driver.deposit(account, 10**12)
    driver.trade("alice", "bob", INDEX, 1)
    assert call_level(driver.state, "bob") is not None
    driver.trade("alice", "bob", tick_price(driver.state.markets[CALL].mark_price), 1, market=CALL)
    assert call_level(driver.state, "bob") is None


def test_an_option_holder_is_liquidated_largest_risk_first():
    driver = listed_option()
    driver.one(option_market(driver, market=PUT, option_type=OptionType.PUT))
    driver.price(VOLATILITY_PPM, market=PUT, source=VOL_SOURCE)
    call, put = (tick_price(driver.state.markets[m].mark_price) for m in (CALL, PUT))
    expiry = driver.state.markets[CALL].expiry_ms
    strangle = UnderlyingBook(INDEX, (OptionPosition(-1, OptionType.CALL, STRIKE, expiry, VOLATILITY_PPM),
                                      OptionPosition(-1, OptionType.PUT, STRIKE, expiry, VOLATILITY_PPM)))
    now_ms = driver.state.ledger_time_ms + 3_000  # after the deposit and the two fills
    required = underlying_requirement(strangle, now_ms, scenario_params(driver.state.markets[MARKET])).initial
    driver.deposit("dave", required - call - put + 10**9)  # $1,000 above it, after the premiums received
    assert driver.trade("alice", "dave", put, 1, market=PUT).ok
    assert driver.trade("alice", "dave", call, 1, market=CALL).ok  # a short strangle at the money
    for step in (1, 2, 3, 4):  # +15% a band window apart
        driver.run(time_ms=driver.time_ms + 61_000)
        driver.run(*(signed_price(driver.next_id("v"), m, VOL_SOURCE, VOLATILITY_PPM, driver.time_ms + 1) for m in (CALL, PUT)))
        driver.price(INDEX * (100 + 15 * step) // 100)
        if any(isinstance(e, Liquidation) and e.account == "dave" for e in driver.events):
            break
    first = [e for e in driver.events if isinstance(e, Liquidation) and e.account == "dave"]
    assert [e.market for e in first][:1] == [CALL]  # the rally's loss is the call's: it goes first
    assert driver.size("dave", PUT) == -1  # the put, which gains in the rally, is not touched by that step


def test_kept_risk_arrays_give_the_requirement_a_full_revaluation_gives():
    from node.ledger.option_margin import book_requirement, underlying_books

    driver = listed_option()
    driver.one(option_market(driver, market=PUT, option_type=OptionType.PUT))
    driver.price(VOLATILITY_PPM * 3 // 2, market=PUT, source=VOL_SOURCE)
    for market, size in ((CALL, 3), (PUT, 2)):
        assert driver.trade("alice", "bob", tick_price(driver.state.markets[market].mark_price), size, market=market).ok
    assert driver.trade("bob", "alice", INDEX, 1).ok
    state = driver.state
    for account in ("alice", "bob"):
        (book,) = underlying_books(state, list(state.positions[account].items())).values()
        full = underlying_requirement(book, state.ledger_time_ms, scenario_params(state.markets[MARKET]))
        assert book_requirement(state, MARKET, book) == full
        assert book_requirement(state, MARKET, book) == full  # and again, from the kept arrays


def test_an_option_whose_underlying_mark_is_stale_at_expiry_waits_settling_then_settles_at_a_fresh_one():
    driver = listed_option(OptionType.CALL)
    premium = tick_price(driver.state.markets[CALL].mark_price)
    assert driver.trade("alice", "bob", premium, 2, market=CALL).code == ResultCode.OK
    alice, bob = driver.collateral("alice"), driver.collateral("bob")
    driver.run(time_ms=driver.state.markets[CALL].expiry_ms)  # the underlying's last print is long stale
    option = driver.state.markets[CALL]
    assert (option.status, option.status_reason) == (MarketStatus.SETTLING, StatusReason.SETTLEMENT_PRICE_UNRELIABLE)
    assert driver.trade("alice", "bob", premium, 1, market=CALL).code == ResultCode.MARKET_SETTLING
    assert (driver.collateral("alice"), driver.collateral("bob")) == (alice, bob)
    driver.price(INDEX + 3_000_000_000)  # a fresh VALID print of the underlying
    driver.run()
    assert driver.state.markets[CALL].status == MarketStatus.SETTLED
    assert driver.collateral("alice") - alice == 2 * 3_000_000_000 == bob - driver.collateral("bob")


def test_an_insurance_fund_that_inherits_an_option_is_never_swept_as_a_holder():
    # Found when the short option's maintenance was raised: the fund took over a bankrupt short
    # call and the next sweep liquidated the fund into itself (net position -1, the node stopped).
    driver = listed_option()
    premium = tick_price(driver.state.markets[CALL].mark_price)
    driver.deposit("dave", _short_call_requirement(driver, 1, entries_ahead=2) - premium)
    assert driver.trade("alice", "dave", premium, 1, market=CALL).code == ResultCode.OK
    for step in (1, 2, 3):
        driver.run(time_ms=driver.time_ms + 61_000)
        driver.price(VOLATILITY_PPM, market=CALL, source=VOL_SOURCE)
        driver.price(INDEX * (100 + 15 * step) // 100)
    fund = "sys:fund:" + CALL
    assert driver.size(fund, CALL) == -1 and driver.size("alice", CALL) == 1
    assert fund not in driver.state.option_accounts


def test_an_option_has_no_settlement_window_of_its_own():
    # It settles against its underlying's price (option_expiry.py), never its own premium marks.
    driver = _perpetual()
    refused = driver.one(option_market(driver, settlement_window_ms=60_000, id="create-with-window"))
    assert refused.code == ResultCode.INVALID_MARKET_PARAMS and "option has no settlement window" in refused.message
    assert CALL not in driver.state.markets
    assert driver.one(option_market(driver)).code == ResultCode.OK
    assert driver.state.markets[CALL].settlement_window_ms == 0
