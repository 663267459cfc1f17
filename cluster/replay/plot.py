"""The replay's plot: one panel per market (its sources' prices, the mark, the market's status, breaker
trips, liquidation slices, ADL, the fund's auction slices and deadline) with a status band under it,
the insurance funds below (their equity at the mark, solid, which is what the guards judge, and
their cash, dashed), the contracts each market's fund holds, and, when a market has fees, funding
or margin calls, the fee account, the funding index and the margin calls placed and lifted, and, when
the scenario lists options, each option account's equity against its scenario portfolio margin
(an option market's own panel draws its premium, the mark, over time).

Made for people: the time axis is UTC dates (matplotlib.dates picks ticks and a concise format for
any span, minutes to years), every legend sits right of its panel instead of over the data, and
each market's status band draws a HALTED or REDUCE_ONLY span at least `status_span_min_fraction`
of the axis wide, so a two-minute halt still shows on a thirteen-year series (the price panel's
shading keeps the true width).

matplotlib lives here only, behind the Agg canvas (no pyplot, no display, no global backend). The PNG
is byte-identical for the same replay: default style, fixed size and dpi, and no metadata that
carries a version or a date.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import matplotlib
import matplotlib.dates
import matplotlib.style
import matplotlib.ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cluster.replay.run import Run
from node.ledger.records import GlobalMode, MarketStatus
from node.ledger.state import INSURANCE_FUND, is_fund
from node.units import usd_minor_units

figure_width_in = 13.0  # the data keeps about 10.5 in; the legends take the rest, right of it
legend_anchor = (1.01, 1.0)  # axes fraction: just right of the panel's top right corner
market_panel_height_in = 3.4
status_band_height_in = 0.8
funds_panel_height_in = 2.4
fund_positions_panel_height_in = 1.8
economics_panel_height_in = 2.2
options_panel_height_in = 2.6
figure_dpi = 100
# A market whose prices span more than this ratio is drawn on a log axis.
log_scale_price_ratio = 20
# A status span is drawn at least this fraction of the time axis wide in the status band.
status_span_min_fraction = 0.004
_STATUS_SHADE = {MarketStatus.HALTED: ("tab:red", 0.16, "HALTED"), MarketStatus.REDUCE_ONLY: ("tab:orange", 0.12, "REDUCE_ONLY")}
# The status band's rows, bottom up: the market's status, then the whole venue's mode (the global
# mode: REDUCE_ONLY while the funds' equity is below the floor); ACTIVE / NORMAL draw no bar.
_STATUS_BAND = (
    ("market", MarketStatus.REDUCE_ONLY, "tab:orange"), ("market", MarketStatus.HALTED, "tab:red"),
    ("market", MarketStatus.SETTLED, "tab:grey"), ("venue", GlobalMode.REDUCE_ONLY, "tab:brown"),
    ("venue", GlobalMode.HALTED, "darkred"),
)

_UTC = timezone.utc
_ms_per_day = 86_400_000
# matplotlib's date numbers are days since its epoch: the Unix epoch's number, once.
_unix_epoch_days = matplotlib.dates.date2num(datetime(1970, 1, 1, tzinfo=_UTC))


def _x(time_ms: int) -> float:
    """The x coordinate of a ledger time: a matplotlib date number (days), UTC."""
    return _unix_epoch_days + time_ms / _ms_per_day


def _dollars(minor: int) -> float:
    return minor / usd_minor_units


def _legend(ax) -> None:
    """The panel's legend right of the panel, off the data."""
    ax.legend(loc="upper left", bbox_to_anchor=legend_anchor, borderaxespad=0.0, fontsize=7, framealpha=0.85)


def _events_at_their_price(ax, timed_events: list, market_id: str, **style) -> None:
    """A scatter of the market's (time, event) pairs at each event's price; nothing when none."""
    mine = [(t, e) for t, e in timed_events if e.market == market_id]
    if mine:
        ax.scatter([_x(t) for t, _ in mine], [_dollars(e.price) for _, e in mine], **style)


