# seq2serve: `make serve` and `make test` do all the set-up on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: serve test lint format export eval bench train-hull clean help

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e ".[train,dev]"
	touch $@

serve: export  ## create .venv, export the shipped checkpoints if needed, serve on :8000
	$(BIN)/python -m service

test: $(STAMP)  ## lint, then unit + integration + end-to-end tests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)  ## ruff only
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

export: $(STAMP)  ## export shipped checkpoints to build/models (ONNX + TorchScript), skipped when up to date
	$(BIN)/python -m export

eval: export  ## measure every shipped model; rewrites models/*/card.json
	$(BIN)/python -m models.hull.evaluate

bench: export  ## batching off vs on for /hull (several minutes; see BENCHMARKS.md)
	$(BIN)/python -m benchmarks.hull_batching

train-hull: $(STAMP)  ## retrain the hull model (resumable; see models/hull/MODEL_CARD.md)
	$(BIN)/python -m models.hull.train

clean:  ## remove build outputs (keeps .venv and checkpoints)
	rm -rf build .pytest_cache .ruff_cache
