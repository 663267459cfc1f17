"""The replay's plot: one panel per market (its sources' prices, the mark, the market's status, breaker
trips, liquidation slices, ADL, the fund's auction slices and deadline), the insurance funds below
(their equity at the mark, solid, which is what the guards judge, and their cash, dashed), the
contracts each market's fund holds, and, when a market has fees, funding or margin calls, the fee
account, the funding index and the margin calls placed and lifted.

matplotlib lives here only, behind the Agg canvas (no pyplot, no display, no global backend). The PNG
is byte-identical for the same replay: default style, fixed size and dpi, and no metadata that
carries a version or a date.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.style
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cluster.replay.run import Run
from cluster.replay.units import usd_minor_units
from node.ledger.records import MarketStatus
from node.ledger.state import INSURANCE_FUND

figure_width_in = 11.0
market_panel_height_in = 3.4
funds_panel_height_in = 2.4
fund_positions_panel_height_in = 1.8
economics_panel_height_in = 2.2
figure_dpi = 100
# A market whose prices span more than this ratio is drawn on a log axis.
log_scale_price_ratio = 20
_STATUS_SHADE = {MarketStatus.HALTED: ("tab:red", 0.16, "HALTED"), MarketStatus.REDUCE_ONLY: ("tab:orange", 0.12, "REDUCE_ONLY")}


# A replay longer than this is drawn in years, not seconds (a multi-year series).
years_axis_after_ms = 90 * 86_400_000
_year_ms = 365.25 * 86_400_000


def _in_years(run: Run) -> bool:
    return run.state.ledger_time_ms - run.t0_ms > years_axis_after_ms


def _seconds(run: Run, time_ms: int) -> float:
    """The x coordinate of a ledger time: seconds after t0, or years for a multi-year replay."""
    if _in_years(run):
        return (time_ms - run.t0_ms) / _year_ms
    return (time_ms - run.t0_ms) / 1000


def _dollars(minor: int) -> float:
    return minor / usd_minor_units


def _events_at_their_price(ax, run: Run, timed_events: list, market_id: str, **style) -> None:
    """A scatter of the market's (time, event) pairs at each event's price; nothing when none."""
    mine = [(t, e) for t, e in timed_events if e.market == market_id]
    if mine:
        ax.scatter([_seconds(run, t) for t, _ in mine], [_dollars(e.price) for _, e in mine], **style)


def write_plot(run: Run, path: Path) -> None:
    markets = [m.market for m in run.scenario.markets]
    with matplotlib.style.context("default"), matplotlib.rc_context({"svg.hashsalt": "replay", "path.simplify": False}):
        heights = [market_panel_height_in] * len(markets) + [funds_panel_height_in, fund_positions_panel_height_in]
        economics = _has_economics(run)
        if economics:
            heights.append(economics_panel_height_in)
        figure = Figure(figsize=(figure_width_in, sum(heights)), dpi=figure_dpi)
        FigureCanvasAgg(figure)
        axes = figure.subplots(len(heights), 1, sharex=True, gridspec_kw={"height_ratios": heights})
        for ax, market_id in zip(axes, markets):
            _market_panel(run, ax, market_id)
        _funds_panel(run, axes[len(markets)])
        _fund_positions_panel(run, axes[len(markets) + 1])
        if economics:
            _economics_panel(run, axes[-1])
        unit = "years" if _in_years(run) else "s"
        axes[-1].set_xlabel(f"ledger time, {unit} after t0 = {run.t0_ms} ms")
        figure.suptitle(f"replay: {run.scenario.title}")
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png", dpi=figure_dpi, metadata={"Software": None})


def _market_panel(run: Run, ax, market_id: str) -> None:
    end = _seconds(run, run.state.ledger_time_ms)
    # Status shading: contiguous spans of HALTED or REDUCE_ONLY.
    shaded: set[int] = set()
    statuses = run.statuses.get(market_id, [])
    for i, (time_ms, status) in enumerate(statuses):
        if status not in _STATUS_SHADE:
            continue
        if i and statuses[i - 1][1] == status:
            continue
        stop = next((t for t, s in statuses[i + 1:] if s != status), None)
        color, alpha, label = _STATUS_SHADE[status]
        ax.axvspan(_seconds(run, time_ms), _seconds(run, stop) if stop is not None else end, color=color, alpha=alpha,
                   lw=0, label=None if status in shaded else f"market {label}")
        shaded.add(status)
    # Each source's prices, faint; refused updates (and outlier or clamped ones, not counted) as grey crosses.
    stale_after_ms = run.scenario.market(market_id).stale_after_ms
    for n, source in enumerate(run.scenario.source_names(market_id)):
        xs: list[float] = []
        ys: list[float] = []
        previous = None
        for row in run.rows:
            if row.market != market_id or row.source != source or row.price <= 0:
                continue
            if previous is not None and row.time_ms - previous > stale_after_ms:
                xs.append(float("nan"))  # a silent source: no line across the gap
                ys.append(float("nan"))
            xs.append(_seconds(run, row.time_ms))
            ys.append(_dollars(row.price))
            previous = row.time_ms
        if xs:
            ax.plot(xs, ys, lw=0.9, alpha=0.5, color=f"C{n + 2}", marker=".", ms=2.5, label=f"source {source}")
    refused = [r for r in run.refused_rows if r.market == market_id and r.price > 0]
    if refused:
        ax.scatter([_seconds(run, r.time_ms) for r in refused], [_dollars(r.price) for r in refused], marker="x", s=22,
                   color="dimgrey", lw=1, zorder=4, label="update refused or not counted")
    marks = run.marks.get(market_id, [])
    if marks:
        xs = [_seconds(run, t) for t, _ in marks] + [end]
        ys = [_dollars(m) for _, m in marks] + [_dollars(marks[-1][1])]
        ax.plot(xs, ys, drawstyle="steps-post", color="black", lw=1.8, label="mark", zorder=3)
    # Each kind of event drawn at its price; ADL as a larger hollow diamond around the slice's dot.
    _events_at_their_price(ax, run, run.deleveraged, market_id, marker="D", s=90, facecolor="none",
                           edgecolor="tab:purple", lw=1.3, zorder=5, label="ADL")
    _events_at_their_price(ax, run, run.liquidations, market_id, marker="o", s=22, color="tab:orange",
                           edgecolor="black", lw=0.5, zorder=6, label="liquidation slice")
    _events_at_their_price(ax, run, run.fund_sales, market_id, marker="^", s=40, color="tab:green",
                           edgecolor="black", lw=0.5, zorder=6, label="fund slice to a backstop")
    _events_at_their_price(ax, run, run.fund_deadlines, market_id, marker="X", s=90, color="tab:purple",
                           edgecolor="black", lw=0.5, zorder=7, label="fund deadline ADL")
    _events_at_their_price(ax, run, run.band_trips, market_id, marker="v", s=90, color="tab:red",
                           edgecolor="black", lw=0.6, zorder=7, label="price-band breaker")
    cascades = [(t, mark) for t, m, mark in run.cascade_trips if m == market_id]
    for n, (t, _) in enumerate(cascades):
        ax.axvline(_seconds(run, t), color="tab:red", ls="--", lw=1.1, label=None if n else "cascade breaker")
    prices = [r.price for r in run.rows if r.market == market_id and r.price > 0] + [m for _, m in marks]
    if prices and max(prices) > log_scale_price_ratio * min(prices):
        ax.set_yscale("log")  # a collapse (LUNA): a linear axis would flatten everything after it
    ax.set_title(market_id, loc="left", fontsize=10)
    ax.set_ylabel("USD per contract" + (" (log)" if ax.get_yscale() == "log" else ""))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=7, ncol=2, framealpha=0.85)


def _steps(run: Run, series: list[tuple[int, int]], end: float, scale) -> tuple[list[float], list[float]]:
    return [_seconds(run, t) for t, _ in series] + [end], [scale(v) for _, v in series] + [scale(series[-1][1])]


def _funds_panel(run: Run, ax) -> None:
    end = _seconds(run, run.state.ledger_time_ms)
    for n, fund in enumerate(run.fund_ids):
        equity = run.fund_equity.get(fund, [])
        if equity:
            ax.plot(*_steps(run, equity, end, _dollars), drawstyle="steps-post", lw=1.6, color=f"C{n}", label=f"{fund} equity")
        cash = run.funds.get(fund, [])
        if cash:
            ax.plot(*_steps(run, cash, end, _dollars), drawstyle="steps-post", lw=1.0, ls="--", color=f"C{n}", alpha=0.8,
                    label=f"{fund} cash")
    ax.axhline(0, color="grey", lw=0.8, ls=":")
    ax.set_ylabel("insurance funds, USD\n(equity at the mark)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=7, framealpha=0.85)


def _fund_positions_panel(run: Run, ax) -> None:
    """Contracts each market's fund holds: what it inherited and has not unwound yet."""
    end = _seconds(run, run.state.ledger_time_ms)
    for n, fund in enumerate(run.fund_ids):
        series = run.fund_positions.get(fund, [])
        if not series or fund == INSURANCE_FUND:
            continue
        ax.plot(*_steps(run, series, end, float), drawstyle="steps-post", lw=1.5, color=f"C{n}", label=f"{fund} position")
    ax.axhline(0, color="grey", lw=0.8, ls=":")
    ax.set_ylabel("fund positions,\ncontracts")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=7, framealpha=0.85)