def build_figure(run: Run) -> Figure:
    """The whole plot as a matplotlib Figure (write_plot saves it; tests read its axes)."""
    markets = [m.market for m in run.scenario.markets]
    with matplotlib.style.context("default"), matplotlib.rc_context({"svg.hashsalt": "replay", "path.simplify": False}):
        heights = [market_panel_height_in, status_band_height_in] * len(markets)
        heights += [funds_panel_height_in, fund_positions_panel_height_in]
        economics = _has_economics(run)
        if economics:
            heights.append(economics_panel_height_in)
        options = bool(run.scenario.options)
        if options:
            heights.append(options_panel_height_in)
        figure = Figure(figsize=(figure_width_in, sum(heights)), dpi=figure_dpi)
        FigureCanvasAgg(figure)
        axes = figure.subplots(len(heights), 1, sharex=True, gridspec_kw={"height_ratios": heights})
        for n, market_id in enumerate(markets):
            _market_panel(run, axes[2 * n], market_id)
            _status_band(run, axes[2 * n + 1], market_id)
        _funds_panel(run, axes[2 * len(markets)])
        _fund_positions_panel(run, axes[2 * len(markets) + 1])
        if economics:
            _economics_panel(run, axes[2 * len(markets) + 2])
        if options:
            _options_panel(run, axes[-1])
        locator = matplotlib.dates.AutoDateLocator(tz=_UTC)
        axes[-1].xaxis.set_major_locator(locator)  # shared by every panel (sharex)
        axes[-1].xaxis.set_major_formatter(matplotlib.dates.ConciseDateFormatter(locator, tz=_UTC))
        axes[-1].set_xlabel("ledger time (UTC)")
        figure.suptitle(f"replay: {run.scenario.title}")
        figure.tight_layout()
    return figure


def write_plot(run: Run, path: Path) -> None:
    figure = build_figure(run)
    with matplotlib.style.context("default"):
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png", dpi=figure_dpi, metadata={"Software": None})


def _spans(series: list[tuple[int, int]], end_ms: int) -> list[tuple[int, int, int]]:
    """A (time, value) series as its contiguous (value, from, to) spans in ledger ms; the last runs
    to `end_ms`."""
    spans: list[tuple[int, int, int]] = []
    for time_ms, value in series:
        if spans and spans[-1][0] == value:
            continue
        if spans:  # the previous span ends where this one starts
            spans[-1] = (spans[-1][0], spans[-1][1], time_ms)
        spans.append((value, time_ms, end_ms))
    return spans


def _market_panel(run: Run, ax, market_id: str) -> None:
    end = _x(run.state.ledger_time_ms)
    # Status shading at its true width (the status band below shows the short ones).
    shaded: set[int] = set()
    for status, start_ms, stop_ms in _spans(run.statuses.get(market_id, []), run.state.ledger_time_ms):
        if status not in _STATUS_SHADE:
            continue
        color, alpha, label = _STATUS_SHADE[status]
        ax.axvspan(_x(start_ms), _x(stop_ms), color=color, alpha=alpha, lw=0,
                   label=None if status in shaded else f"market {label}")
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
            xs.append(_x(row.time_ms))
            ys.append(_dollars(row.price))
            previous = row.time_ms
        if xs:
            ax.plot(xs, ys, lw=0.9, alpha=0.5, color=f"C{n + 2}", marker=".", ms=2.5, label=f"source {source}")
    refused = [r for r in run.refused_rows if r.market == market_id and r.price > 0]
    if refused:
        ax.scatter([_x(r.time_ms) for r in refused], [_dollars(r.price) for r in refused], marker="x", s=22,
                   color="dimgrey", lw=1, zorder=4, label="update refused or not counted")
    marks = run.marks.get(market_id, [])
    if marks:
        xs = [_x(t) for t, _ in marks] + [end]
        ys = [_dollars(m) for _, m in marks] + [_dollars(marks[-1][1])]
        ax.plot(xs, ys, drawstyle="steps-post", color="black", lw=1.8, label="mark", zorder=3)
    # Each kind of event drawn at its price; ADL as a larger hollow diamond around the slice's dot.
    _events_at_their_price(ax, run.deleveraged, market_id, marker="D", s=90, facecolor="none",
                           edgecolor="tab:purple", lw=1.3, zorder=5, label="ADL")
    _events_at_their_price(ax, run.liquidations, market_id, marker="o", s=22, color="tab:orange",
                           edgecolor="black", lw=0.5, zorder=6, label="liquidation slice")
    _events_at_their_price(ax, run.fund_sales, market_id, marker="^", s=40, color="tab:green",
                           edgecolor="black", lw=0.5, zorder=6, label="fund slice to a backstop")
    _events_at_their_price(ax, run.fund_deadlines, market_id, marker="X", s=90, color="tab:purple",
                           edgecolor="black", lw=0.5, zorder=7, label="fund deadline ADL")
    _events_at_their_price(ax, run.band_trips, market_id, marker="v", s=90, color="tab:red",
                           edgecolor="black", lw=0.6, zorder=7, label="price-band breaker")
    cascades = [(t, mark) for t, m, mark in run.cascade_trips if m == market_id]
    for n, (t, _) in enumerate(cascades):
        ax.axvline(_x(t), color="tab:red", ls="--", lw=1.1, label=None if n else "cascade breaker")
    prices = [r.price for r in run.rows if r.market == market_id and r.price > 0] + [m for _, m in marks]
    if prices and max(prices) > log_scale_price_ratio * min(prices):
        ax.set_yscale("log")  # a collapse (LUNA): a linear axis would flatten everything after it
    elif prices and _dollars(min(prices)) >= 10:  # whole dollars, with thousands separators
        ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_title(market_id, loc="left", fontsize=10)
    ax.set_ylabel("USD per contract" + (" (log)" if ax.get_yscale() == "log" else ""))
    ax.grid(True, alpha=0.3)
    ax.set_label(f"market {market_id}")
    _legend(ax)


