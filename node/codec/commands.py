"""One ledger command <-> one protobuf `Command`, field for field.

The command id lives on `Command`; each oneof member carries the other fields of its ledger
dataclass under the same names. Decoding is on the hot path (every replica decodes every entry),
so each kind has a plain hand-written function rather than reflection.
"""

from __future__ import annotations

from collections.abc import Callable

from node.api.settlement.v1 import commands_pb2 as pb
from node.codec.errors import CodecError
from node.codec.fields import bounded_bytes, if_present, int64_from_uint64, ledger_enum, or_default
from node.codec.limits import (
    create_market_wire_defaults,
    oracle_sources_wire_max,
    public_key_wire_bytes_max,
    signature_wire_bytes_max,
)
from node.ledger.commands import (
    ActionKind,
    CheckpointVote,
    Command,
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

# --- decoding: protobuf -> ledger ---------------------------------------------------------------


def _create_market_from(id: str, m: pb.CreateMarket) -> CreateMarket:
    return CreateMarket(
        id=id,
        market=m.market,
        kind=ledger_enum(MarketKind, m.kind, "kind"),
        tick_size=m.tick_size,
        lot_size=m.lot_size,
        initial_margin_bps=m.initial_margin_bps,
        maintenance_margin_bps=m.maintenance_margin_bps,
        liquidation_fee_bps=m.liquidation_fee_bps,
        open_interest_cap=m.open_interest_cap,
        trade_band_bps=m.trade_band_bps,
        band_bps=m.band_bps,
        band_window_ms=m.band_window_ms,
        cooldown_ms=m.cooldown_ms,
        expiry_ms=m.expiry_ms,
        strike_price=m.strike_price,
        option_type=ledger_enum(OptionType, m.option_type, "option_type"),
        open_interest_soft_cap=m.open_interest_soft_cap,
        position_cap=m.position_cap,
        cascade_window_ms=m.cascade_window_ms,
        cascade_bps=m.cascade_bps,
        sources=_sources_from(m.sources),
        min_sources=or_default(m.min_sources, create_market_wire_defaults["min_sources"]),
        stale_after_ms=or_default(m.stale_after_ms, create_market_wire_defaults["stale_after_ms"]),
        volatility_bps=m.volatility_bps,
        twap_window_ms=m.twap_window_ms,
        liquidation_slice_bps=or_default(m.liquidation_slice_bps, create_market_wire_defaults["liquidation_slice_bps"]),
        liquidation_window_ms=m.liquidation_window_ms,
        liquidation_cap_notional=m.liquidation_cap_notional,
        fund_position_cap=m.fund_position_cap,
        unwind_start_bps=or_default(m.unwind_start_bps, create_market_wire_defaults["unwind_start_bps"]),
        unwind_slope_bps_per_minute=or_default(m.unwind_slope_bps_per_minute, create_market_wire_defaults["unwind_slope_bps_per_minute"]),
        unwind_discount_max_bps=or_default(m.unwind_discount_max_bps, create_market_wire_defaults["unwind_discount_max_bps"]),
        unwind_slice_contracts=m.unwind_slice_contracts,
        unwind_window_ms=or_default(m.unwind_window_ms, create_market_wire_defaults["unwind_window_ms"]),
        unwind_deadline_ms=or_default(m.unwind_deadline_ms, create_market_wire_defaults["unwind_deadline_ms"]),
        maker_fee_bps=m.maker_fee_bps,
        taker_fee_bps=m.taker_fee_bps,
        fee_fund_share_bps=m.fee_fund_share_bps,
        funding_interval_ms=m.funding_interval_ms,
        funding_rate_cap_bps=m.funding_rate_cap_bps,
        margin_call_bps=m.margin_call_bps,
        volatility_half_life_ms=m.volatility_half_life_ms,
        band_volatility_pct=m.band_volatility_pct,
        band_floor_bps=m.band_floor_bps,
        band_ceiling_bps=m.band_ceiling_bps,
        initial_margin_ceiling_bps=m.initial_margin_ceiling_bps,
        outlier_bps=if_present(m, "outlier_bps", create_market_wire_defaults["outlier_bps"]),
        clamp_after_ms=m.clamp_after_ms,
        settlement_window_ms=m.settlement_window_ms,
        underlying=m.underlying,
    )


def _sources_from(sources) -> tuple[OracleSource, ...]:
    """The market's sources; ids, count and key sizes are the ledger's to judge, junk is not."""
    if len(sources) > oracle_sources_wire_max:
        raise CodecError("sources", f"{len(sources)} sources, at most {oracle_sources_wire_max}")
    return tuple(
        OracleSource(
            source=s.source,
            public_key=bounded_bytes(s.public_key, public_key_wire_bytes_max, f"sources[{position}].public_key"),
        )
        for position, s in enumerate(sources)
    )


def _deposit_from(id: str, m: pb.Deposit) -> Deposit:
    return Deposit(id=id, account=m.account, amount=m.amount)


def _withdraw_from(id: str, m: pb.Withdraw) -> Withdraw:
    return Withdraw(id=id, account=m.account, amount=m.amount)


def _settle_trade_from(id: str, m: pb.SettleTrade) -> SettleTrade:
    return SettleTrade(
        id=id,
        market=m.market,
        buyer=m.buyer,
        seller=m.seller,
        price=m.price,
        quantity=m.quantity,
        buyer_fee=m.buyer_fee,
        seller_fee=m.seller_fee,
        maker_side=ledger_enum(MakerSide, m.maker_side, "maker_side"),
    )


def _price_update_from(id: str, m: pb.PriceUpdate) -> PriceUpdate:
    return PriceUpdate(
        id=id,
        market=m.market,
        source=m.source,
        price=m.price,
        source_time_ms=m.source_time_ms,
        signature=bounded_bytes(m.signature, signature_wire_bytes_max, "signature"),
    )


def _emergency_action_from(id: str, m: pb.EmergencyAction) -> EmergencyAction:
    return EmergencyAction(
        id=id,
        kind=ledger_enum(ActionKind, m.kind, "kind"),
        canonical_bytes=m.canonical_bytes,
        nonce=int64_from_uint64(m.nonce, "nonce"),
        not_after_ms=m.not_after_ms,
        signatures=tuple(Signature(key_id=s.key_id, signature=s.signature) for s in m.signatures),
        market=m.market,
        price=m.price,
    )


def _checkpoint_vote_from(id: str, m: pb.CheckpointVote) -> CheckpointVote:
    return CheckpointVote(
        id=id,
        node=m.node,
        index=int64_from_uint64(m.index, "index"),
        state_hash=m.state_hash,
        signature=m.signature,
    )


# --- encoding: ledger -> protobuf ---------------------------------------------------------------


def _create_market_to(c: CreateMarket) -> pb.CreateMarket:
    # min_sources, stale_after_ms and liquidation_slice_bps go out as they are; a 0 there (which
    # the ledger would refuse) reads back as the wire default, the only meaning a 0 has on the wire.
    return pb.CreateMarket(
        market=c.market,
        kind=c.kind,
        tick_size=c.tick_size,
        lot_size=c.lot_size,
        initial_margin_bps=c.initial_margin_bps,
        maintenance_margin_bps=c.maintenance_margin_bps,
        liquidation_fee_bps=c.liquidation_fee_bps,
        open_interest_cap=c.open_interest_cap,
        trade_band_bps=c.trade_band_bps,
        band_bps=c.band_bps,
        band_window_ms=c.band_window_ms,
        cooldown_ms=c.cooldown_ms,
        expiry_ms=c.expiry_ms,
        strike_price=c.strike_price,
        option_type=c.option_type,
        open_interest_soft_cap=c.open_interest_soft_cap,
        position_cap=c.position_cap,
        cascade_window_ms=c.cascade_window_ms,
        cascade_bps=c.cascade_bps,
        sources=[pb.OracleSource(source=s.source, public_key=s.public_key) for s in c.sources],
        min_sources=c.min_sources,
        stale_after_ms=c.stale_after_ms,
        volatility_bps=c.volatility_bps,
        twap_window_ms=c.twap_window_ms,
        liquidation_slice_bps=c.liquidation_slice_bps,
        liquidation_window_ms=c.liquidation_window_ms,
        liquidation_cap_notional=c.liquidation_cap_notional,
        fund_position_cap=c.fund_position_cap,
        unwind_start_bps=c.unwind_start_bps,
        unwind_slope_bps_per_minute=c.unwind_slope_bps_per_minute,
        unwind_discount_max_bps=c.unwind_discount_max_bps,
        unwind_slice_contracts=c.unwind_slice_contracts,
        unwind_window_ms=c.unwind_window_ms,
        unwind_deadline_ms=c.unwind_deadline_ms,
        maker_fee_bps=c.maker_fee_bps,
        taker_fee_bps=c.taker_fee_bps,
        fee_fund_share_bps=c.fee_fund_share_bps,
        funding_interval_ms=c.funding_interval_ms,
        funding_rate_cap_bps=c.funding_rate_cap_bps,
        margin_call_bps=c.margin_call_bps,
        volatility_half_life_ms=c.volatility_half_life_ms,
        band_volatility_pct=c.band_volatility_pct,
        band_floor_bps=c.band_floor_bps,
        band_ceiling_bps=c.band_ceiling_bps,
        initial_margin_ceiling_bps=c.initial_margin_ceiling_bps,
        outlier_bps=c.outlier_bps,  # always set: an explicit 0 (off) must not read back as the default
        clamp_after_ms=c.clamp_after_ms,
        settlement_window_ms=c.settlement_window_ms,
        underlying=c.underlying,
    )


def _deposit_to(c: Deposit) -> pb.Deposit:
    return pb.Deposit(account=c.account, amount=c.amount)


def _withdraw_to(c: Withdraw) -> pb.Withdraw:
    return pb.Withdraw(account=c.account, amount=c.amount)


def _settle_trade_to(c: SettleTrade) -> pb.SettleTrade:
    return pb.SettleTrade(
        market=c.market,
        buyer=c.buyer,
        seller=c.seller,
        price=c.price,
        quantity=c.quantity,
        buyer_fee=c.buyer_fee,
        seller_fee=c.seller_fee,
        maker_side=c.maker_side,
    )


def _price_update_to(c: PriceUpdate) -> pb.PriceUpdate:
    return pb.PriceUpdate(
        market=c.market,
        source=c.source,
        price=c.price,
        source_time_ms=c.source_time_ms,
        signature=c.signature,
    )


def _emergency_action_to(c: EmergencyAction) -> pb.EmergencyAction:
    return pb.EmergencyAction(
        kind=c.kind,
        canonical_bytes=c.canonical_bytes,
        nonce=c.nonce,
        not_after_ms=c.not_after_ms,
        signatures=[pb.Signature(key_id=s.key_id, signature=s.signature) for s in c.signatures],
        market=c.market,
        price=c.price,
    )


def _checkpoint_vote_to(c: CheckpointVote) -> pb.CheckpointVote:
    return pb.CheckpointVote(node=c.node, index=c.index, state_hash=c.state_hash, signature=c.signature)


# --- the table: one row per oneof member of Command.kind ----------------------------------------

_KINDS: dict[str, tuple[type, Callable, Callable]] = {
    "create_market": (CreateMarket, _create_market_from, _create_market_to),
    "deposit": (Deposit, _deposit_from, _deposit_to),
    "withdraw": (Withdraw, _withdraw_from, _withdraw_to),
    "settle_trade": (SettleTrade, _settle_trade_from, _settle_trade_to),
    "price_update": (PriceUpdate, _price_update_from, _price_update_to),
    "emergency_action": (EmergencyAction, _emergency_action_from, _emergency_action_to),
    "checkpoint_vote": (CheckpointVote, _checkpoint_vote_from, _checkpoint_vote_to),
}

# {oneof member name: ledger command type}; tests check it covers the oneof and COMMAND_TYPES.
ONEOF_TO_TYPE: dict[str, type] = {name: row[0] for name, row in _KINDS.items()}

_DECODERS: dict[str, Callable] = {name: row[1] for name, row in _KINDS.items()}
_ENCODERS: dict[type, tuple[str, Callable]] = {row[0]: (name, row[2]) for name, row in _KINDS.items()}


def command_from_proto(message: pb.Command) -> Command:
    """The ledger command a wire `Command` carries. Raises CodecError if it carries none."""
    kind = message.WhichOneof("kind")
    decode = _DECODERS.get(kind)  # type: ignore[arg-type]
    if decode is None:
        # An unset oneof and a member added by a newer client look the same here: both leave
        # the oneof empty (the latter as an unknown field).
        raise CodecError("kind", "no command kind set, or one unknown to this node")
    try:
        return decode(message.id, getattr(message, kind))
    except CodecError as error:
        raise error.within(kind) from None


def command_to_proto(command: Command) -> pb.Command:
    """The wire form of a ledger command. Raises CodecError if a value does not fit its field."""
    row = _ENCODERS.get(type(command))
    if row is None:
        raise CodecError("kind", f"{type(command).__name__} is not a ledger command")
    kind, encode = row
    try:
        return pb.Command(id=command.id, **{kind: encode(command)})
    except (ValueError, TypeError) as error:  # protobuf's own range and type checks
        raise CodecError(kind, str(error)) from None
