"""The soak over time as a PNG: RSS, data on disk and settled trades/s, a line per node."""

from __future__ import annotations

from pathlib import Path

mib_bytes = 1 << 20


def _per_node_series(samples: list[dict], key: str) -> dict[str, list[tuple[float, float | None]]]:
    series: dict[str, list[tuple[float, float | None]]] = {}
    for sample in samples:
        for node, figures in sample["nodes"].items():
            series.setdefault(node, []).append((sample["elapsed_s"] / 60, figures.get(key)))
    return series


def _rates(points: list[tuple[float, float | None]]) -> list[tuple[float, float | None]]:
    """Trades/s between consecutive samples of a cumulative count (minutes on x)."""
    rates = []
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        if v0 is None or v1 is None or t1 <= t0:
            rates.append((t1, None))
        else:
            rates.append((t1, (v1 - v0) / ((t1 - t0) * 60)))
    return rates


def plot_soak(samples: list[dict], baseline_minute: int | None, title: str, path: Path) -> None:
    """Three panels over the load's minutes: RSS (MiB), data directory (MiB, the log left out)
    and SettleTrade OK applied per second, one line per node; a dashed line at the baseline."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("RSS (MiB)", {n: [(t, v / mib_bytes if v is not None else math.nan) for t, v in pts]
                       for n, pts in _per_node_series(samples, "rss_bytes").items()}),
        ("data dir (MiB)", {n: [(t, v / mib_bytes if v is not None else math.nan) for t, v in pts]
                            for n, pts in _per_node_series(samples, "data_bytes").items()}),
        ("settled trades / s", {n: [(t, v if v is not None else math.nan) for t, v in _rates(pts)]
                                for n, pts in _per_node_series(samples, "trades_settled").items()}),
    ]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 9), sharex=True)
    for ax, (label, series) in zip(axes, panels):
        for node, points in sorted(series.items()):
            ax.plot([t for t, _ in points], [v for _, v in points], linewidth=1.2, label=node)
        if baseline_minute is not None:
            ax.axvline(baseline_minute, color="grey", linestyle="--", linewidth=1)
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=8)
    axes[-1].set_xlabel("minutes of load" + (f" (dashed: baseline, minute {baseline_minute})" if baseline_minute else ""))
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
