"""Serving code stays apart from training code: the server imports no torch, no training or export module,
no evaluation; and the special token ids are defined in one place."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from service.tasks import MODELS
from service.taskspec import ROOT

# What `python -m service` imports once its app is built, as a JSON list of module names.
PROBE = """
import json, sys
import service.__main__
from service.app import create_app
from service.settings import Settings
create_app(Settings())
print(json.dumps(sorted(sys.modules)))
"""


def served_imports() -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return list(json.loads(out))


def is_training_side(module: str) -> bool:
    parts = module.split(".")
    return (
        parts[0] in {"torch", "export", "evaluation", "safetensors", "onnx", "sacrebleu", "sklearn"}
        or "training" in parts
        or (parts[0] == "models" and parts[-1] == "export")
    )


def test_the_server_imports_no_torch_and_no_training_module() -> None:
    modules = served_imports()
    assert [m for m in modules if is_training_side(m)] == []
    # ...while it does import every served model's serving side (so the probe is not vacuous).
    for spec in MODELS.values():
        assert spec.handler.__module__ in modules


def test_the_probe_would_see_a_training_import() -> None:
    assert is_training_side("models.translate.training.model") and is_training_side("torch.nn")
    assert is_training_side("models.caption.export") and is_training_side("evaluation.hull")
    assert not is_training_side("models.translate.vocab") and not is_training_side("service.engine.handler")


SPECIAL_ID = re.compile(r"^\s*(?:[A-Z_]+_ID\s*,\s*)*(?:PAD|UNK|BOS|EOS)_ID\b[^=\n]*=(?!=)", re.MULTILINE)


def test_special_ids_are_defined_only_in_models_tokens() -> None:
    sources = [p for d in ("models", "service", "export", "evaluation", "benchmarks") for p in (ROOT / d).rglob("*.py")]
    defining = sorted(str(p.relative_to(ROOT)) for p in sources if SPECIAL_ID.search(p.read_text(encoding="utf-8")))
    assert defining == ["models/tokens.py"]
    assert SPECIAL_ID.search("PAD_ID, UNK_ID, BOS_ID, EOS_ID = range(4)\n") and SPECIAL_ID.search("EOS_ID = 3\n")
    assert not SPECIAL_ID.search("if i == EOS_ID:\n")
