#!/usr/bin/env bash
# docs/web-<panel>.png: a screenshot of each panel of the web page, taken by its browser tests (headless
# Debian chromium against the shipped models; tests/e2e/test_web.py).
set -euo pipefail
cd "$(dirname "$0")/.."
SEQ2SERVE_SCREENSHOTS=docs "${PYTHON:-.venv/bin/python}" -m pytest -q -p no:cacheprovider tests/e2e/test_web.py