def _status_band(run: Run, ax, market_id: str) -> None:
    """The market's status and the venue's mode as bars, one row each; a span shorter than
    `status_span_min_fraction` of the whole replay is drawn that wide, so it shows at any scale."""
    start, end = _x(run.t0_ms), _x(run.state.ledger_time_ms)
    min_width = status_span_min_fraction * max(end - start, 1 / _ms_per_day)
    spans = {"market": _spans(run.statuses.get(market_id, []), run.state.ledger_time_ms),
             "venue": _spans(run.global_modes, run.state.ledger_time_ms)}
    for row, (scope, status, color) in enumerate(_STATUS_BAND):
        bars = [(_x(start_ms), max(_x(stop_ms) - _x(start_ms), min_width))
                for value, start_ms, stop_ms in spans[scope] if value == status]
        if bars:
            ax.broken_barh(bars, (row + 0.15, 0.7), color=color, label=f"{scope} {status.name}")
    ax.set_ylim(0, len(_STATUS_BAND))
    ax.set_yticks([n + 0.5 for n in range(len(_STATUS_BAND))], [f"{scope} {status.name}" for scope, status, _ in _STATUS_BAND],
                  fontsize=6)
    ax.tick_params(axis="y", length=0)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_label(f"status {market_id}")
    ax.set_title(f"status (a span is drawn at least {status_span_min_fraction:.1%} of the axis wide)", loc="left", fontsize=7)


def _steps(series: list[tuple[int, int]], end: float, scale) -> tuple[list[float], list[float]]:
    return [_x(t) for t, _ in series] + [end], [scale(v) for _, v in series] + [scale(series[-1][1])]


def _funds_panel(run: Run, ax) -> None:
    end = _x(run.state.ledger_time_ms)
    for n, fund in enumerate(run.fund_ids):
        equity = run.fund_equity.get(fund, [])
        if equity:
            ax.plot(*_steps(equity, end, _dollars), drawstyle="steps-post", lw=1.6, color=f"C{n}", label=f"{fund} equity")
        cash = run.funds.get(fund, [])
        if cash:
            ax.plot(*_steps(cash, end, _dollars), drawstyle="steps-post", lw=1.0, ls="--", color=f"C{n}", alpha=0.8,
                    label=f"{fund} cash")
    ax.axhline(0, color="grey", lw=0.8, ls=":")
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_ylabel("insurance funds, USD\n(equity at the mark)")
    ax.grid(True, alpha=0.3)
    ax.set_label("fund equity")
    _legend(ax)


