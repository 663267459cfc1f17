"""The chaos harness: faults under load, a history checker, a verdict, figures and a plot.

`python -m cluster chaos` (run.py) starts a fresh cluster in network namespaces it owns (network.py),
optionally on a filesystem that loses unsynced writes on a power cut (powercut_fs.py), runs client
processes (load.py) while it injects faults drawn from a seed (schedule.py, faults.py), then checks
the history against every node's final state and a replay of the log (checker.py, nodes.py) and
writes report.json, report.png and a text summary (report.py).
"""
