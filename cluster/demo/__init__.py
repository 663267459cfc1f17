"""Demos: the public-seed oracle source they sign prices with, the load `make run` feeds a live
cluster, and the pure ledger's story (`make demo`)."""
