# Two commands: `make demo` runs the main job, `make test` runs the whole suite.
# Both create .venv with nothing but Python and install what they need.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install lint format bench clean system-packages

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres,ray,kfp,pdf]'
	touch $(STAMP)

# WeasyPrint (the pdf extra) renders with Pango and needs HarfBuzz's subsetting library;
# the web UI's browser tests drive the system Chromium through playwright (no browser download).
system-packages:
	@ldconfig -p | grep -q libharfbuzz-subset.so.0 && ldconfig -p | grep -q libpangoft2-1.0.so.0 \
	  || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq \
	       libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0; }
	@test -x /usr/bin/chromium \
	  || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

install: $(STAMP) system-packages

demo: install
	$(BIN)/iml4e demo

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

test: lint
	$(BIN)/python -m pytest

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: install
	$(BIN)/python benchmarks/up_ready.py

clean:
	rm -rf $(VENV) .iml4e .pytest_cache .ruff_cache
