# seq2serve: `make serve` and `make test` do all the set-up on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: serve test lint format export eval bench deploy-check train-hull train-translate train-speech train-caption train-sentiment clean help

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e ".[train,dev]"
	touch $@

serve: export  ## create .venv, export the shipped checkpoints if needed, serve on :8000
	$(BIN)/python -m service

test: $(STAMP)  ## lint, unit + integration + end-to-end tests, then the deployment files' static checks
	bash scripts/install-debian-deps.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q
	VENV=$(VENV) bash scripts/check-deploy.sh

lint: $(STAMP)  ## ruff only
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

export: $(STAMP)  ## export shipped checkpoints to build/models (ONNX + TorchScript), skipped when up to date
	$(BIN)/python -m export

eval: export  ## measure every shipped model; rewrites models/*/card.json (about 4 minutes on 2 cores)
	$(BIN)/python -m models.hull.evaluate
	$(BIN)/python -m models.translate.evaluate
	test ! -f checkpoints/speech.safetensors || $(BIN)/python -m models.speech.evaluate  # once it ships
	test ! -f checkpoints/caption-photo.safetensors || $(BIN)/python -m models.caption.evaluate  # once they ship
	test ! -f checkpoints/sentiment.safetensors || $(BIN)/python -m models.sentiment.evaluate  # once it ships

bench: export  ## batching off vs on for /hull (several minutes; see BENCHMARKS.md)
	$(BIN)/python -m benchmarks.hull_batching

deploy-check: $(STAMP)  ## static checks of Dockerfile, compose, k8s and Grafana files + the runtime image's install in a clean venv (no Docker)
	VENV=$(VENV) bash scripts/check-deploy.sh

train-hull: $(STAMP)  ## retrain the hull model (resumable; see models/hull/MODEL_CARD.md)
	$(BIN)/python -m models.hull.train

train-translate: $(STAMP)  ## retrain the translation model (resumable, hours on a CPU; see models/translate/MODEL_CARD.md)
	$(BIN)/python -m models.translate.train --name main
	$(BIN)/python -m models.translate.train --name copy_ft --init checkpoints/translate_main.safetensors \
		--copy-aug 0.8 --copy-append 0.4 --lr 2.5e-4 --epochs 3

train-speech: $(STAMP)  ## build the speech corpus (espeak-ng + FSDD), then train listen-attend-spell (resumable, hours on a CPU)
	bash scripts/install-debian-deps.sh
	test -f runs/speech/data/train.npz || $(BIN)/python -m models.speech.data
	$(BIN)/python -m models.speech.train --name main

train-caption: $(STAMP)  ## retrain both captioning models and the regularizer ablation (resumable; see models/caption/MODEL_CARD.md)
	$(BIN)/python -m models.caption.train --kind grounded --name grounded --epochs 10 --out checkpoints/caption-grounded.safetensors
	$(BIN)/python -m models.caption.train --kind grounded --name grounded_reg0 --reg 0 --epochs 10 --out checkpoints/caption-grounded-reg0.safetensors
	$(BIN)/python -m models.caption.train --kind photo --name photo --reg 0 --epochs 15 --out checkpoints/caption-photo.safetensors  # lambda = 0 won on dev

train-sentiment: $(STAMP)  ## retrain the SST Tree-LSTM and its parser (resumable, minutes on a CPU; see models/sentiment/MODEL_CARD.md)
	$(BIN)/python -m models.sentiment.train --name main --epochs 20 --out checkpoints/sentiment.safetensors  # keeps the best dev epoch
	$(BIN)/python -m models.sentiment.train_parser

clean:  ## remove build outputs (keeps .venv and checkpoints)
	rm -rf build .pytest_cache .ruff_cache
