# Two commands for users: `make report` and `make test`. Both create .venv when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= reports
PYTEST_ARGS ?=
BENCH_ARGS ?=
# Byte-compile custlab (a no-op when current). An editable install leaves that to the first import, which does not
# happen where PYTHONDONTWRITEBYTECODE is set (as on our CI machines): each of the report's three processes would
# then compile every custlab module it imports again, 0.3 s of a report.
COMPILE = $(BIN)/python -m compileall -q custlab

.PHONY: report test bench clean-venv lab

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

report: $(VENV)/.installed
	$(COMPILE)
	$(BIN)/custlab report --out $(OUT)

test: $(VENV)/.installed-test
	$(COMPILE)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(COMPILE)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

lab: $(VENV)/.installed
	$(COMPILE)
	$(BIN)/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/

clean-venv:
	rm -rf $(VENV)
