# seq2serve: `make serve` and `make test` do all the set-up on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: serve test lint format export eval bench deploy-check image-check tasks clean help

help:  ## list targets
	@grep -E '^[a-z%-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e ".[train,dev]"
	touch $@

serve: export  ## create .venv, export the shipped checkpoints if needed, serve on :8000
	$(BIN)/python -m service

test: $(STAMP)  ## lint, unit + integration + end-to-end tests, the deployment files' static checks, then the image built and run (as root)
	bash scripts/install-debian-deps.sh --image
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q
	VENV=$(VENV) bash scripts/check-deploy.sh
	$(BIN)/python deploy/image_check.py --if-root

lint: $(STAMP)  ## ruff only
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

export: $(STAMP)  ## export shipped checkpoints to build/models (ONNX + TorchScript), skipped when up to date
	$(BIN)/python -m export

eval: export  ## measure every served model (each task's evaluation, from service/tasks.py); rewrites models/*/card.json (about 10 minutes on 2 cores)
	bash scripts/install-debian-deps.sh
	$(BIN)/python -m evaluation

bench: export  ## batching off vs on for /hull (several minutes; see BENCHMARKS.md)
	$(BIN)/python -m benchmarks.hull_batching

deploy-check: $(STAMP)  ## static checks of Dockerfile, compose, k8s and Grafana files + the runtime image's install in a clean venv (no Docker)
	VENV=$(VENV) bash scripts/check-deploy.sh

image-check: $(STAMP)  ## build the CPU image from the Dockerfile with podman on a debootstrapped Debian base, run and check it (deploy/README.md; root; about 5 minutes)
	bash scripts/install-debian-deps.sh --image
	$(BIN)/python deploy/image_check.py

tasks: $(STAMP)  ## list the tasks (service/tasks.py) and each one's training recipe
	@for t in $$($(BIN)/python -c 'from service.tasks import TASKS; print(" ".join(t.name for t in TASKS))'); do \
		echo "make train-$$t:"; $(BIN)/python -m models.training $$t --dry-run | sed 's/^/    /'; done

train-%: $(STAMP)  ## retrain a task's models with its recipe from service/tasks.py, writing the checkpoints export reads (resumable; e.g. make train-translate)
	bash scripts/install-debian-deps.sh
	$(BIN)/python -m models.training $*

clean:  ## remove build outputs (keeps .venv and checkpoints)
	rm -rf build .pytest_cache .ruff_cache
