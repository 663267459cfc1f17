"""Every limit of the ledger, named once, with its unit in its name.

The shells (server, replica) enforce the same limits before a command reaches the log; the
ledger asserts them again, because a bug or a rogue leader upstream must not reach state.
"""

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

command_id_bytes_max = 64
account_id_bytes_max = 64
market_id_bytes_max = 32
source_id_bytes_max = 64
# Allowed characters of every client-chosen id: [A-Za-z0-9._:-]
id_charset = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-")
# Ids with this prefix belong to the ledger itself (the insurance fund account) and are refused
# in client commands.
reserved_id_prefix = "sys:"

batch_commands_max = 1_000  # commands in one Submit call
entry_commands_max = 4_000  # commands in one Raft entry (several coalesced Submit calls)
message_bytes_max = 256
signature_bytes_max = 128
signatures_per_action_max = 32

bps_denominator = 10_000
margin_bps_max = 10_000
trade_band_bps_max = 100_000
liquidation_fee_bps_max = 1_000
markets_max = 1_000
positions_per_account_max = 64

# Below this balance of the insurance funds together (global plus every market's; quote minor
# units) the whole venue becomes REDUCE_ONLY until they are topped up: 0 means a deficit. The
# default of the governed policy parameter `insurance_fund_floor` (policy_params.py).
insurance_fund_floor = 0

# Withdrawal limits (quote minor units per window) and the gate after any account goes negative
# (dYdX). The window is fixed; the limits and the gate are the defaults of governed policy
# parameters of the same names (policy_params.py, docs/design.md#governed-policy-parameters).
withdrawal_window_ms = 3_600_000
withdrawal_account_max_per_window = 10**13  # 10M USD per account per hour
withdrawal_global_max_per_window = 10**14  # 100M USD for the whole venue per hour
withdrawal_gate_after_negative_ms = 3_600_000

# Bounded governance (docs/design.md#bounded-governance): the defaults of the governed policy
# parameters that bound a guardian raise of margins and fees, phase it in, and put large
# withdrawals behind a quorum of custodian keys.
margin_raise_step_max_bps = 5_000  # one action raises a margin or fee by at most 50% of its current value
margin_raise_step_floor_bps = 50  # ... or by 0.5 percentage points, whichever is more
margin_raise_grace_ms = 3_600_000  # a maintenance raise applies an hour after the margin calls it places
custody_quorum_threshold = 10**12  # a withdrawal above 1M USD needs a quorum of custodian keys
custody_quorum = 2  # distinct custodian signatures such a withdrawal needs
revert_after_ms_max = 30 * 86_400_000  # a temporary tightening lasts at most 30 days

# Oracle: sources per market, and how far a source's clock may run ahead of ledger time.
oracle_sources_max = 16
source_clock_skew_max_ms = 10_000
# Sources judged against the others (docs/design.md#outliers-and-clamps): a print more than
# outlier_bps from the others' median is an OUTLIER (10% by default; 0 = off; at most 10x), a
# price repeated for clamp_after_ms while another source moved is CLAMPED (0 = off; at most 30
# days: a source printing once a week needs more than a week).
outlier_bps_default = 1_000
outlier_bps_max = 100_000
outlier_others_min = 2  # fewer other fresh sources than this: no outlier judgement
clamp_after_ms_max = 30 * 86_400_000

# Auto-deleveraging closes a bankrupt long at most at this multiple of the mark; a loss beyond
# that stays uncovered (the account BANKRUPT) rather than pushing numbers out of int64.
bankruptcy_price_mark_multiple_max = 100

# Quorum-signed actions (governance.py, emergency.py).
signers_max = 32
cluster_id_bytes_max = 64
action_bytes_max = 16_384  # an action's canonical bytes
action_lifetime_max_ms = 900_000  # an approval may be valid for 15 minutes at most (Drift 2026)
epoch_grace = 10  # an action may bind the current checkpoint epoch or one of the 10 before it

# Signed batches (signed_batches.py). A sequence is stream << 32 | counter: each submitting
# process picks its own stream, and every stream keeps an IPsec-style window of the last
# `batch_sequence_window` counters, so processes sharing a key never serialize.
batch_sequence_window = 128
batch_sequence_counter_bits = 32
reader_accounts_max = 64  # accounts one reader key may read

# Exactly-once in bounded memory (retention.py). A command id's dedup record and a submitter
# stream's replay window are kept `dedup_retention_ms` (a policy parameter) plus the policy's
# clock_lead_max_ms after the entry that wrote them, then pruned; a batch signed before ledger
# time minus the retention is refused (BATCH_EXPIRED). Pruning is bounded per entry: a backlog
# (after a quiet spell) is worked off over the following entries, never in one long apply.
dedup_retention_ms_min = 1_000
retention_prune_dedup_entries_max = 4  # dedup records of this many earlier entries, per entry
retention_prune_windows_max = 64  # replay windows, per entry
# The dedup index and the record hashes are split in this many dicts (sharded_index.py): a dict
# that grows copies its entries in one step that stops every thread of the node, and a shard
# holds 1/index_shards of them (100 million dedup records: ~390K per shard, about 25 ms; more
# shards cost every lookup more: 4,096 of them made a fill 600 ns slower at 1.3M records, 256 260 ns).
index_shards = 256

# Insurance fund unwinding (fund_unwinding.py): the defaults and bounds of CreateMarket's unwind_*
# parameters, and the registered backstop liquidity providers (backstop.py).
unwind_start_bps_default = 50  # the auction opens 0.5% from the mark
unwind_slope_bps_per_minute_default = 10  # and deepens 0.1% per minute of ledger time
unwind_discount_max_bps_default = 1_000  # down to at most 10% from the mark
unwind_discount_max_bps_max = 5_000
unwind_window_ms_default = 60_000
unwind_deadline_ms_default = 86_400_000  # what a fund still holds a day after inheriting it is ADL'd
unwind_deadline_ms_max = 30 * 86_400_000
unwind_slope_per_ms = 60_000  # the slope is per minute: elapsed ms // this
backstops_per_market_max = 16
# Perpetual economics (issue 17): fees, funding, margin calls.
trading_fee_bps_max = 1_000  # a maker or taker fee of at most 10% of a fill's notional
funding_interval_ms_min = 60_000  # one minute
funding_interval_ms_max = 7 * 86_400_000  # one week
funding_rate_cap_bps_max = 1_000  # at most 10% of the mark per interval

# Adaptive thresholds (volatility.py): the band and initial margin follow the mark's volatility.
volatility_half_life_ms_min = 1_000
volatility_half_life_ms_max = 30 * 86_400_000
band_volatility_pct_max = 10_000  # a band of at most 100 sigmas
band_ceiling_bps_max = 10_000  # an adaptive band of at most 100%
volatility_variance_max = 10**16  # ppm^2: sigma at most 100x the mark (10,000 moves of 100% at once)
band_changed_step_bps = 100  # an adaptive band that moved this far from the one last announced: BandChanged
# Settlement price (docs/design.md#settlement-price): an expiring market settles at the
# time-weighted average of its VALID marks over the settlement window before expiry (Deribit: 30
# minutes), if at least settlement_coverage_min_pct of the window had a VALID mark; otherwise it is
# SETTLING until as much valid time is collected after expiry, or a guardian quorum signs a price.
settlement_window_ms_default = 1_800_000  # a listing's 0: 30 minutes (at most the time to expiry)
settlement_window_ms_max = 86_400_000  # one day
settlement_coverage_min_pct = 50  # of the window: at least this share with a VALID mark
