# The README's two commands: `make serve` and `make test`. Both install into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test bench clean

install: $(STAMP)

# Re-install when the package definition or the native code changes.
$(STAMP): pyproject.toml CMakeLists.txt $(wildcard csrc/*)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[test]'
	touch $(STAMP)

serve: install
	$(BIN)/cerebro-serve serve --demo

test: install
	$(BIN)/pytest -q

clean:
	rm -rf build $(VENV) .pytest_cache