def _has_economics(run: Run) -> bool:
    """Fees, funding or margin calls in the scenario: only then the last panel (older plots unchanged)."""
    return any(m.maker_fee_bps or m.taker_fee_bps or m.funding_interval_ms or m.margin_call_bps
               for m in run.scenario.markets)


def _economics_panel(run: Run, ax) -> None:
    """The fee account (sys:fees) in USD, each perpetual's funding index in USD per contract (right
    axis: what a long held since listing has paid), and margin calls placed (red) and lifted (green)."""
    end = _seconds(run, run.state.ledger_time_ms)
    if run.fee_account:
        ax.plot(*_steps(run, run.fee_account, end, _dollars), drawstyle="steps-post", lw=1.6, color="tab:blue",
                label="fee account sys:fees")
    ax.set_ylabel("fee account, USD")
    ax.grid(True, alpha=0.3)
    right = ax.twinx()
    for n, market_id in enumerate(sorted(run.funding_index)):
        series = run.funding_index[market_id]
        if any(v for _, v in series):
            right.plot(*_steps(run, series, end, lambda v: v / 1e9 / usd_minor_units), drawstyle="steps-post", lw=1.3,
                       ls="--", color=f"C{n + 1}", label=f"{market_id} funding index")
    right.set_ylabel("funding index,\nUSD per contract")
    placed = lifted = False
    for time_ms, event in run.margin_call_events:
        call = type(event).__name__ == "MarginCall"
        ax.axvline(_seconds(run, time_ms), color="tab:red" if call else "tab:green", lw=0.9, ls=":",
                   label=("margin call" if call and not placed else "margin call lifted" if not call and not lifted else None))
        placed, lifted = placed or call, lifted or not call
    handles, labels = ax.get_legend_handles_labels()
    more_handles, more_labels = right.get_legend_handles_labels()
    ax.legend(handles + more_handles, labels + more_labels, loc="upper left", fontsize=7, framealpha=0.85)
