"""Result codes and per-command results. Errors are data inside the ledger, never exceptions."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ResultCode(enum.IntEnum):
    OK = 0
    DUPLICATE = 1  # the id was applied before; the result carries the first outcome
    INVALID_ID = 2  # command id empty, too long, or outside [A-Za-z0-9._:-]
    INVALID_ACCOUNT = 3  # account id malformed or reserved
    INVALID_MARKET = 4  # market id malformed
    INVALID_AMOUNT = 5  # amount not positive or outside int64
    INVALID_PRICE = 6  # price not positive, outside int64, or off tick
    INVALID_QUANTITY = 7  # quantity not positive, outside int64, or off lot
    INVALID_FEE = 8  # negative fee or fee outside int64
    INVALID_MARKET_PARAMS = 9  # CreateMarket parameters out of range or inconsistent
    MARKET_EXISTS = 10
    UNKNOWN_MARKET = 11
    UNKNOWN_ACCOUNT = 12
    SELF_TRADE = 13  # buyer and seller are the same account
    MARKET_NOT_ACTIVE = 14
    MARKET_EXPIRED = 15
    NO_MARK_PRICE = 16  # trading needs a mark to value margin
    INSUFFICIENT_COLLATERAL = 17  # withdrawal beyond realized free collateral
    INSUFFICIENT_MARGIN = 18  # trade would leave a side below initial margin
    OPEN_INTEREST_CAP = 19
    ACCOUNT_NOT_ACTIVE = 20  # liquidating, bankrupt or frozen accounts may not act
    STALE_PRICE = 21  # source time not after the source's previous update
    INVALID_SOURCE = 22
    INVALID_ACTION = 23  # malformed emergency action
    NO_SIGNER_SET = 24  # no signer set is installed: no quorum can be reached
    INVALID_CHECKPOINT_VOTE = 25
    LIMIT_EXCEEDED = 26  # a named limit (markets, positions per account) would be exceeded
    PRICE_OUTSIDE_BAND = 27  # fat-finger: trade price further from the mark than trade_band_bps
    REDUCE_ONLY = 28  # the market is reduce-only and the fill would add risk to a side
    POSITION_CAP = 29  # the fill would take an account's position beyond the market's position cap
    WITHDRAWALS_GATED = 30  # withdrawals pause for a while after any account went negative
    WITHDRAWAL_LIMIT = 31  # the account's or the venue's withdrawals in the window would exceed the limit
    INVALID_SIGNATURE = 32  # the signature does not verify under the registered key
    PRICE_CLAMPED = 33  # recorded, not counted: the source repeated one price for clamp_after_ms while another moved
    UNKNOWN_SIGNER = 34  # a signature names a key that is not in the signer set
    WRONG_ROLE = 35  # a signer whose role may not approve this action (nodes never approve a resume)
    BELOW_THRESHOLD = 36  # too few distinct valid signers for this action's class
    NONCE_REUSED = 37  # an action with this nonce was applied before
    ACTION_EXPIRED = 38  # past its not_after, or valid for longer than an approval may be
    STALE_EPOCH = 39  # signed for a checkpoint epoch that is no longer current: not pre-signable
    UNSIGNED_BATCH = 40  # a batch without a submitter signature once a signer set is installed
    SEQUENCE_REPLAYED = 41  # the batch's sequence was used before by this key: a replay
    SEQUENCE_TOO_OLD = 42  # below its stream's replay window: sign again with a new sequence
    BATCH_EXPIRED = 43  # signed before ledger time minus dedup_retention_ms: read the outcome back, never resend
    BATCH_SIGNED_AHEAD = 44  # signed more than clock_lead_max_ms after ledger time: the submitter's clock is wrong
    # Insurance fund unwinding (fund_unwinding.py); numbered from 60 to leave room for other codes.
    FUND_FILL_NOT_REDUCING = 60  # a fill with an insurance fund on one side must only reduce that fund's position
    INVALID_MAKER_SIDE = 61  # maker_side unknown, or missing on a market that charges a fee schedule
    MARGIN_CALLED = 62  # the account is under a margin call: reduce-only until back at initial margin
    # Sources judged against the others (oracle.py), from 70.
    PRICE_OUTLIER = 70  # recorded, not counted: more than outlier_bps from the median of the other fresh sources
    # Bounded governance (docs/design.md#bounded-governance).
    RAISE_STEP_TOO_LARGE = 80  # a margin or fee raise beyond margin_raise_step_max_bps of its current value
    CUSTODY_QUORUM_REQUIRED = 81  # a withdrawal above custody_quorum_threshold needs a CUSTODY_WITHDRAW quorum
    NOT_CANCELLABLE = 82  # CANCEL_PENDING names no timelocked change (phase-ins and reverts are not cancellable)
    # Settlement price (docs/design.md#settlement-price)
    MARKET_SETTLING = 90  # expired without a reliable settlement price: no trade at all until it settles
    # Options (option_listing.py, docs/design.md#options), from 100.
    UNKNOWN_UNDERLYING = 100  # an option's underlying is not a listed market
    INVALID_UNDERLYING = 101  # the underlying is not a PERPETUAL or FUTURE market trading
    INVALID_OPTION_EXPIRY = 102  # not after ledger time, after a future underlying's expiry, or beyond 10 years
    INVALID_STRIKE = 103  # not a positive multiple of the underlying's tick, or beyond the pricing's range
    INVALID_OPTION_TYPE = 104  # an option must be a CALL or a PUT


@dataclass(frozen=True, slots=True)
class Result:
    id: str
    code: ResultCode
    message: str = ""
    # Collateral of the account after a Deposit or Withdraw; buyer's after a SettleTrade.
    collateral: int = 0
    # Seller's collateral after a SettleTrade.
    counterparty_collateral: int = 0
    # For DUPLICATE: the code of the first application of this id.
    original_code: ResultCode = ResultCode.OK

    @property
    def ok(self) -> bool:
        return self.code == ResultCode.OK
