# mreg: `make test` and `make demo` do all the set-up on a fresh machine
# (Python >= 3.10, git and make).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: test pytest demo bench bench-compare reliability clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	sh scripts/ensure-sshd.sh
	$(BIN)/ruff check src tests benchmarks scripts examples
	$(BIN)/ruff format --check src tests benchmarks scripts examples
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

pytest: $(STAMP)
	sh scripts/ensure-sshd.sh
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# make bench BENCH_ARGS='--quick --only hooks,history'
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

bench-compare: $(STAMP)
	$(BIN)/python benchmarks/run.py --compare $(BENCH_ARGS)

reliability: $(STAMP)
	MREG_RELIABILITY_TRIALS=40 $(BIN)/python -m pytest -q -m reliability tests/reliability

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
