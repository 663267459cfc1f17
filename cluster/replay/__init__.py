"""Replay a price series through the pure ledger and show every guard decision it takes.

    python -m cluster replay --prices scenarios/march-2020.csv --scenario scenarios/march-2020.toml \\
        [--plot FILE.png | --no-plot] [--json FILE.json] [--verbose]

No cluster and no network: the scenario's markets, funds and accounts are set up in one entry,
then every distinct CSV time becomes one entry of `node.ledger.apply` (with the real Ed25519
verifier, node.identity.keys.verify_ed25519), stamped with that time. The output is a timeline of guard
decisions (price updates refused, oracle verdicts, breaker trips, market status changes,
liquidation slices, auto-deleveraging, global mode changes, insurance fund balances), then a
summary table, the final state hash, and a plot. The same inputs always give byte-identical
stdout, PNG, JSON and state hash.

Units are the ledger's: amounts and prices in quote minor units (1 unit = 1e-6 USD; prices per
contract), quantities in whole contracts, ratios in basis points, times in milliseconds of
ledger time. The output shows money as USD and ledger times as UTC dates (node/units.py); the
JSON keeps the integers.

One job per module, each importing only modules listed before it: scenario.py (the TOML
scenario), prices.py (the CSV price series), full_check.py (the default check after each entry,
linear in the entries), run.py (the ledger driven over them, collected in a Run), report.py
(timeline, summary, JSON), plot.py (the PNG), cli.py (the command).
"""
