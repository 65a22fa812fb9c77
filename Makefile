# The README's two commands: `make serve` and `make test`. Both install into .venv first, from the lock
# files in requirements/ (exact versions and hashes), so a fresh clone gets what CI tested.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCKS := requirements/serve.txt requirements/test.txt requirements/bench.txt
# The lock files name no index: pip's own configuration says where packages come from.
COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --all-build-deps \
	--no-emit-index-url --no-emit-find-links

.PHONY: install install-serve install-bench serve test lint load lock check-lock clean

install: $(VENV)/.test-installed
install-serve: $(VENV)/.serve-installed
install-bench: $(VENV)/.bench-installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==26.3"

# Re-install when a lock file or the native code changes. The package itself goes in without its
# dependencies (they came from the lock) and without build isolation (its build tools are locked too).
$(VENV)/.%-installed: requirements/%.txt $(BIN)/python CMakeLists.txt $(wildcard csrc/*)
	$(BIN)/pip install $(PIP_ARGS) --require-hashes -r $<
	$(BIN)/pip install --no-deps --no-build-isolation -e .
	touch $@

serve: install-serve
	$(BIN)/cerebro-serve serve --demo

test: install
	$(BIN)/pytest -q

# Load test (bench/locustfile.py, #16): seeds a 100k-profile workspace once (bench/seed_load.py; cached in
# $(LOAD_DATA)/seed-<profiles>[-rjdb], outside the repository, ~1.5 GB), serves a fresh copy of it with
# `cerebro-serve serve` on 127.0.0.1 (a free port), waits for /readyz, runs Locust headless (one process)
# for LOAD_RUN_TIME, writes its CSV and HTML report under bench/results/load/ (load_*.csv, load.html,
# load_summary.json), then stops the server. The run holds /tmp/cerebro-bench.lock (flock), seeding does
# not. LOAD_RATE: requests/s per user (constant throughput) instead of 1-3 s of think time;
# LOAD_WORKERS: CEREBRO_WORKERS for the server; LOAD_BASE=all grows the pool from bench_scale's 3,237 resumes
# instead of the 2,000 rjdb ones (the first seeding then embeds the 1,237 livecareer resumes: about an hour
# on 2 cores, once; bench/.cache). Capacity, 2x overload and soak: bench/bench_load.py, bench/RESULTS.md.
LOAD_USERS ?= 20
LOAD_SPAWN_RATE ?= 5
LOAD_RUN_TIME ?= 2m
LOAD_RATE ?= 0
LOAD_PROFILES ?= 100000
LOAD_DATA ?= /tmp/cerebro-load
LOAD_BASE ?= rjdb
LOAD_WORKERS ?=
load: install-bench
	$(BIN)/python -m bench.bench_load run --profiles $(LOAD_PROFILES) --base $(LOAD_BASE) --data-root $(LOAD_DATA) \
		--users $(LOAD_USERS) --spawn-rate $(LOAD_SPAWN_RATE) --run-time $(LOAD_RUN_TIME) --rate $(LOAD_RATE) \
		$(if $(LOAD_WORKERS),--workers $(LOAD_WORKERS))

# Lint and format (ruff), types (mypy), the layer contract (import-linter, .importlinter), the
# Dockerfiles (hadolint, .hadolint.yaml), the Helm chart (Helm's engine renders it, Kubernetes' schemas check it).
lint: install
	$(BIN)/ruff check cerebro_serve tests bench tools
	$(BIN)/ruff format --check cerebro_serve tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint deploy/Dockerfile deploy/Dockerfile.gpu
	$(BIN)/python tools/render_chart.py

# Refresh the lock files from pyproject.toml, keeping every pin that still satisfies it
# (`make lock UPGRADE=--upgrade` moves them all to the newest releases).
lock: $(BIN)/python
	$(BIN)/pip install --quiet "pip-tools==7.6.2"
	$(COMPILE) $(UPGRADE) -o requirements/serve.txt pyproject.toml
	$(COMPILE) $(UPGRADE) --extra test --extra lint --extra cluster -c requirements/serve.txt -o requirements/test.txt pyproject.toml
	$(COMPILE) $(UPGRADE) --extra bench -c requirements/serve.txt -o requirements/bench.txt pyproject.toml

# CI: the lock files must be what `make lock` makes of pyproject.toml today.
check-lock: lock
	git diff --exit-code -- $(LOCKS) || (echo "requirements/ is out of date with pyproject.toml: run make lock" && exit 1)

clean:
	rm -rf build $(VENV) .pytest_cache .mypy_cache .ruff_cache
