# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Debian packages the tests run for real (the fog node's MQTT broker)
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test system-deps lint bench bench-signals bench-flood bench-lighting bench-agri bench-hil bench-hil-signals network clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## Run Đông Hà's morning peak (06:30-09:00) with fixed-time signals; prints KPIs.
demo: $(STAMP)
	$(VENV)/bin/twin run scenarios/dongha_morning_peak.yaml

## Install and run the test suite (ruff, mypy, and pytest with the import-rule check).
test: $(STAMP) system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q

## Debian packages needed by the tests: mosquitto (a real MQTT broker for the fog-node uplink).
system-deps:
	@command -v mosquitto >/dev/null || test -x /usr/sbin/mosquitto || \
	  $(SUDO) apt-get install -y -q mosquitto || \
	  ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q mosquitto)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## Benchmarks (not part of the test run); each prints one JSON line.
bench: $(STAMP)
	$(PY) bench/kernel_overhead.py | tee -a bench/results/kernel_overhead.jsonl

## Signal control benchmark: 5 controllers x 5 seeds x 2 demands on Đông Hà (~1 h on 2 cores).
bench-signals: $(STAMP)
	$(PY) bench/signals.py

## Flood solver benchmark against Landlab's OverlandFlow on the Đông Hà DEM (~5 min).
bench-flood: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/flood.py | tee -a bench/results/flood.jsonl

## Street-lighting benchmark: a sampled year of the Hùng Vương pilot, 3 configurations (~7 min).
bench-lighting: $(STAMP)
	$(PY) bench/lighting.py | tee -a bench/results/lighting.jsonl

## Agriculture benchmark: a full season at both cooperatives, smart vs fixed, and the
## water balance against pyfao56 (~6 min).
bench-agri: $(STAMP)
	$(PY) bench/agri.py | tee -a bench/results/agri.jsonl

## HIL benchmark: latency and throughput of the ZeroMQ and OPC-UA bridges, 1,000 points (~2 min).
bench-hil: $(STAMP)
	$(PY) bench/hil.py | tee -a bench/results/hil.jsonl

## HIL of the city's signals: 21 NTCIP cabinets + central, in-process vs ZeroMQ vs OPC-UA (~4 min).
bench-hil-signals: $(STAMP)
	$(PY) bench/hil_signals.py | tee -a bench/results/hil_signals.jsonl

## Rebuild the Đông Hà SUMO network from the OpenStreetMap extract.
network: $(STAMP)
	$(VENV)/bin/twin network build

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache .hypothesis
