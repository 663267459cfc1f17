"""`python -m cluster replay` (and `python -m cluster.replay`): arguments, one replay, its report.

    python -m cluster replay --prices scenarios/march-2020.csv --scenario scenarios/march-2020.toml \\
        [--plot FILE.png | --no-plot] [--json FILE.json] [--verbose]

Prints the header, the timeline and the summary (cluster/replay/report.py), writes the JSON and
the plot when asked. Exit codes: 0 done; 2 bad input (a ScenarioError: file, line and field at
fault); 1 a broken ledger invariant (a ledger bug, not a scenario error).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from cluster.replay.prices import load_prices
from cluster.replay.report import format_header, format_summary, format_timeline, write_json
from cluster.replay.run import replay
from cluster.replay.scenario import ScenarioError, load_scenario
from node.ledger import LedgerInvariantError

EXIT_OK = 0
EXIT_INVARIANT = 1
EXIT_INPUT = 2


_HELP = """\
Replay a price series through the pure ledger (node.ledger.apply, real Ed25519 signatures; no
cluster, no network) and print every guard decision, a summary table and the final state hash.

  prices CSV     time,market,source,price[,source_time]  (ms of ledger time, quote minor units;
                 rows in time order, one entry per distinct time; '#' lines are comments)
  scenario TOML  [[markets]] (CreateMarket fields and sources; an OPTION adds
                 expires_after_ms and implied_volatility_ppm[_steps]), [funds], [[accounts]],
                 [[positions]], [[events]]
  formats: scenarios/README.md, cluster/replay/prices.py and scenario.py; examples in scenarios/
  exit codes: 0 done; 2 bad input (file:line: what to fix); 1 a ledger invariant broke
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = _HELP
    parser.add_argument("--prices", required=True, metavar="FILE.csv", help="price series: time,market,source,price[,source_time]")
    parser.add_argument("--scenario", required=True, metavar="FILE.toml", help="markets, funds, accounts, positions, events")
    parser.add_argument(
        "--plot", metavar="FILE.png",
        help="where to write the plot (default: <prices file stem>.png in the current directory)",
    )
    parser.add_argument("--no-plot", action="store_true", help="do not write a plot (and do not import matplotlib)")
    parser.add_argument("--json", metavar="FILE.json", help="also write the summary and the timeline as JSON")
    parser.add_argument("--verbose", action="store_true",
                        help="print every mark change and every refused update (by default a run of alike refusals is one line)")
    parser.add_argument("--quick", action="store_true",
                        help="check the invariants only as apply does (by default every record is rechecked after each entry "
                             "and the state hash recomputed at entries 1, 2, 4, 8, ... and the last)")


def run_cli(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(Path(args.scenario))
        rows = load_prices(Path(args.prices), scenario)
        run = replay(scenario, rows, full_check=not args.quick)
    except ScenarioError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INPUT
    except AssertionError as error:  # LedgerInvariantError is one: a ledger bug, not a scenario error
        traceback.print_exc(file=sys.stderr)
        what = "invariant broke" if isinstance(error, LedgerInvariantError) else "assertion failed"
        print(f"error: a ledger {what} (a ledger bug, not a scenario error): {error}", file=sys.stderr)
        return EXIT_INVARIANT
    out = sys.stdout
    out.write(format_header(run, args.prices, args.scenario) + "\n\n")
    out.write(format_timeline(run, verbose=args.verbose) + "\n\n")
    out.write(format_summary(run) + "\n")
    if args.json:
        write_json(run, Path(args.json))
        out.write(f"  json                   {args.json}\n")
    if not args.no_plot:
        from cluster.replay.plot import write_plot

        plot_path = Path(args.plot) if args.plot else Path(Path(args.prices).stem + ".png")
        write_plot(run, plot_path)
        out.write(f"  plot                   {plot_path}\n")
    out.flush()
    return EXIT_OK


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cluster.replay", formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    sys.exit(run_cli(parser.parse_args(argv)))
