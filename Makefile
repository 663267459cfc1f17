# Everything a fresh machine needs is set up here: Python 3.11 and make are the prerequisites, and
# Node.js 20 with npm for make test's conformance client (tests/conformance/js).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup test run observe bench-observed soak proto bench demo replay clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP) promtool fuse conformance-js
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -q

# A real local 3-node cluster under ./data: a short demo load, then live status until Ctrl-C.
run: $(STAMP)
	$(PY) -m cluster up --nodes 3 --data ./data --base-port 7000 --demo

# The same cluster under ./data plus a real Prometheus scraping it (1 s, ops/prometheus/alerts.yml
# loaded) on 127.0.0.1:7300, until Ctrl-C.
observe: $(STAMP) promtool
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m cluster observe --nodes 3 --data ./data --base-port 7000

# The cluster load generator seen through Prometheus: JSON figures and bench-results/prometheus-bench.png.
bench-observed: $(STAMP) promtool
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m cluster.bench.observed --seconds 20

# A fresh 3-node cluster under signed load for SOAK_MINUTES with a SOAK_RETENTION_S dedup retention:
# a JSON line a minute (throughput, RSS, data size, dedup records, leader changes), then
# bench-results/soak.json, bench-results/soak.png and a verdict against the targets. Not part of `make test`.
SOAK_MINUTES ?= 20
SOAK_RETENTION_S ?= 60
soak: $(STAMP)
	$(PY) -m cluster.bench.soak --minutes $(SOAK_MINUTES) --retention-s $(SOAK_RETENTION_S)

# The pure ledger alone: a readable story of margin, liquidation and the insurance fund.
demo: $(STAMP)
	$(PY) -m cluster.demo.ledger

# Backtests of the guards on the shipped scenarios: timeline, summary and a PNG per scenario.
replay: $(STAMP)
	mkdir -p replay-out
	$(PY) -m cluster replay --prices scenarios/march-2020.csv --scenario scenarios/march-2020.toml --plot replay-out/march-2020.png --json replay-out/march-2020.json
	$(PY) -m cluster replay --prices scenarios/luna-2022.csv --scenario scenarios/luna-2022.toml --plot replay-out/luna-2022.png --json replay-out/luna-2022.json
	$(PY) -m cluster replay --prices scenarios/fund-unwind-long.csv --scenario scenarios/fund-unwind-long.toml --plot replay-out/fund-unwind-long.png --json replay-out/fund-unwind-long.json
	$(PY) -m cluster replay --prices scenarios/perp-economics.csv --scenario scenarios/perp-economics.toml --plot replay-out/perp-economics.png --json replay-out/perp-economics.json
	$(PY) -m cluster replay --prices scenarios/march-2020.csv --scenario scenarios/short-strangle-march-2020.toml --plot replay-out/short-strangle-march-2020.png --json replay-out/short-strangle-march-2020.json

proto: $(STAMP)
	$(PY) -m node.api.generate

bench: $(STAMP)
	$(PY) -m cluster.bench.ledger
	$(PY) -m cluster.bench.ledger --makers 20
	$(PY) -m cluster.bench.store_commit
	$(PY) -m cluster.bench.event_log
	$(PY) -m cluster.bench.liquidation_sweep
	$(PY) -m cluster.bench.portfolio_margin
	$(PY) -m cluster.bench.batch_signatures
	$(PY) -m cluster.bench.cluster --seconds 10 --clients 3
	$(PY) -m cluster.bench.security --seconds 8 --clients 3
	$(PY) -m cluster.bench.hostile --requests 100000 --idle-s 30

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

# The Node.js conformance client's packages, pinned by tests/conformance/js/package-lock.json, installed
# with npm ci (Node.js 20 and npm are the prerequisites). When that fails (no npm, no registry) this
# says so and tests/conformance fails, naming what is missing: it never skips.
CONFORMANCE_JS := tests/conformance/js
.PHONY: conformance-js
conformance-js:
	@test $(CONFORMANCE_JS)/node_modules/.package-lock.json -nt $(CONFORMANCE_JS)/package-lock.json || \
	  npm ci --prefix $(CONFORMANCE_JS) --no-audit --no-fund || \
	  echo "npm ci in $(CONFORMANCE_JS) failed: tests/conformance will fail (it needs Node.js 20, npm and the npm registry)"

# Checks and unit-tests the Prometheus alert rules with promtool (Debian's `prometheus` package;
# the official release tarball's promtool and prometheus into .venv/bin when apt-get is not available).
PROMTOOL_VERSION := 2.53.2
.PHONY: promtool promtool-check
# Best effort: without promtool the alert-rule tests are skipped (and say so), the rest still run.
promtool:
	@command -v promtool >/dev/null || test -x $(VENV)/bin/promtool || { \
	  if command -v apt-get >/dev/null; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -y -q install --no-install-recommends prometheus; \
	  else \
	    mkdir -p $(VENV)/bin && curl -fsSL https://github.com/prometheus/prometheus/releases/download/v$(PROMTOOL_VERSION)/prometheus-$(PROMTOOL_VERSION).linux-amd64.tar.gz \
	      | tar -xz -C $(VENV)/bin --strip-components=1 prometheus-$(PROMTOOL_VERSION).linux-amd64/promtool prometheus-$(PROMTOOL_VERSION).linux-amd64/prometheus; \
	  fi; } || echo "promtool could not be installed: the alert-rule tests will be skipped"

promtool-check: promtool
	PATH="$(VENV)/bin:$$PATH" promtool check rules ops/prometheus/alerts.yml
	cd ops/prometheus && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" promtool test rules alerts_test.yml

# The chaos harness's power cuts mount node data through FUSE (cluster/chaos/powercut_fs.py): libfuse 3
# and fusermount3 from Debian's fuse3. Best effort: without it the powercut fault is skipped loudly
# (and the short chaos run in make test fails, since it asks for power cuts).
.PHONY: fuse chaos
fuse:
	@test -e /usr/lib/x86_64-linux-gnu/libfuse3.so.3 || ldconfig -p 2>/dev/null | grep -q libfuse3 || { \
	  if command -v apt-get >/dev/null; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -y -q install --no-install-recommends fuse3; \
	  fi; } || echo "fuse3 could not be installed: chaos power cuts will be skipped"

# Chaos drills (root: network namespaces and FUSE): 200+ fault cycles of all six kinds on 3 nodes,
# then 5 nodes with two faults at a time (no corrupt there: a node restored from its peers takes a
# while to catch up, a snapshot install and the log since, and no other fault may wipe a node meanwhile).
# Each must PASS; reports under chaos-out/.
CHAOS_OUT ?= chaos-out
chaos: $(STAMP) fuse
	rm -rf $(CHAOS_OUT)/3-nodes $(CHAOS_OUT)/5-nodes-double
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m cluster chaos --nodes 3 --duration 1250 --seed 2026 \
	  --faults kill,pause,partition,restart,powercut,corrupt:0.25 --min-cycles 200 --out $(CHAOS_OUT)/3-nodes
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m cluster chaos --nodes 5 --duration 300 --seed 2027 \
	  --faults kill,pause,partition,restart,powercut --simultaneous 2 --min-cycles 40 --out $(CHAOS_OUT)/5-nodes-double
	@echo "reports: $(CURDIR)/$(CHAOS_OUT)/3-nodes/report.json $(CURDIR)/$(CHAOS_OUT)/5-nodes-double/report.json"
