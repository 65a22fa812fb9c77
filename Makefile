# The README's two commands: `make serve` and `make test`. Both install into .venv first, from the lock
# files in requirements/ (exact versions and hashes), so a fresh clone gets what CI tested.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCKS := requirements/serve.txt requirements/test.txt requirements/bench.txt
# The lock files name no index: pip's own configuration says where packages come from.
COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --all-build-deps \
	--no-emit-index-url --no-emit-find-links

.PHONY: install install-serve install-bench serve test lint lock check-lock clean

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
	$(COMPILE) $(UPGRADE) --extra test --extra lint -c requirements/serve.txt -o requirements/test.txt pyproject.toml
	$(COMPILE) $(UPGRADE) --extra bench -c requirements/serve.txt -o requirements/bench.txt pyproject.toml

# CI: the lock files must be what `make lock` makes of pyproject.toml today.
check-lock: lock
	git diff --exit-code -- $(LOCKS) || (echo "requirements/ is out of date with pyproject.toml: run make lock" && exit 1)

clean:
	rm -rf build $(VENV) .pytest_cache .mypy_cache .ruff_cache
