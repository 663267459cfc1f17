"""`python -m cluster.replay`: the same command as `python -m cluster replay`."""

from cluster.replay.cli import main

main()
