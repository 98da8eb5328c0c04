#!/usr/bin/env bash
# Debian packages the speech model's data recipe and tests need (espeak-ng synthesizes speech).
# Called by `make test` / `make train-speech` when espeak-ng is missing; safe to rerun.
set -euo pipefail
if command -v espeak-ng >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends espeak-ng