def _fund_positions_panel(run: Run, ax) -> None:
    """Contracts each market's fund holds: what it inherited and has not unwound yet."""
    end = _x(run.state.ledger_time_ms)
    for n, fund in enumerate(run.fund_ids):
        series = run.fund_positions.get(fund, [])
        if not series or fund == INSURANCE_FUND:
            continue
        ax.plot(*_steps(series, end, float), drawstyle="steps-post", lw=1.5, color=f"C{n}", label=f"{fund} position")
    ax.axhline(0, color="grey", lw=0.8, ls=":")
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_ylabel("fund positions,\ncontracts")
    ax.grid(True, alpha=0.3)
    ax.set_label("fund positions")
    _legend(ax)


def _has_economics(run: Run) -> bool:
    """Fees, funding or margin calls in the scenario: only then the last panel (older plots unchanged)."""
    return any(m.maker_fee_bps or m.taker_fee_bps or m.funding_interval_ms or m.margin_call_bps
               for m in run.scenario.markets)


def _economics_panel(run: Run, ax) -> None:
    """The fee account (sys:fees) in USD, each perpetual's funding index in USD per contract (right
    axis: what a long held since listing has paid), and margin calls placed (red) and lifted (green)."""
    end = _x(run.state.ledger_time_ms)
    if run.fee_account:
        ax.plot(*_steps(run.fee_account, end, _dollars), drawstyle="steps-post", lw=1.6, color="tab:blue",
                label="fee account sys:fees")
    ax.set_ylabel("fee account, USD")
    ax.grid(True, alpha=0.3)
    right = ax.twinx()
    for n, market_id in enumerate(sorted(run.funding_index)):
        series = run.funding_index[market_id]
        if any(v for _, v in series):
            right.plot(*_steps(series, end, lambda v: v / 1e9 / usd_minor_units), drawstyle="steps-post", lw=1.3,
                       ls="--", color=f"C{n + 1}", label=f"{market_id} funding index")
    right.set_ylabel("funding index,\nUSD per contract")
    placed = lifted = False
    for time_ms, event in run.margin_call_events:
        call = type(event).__name__ == "MarginCall"
        ax.axvline(_x(time_ms), color="tab:red" if call else "tab:green", lw=0.9, ls=":",
                   label=("margin call" if call and not placed else "margin call lifted" if not call and not lifted else None))
        placed, lifted = placed or call, lifted or not call
    handles, labels = ax.get_legend_handles_labels()
    more_handles, more_labels = right.get_legend_handles_labels()
    ax.set_label("economics")
    # Right of the funding index's own axis labels, which sit right of the panel.
    ax.legend(handles + more_handles, labels + more_labels, loc="upper left", bbox_to_anchor=(1.08, 1.0), borderaxespad=0.0,
              fontsize=7, framealpha=0.85)


def _options_panel(run: Run, ax) -> None:
    """Each account that held an option and needed margin (not the funds, on their own panel): its margin equity (solid) against its scenario portfolio
    margin's initial (dashed) and maintenance (dotted) requirement, its equity with the options at
    their marks (dash-dot), and its liquidation slices (dots on the equity line)."""
    end = _x(run.state.ledger_time_ms)
    margined = [(a, series) for a, series in sorted(run.option_accounts.items())
                if not is_fund(a) and any(row[2] for row in series)]  # funds: their own panel; longs need no margin
    for n, (account_id, series) in enumerate(margined):
        color = f"C{n}"
        for column, style, what in ((1, "-", "equity"), (2, "--", "initial"), (3, ":", "maintenance"), (4, "-.", "value at the marks")):
            points = [(row[0], row[column]) for row in series]
            ax.plot(*_steps(points, end, _dollars), drawstyle="steps-post", lw=1.6 if column == 1 else 1.0, ls=style,
                    color=color, label=f"{account_id} {what}")
        equity_at = {row[0]: row[1] for row in series}
        slices = [t for t, e in run.liquidations if e.account == account_id and t in equity_at]
        if slices:
            ax.scatter([_x(t) for t in slices], [_dollars(equity_at[t]) for t in slices], marker="o", s=22, color="tab:orange",
                       edgecolor="black", lw=0.5, zorder=6, label=f"{account_id} liquidation slice")
    ax.axhline(0, color="grey", lw=0.8, ls=":")
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_ylabel("option accounts, USD\n(portfolio margin)")
    ax.grid(True, alpha=0.3)
    ax.set_label("option accounts")
    _legend(ax)
