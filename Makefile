# syncer — two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck bench install clean

EXTRAS := .[sandbox,test,bench,s3,sftp]

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv (a wheel from PyPI) installs the extras in ~10 s where pip takes over a minute; it compiles
# the bytecode as pip does (test subprocesses import without compiling). If uv cannot be had or
# fails, pip installs everything as before.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet uv \
	  && $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '$(EXTRAS)' \
	  || { echo 'uv failed: installing with pip' >&2; \
	       $(BIN)/python -m pip install --quiet --upgrade pip \
	       && $(BIN)/python -m pip install --quiet -e '$(EXTRAS)'; }
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@# exit 1 is expected: the sample file has a few invalid rows on purpose (see its results file)
	$(BIN)/syncer run sample_data/leads.csv --mapping mappings/leads.yaml --sandbox; rc=$$?; [ $$rc -le 1 ] || exit $$rc

test: $(STAMP)
	$(BIN)/ruff check .
	@# Byte-compile syncer once: the suite starts many `syncer` processes (kills, signals; the
	@# other e2e commands run in-process, see tests/e2e/cli_helpers.py), and where
	@# PYTHONDONTWRITEBYTECODE is set each would compile every module again (~0.3 s of CPU).
	$(BIN)/python -m compileall -q syncer
	@# pytest exit code 5 (no tests collected) is a failure, never a success.
	@# One worker per core (pytest-xdist): most tests wait on a CLI process or a sandbox, and
	@# worksteal keeps both cores busy while one long test runs. `pytest -n0` runs serially.
	@# mypy (strict, ~10 s of one core) runs beside pytest, in the time its workers wait on
	@# processes and sockets; its output follows pytest's, and either failing fails the target.
	$(BIN)/mypy syncer > $(VENV)/mypy.out 2>&1 & mypy=$$!; \
	$(BIN)/python -m pytest -q -n auto --dist worksteal --durations=25; rc=$$?; \
	wait $$mypy; mypy_rc=$$?; echo '$(BIN)/mypy syncer'; cat $(VENV)/mypy.out; \
	if [ $$rc -eq 5 ]; then echo 'pytest collected no tests' >&2; exit 1; fi; \
	if [ $$rc -eq 0 ] && [ $$mypy_rc -ne 0 ]; then exit $$mypy_rc; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy syncer

bench: $(STAMP)
	$(BIN)/python bench/bench_pipeline.py
	$(BIN)/python bench/bench_push.py

clean:
	rm -rf $(VENV) .syncer build *.egg-info
