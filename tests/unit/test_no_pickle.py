"""No code path loads pickles (issue 9): weights come from safetensors, ONNX or TorchScript archives, and
the two torch.load calls (training resume state, the pretrained EfficientNet file) use weights_only=True.
A static scan, so a new `pickle.load` or a bare `torch.load` anywhere in shipped code fails CI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ["service", "models", "export", "benchmarks", "scripts"]
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "joblib", "shelve", "marshal"}


def sources() -> list[Path]:
    return sorted(p for d in SHIPPED for p in (ROOT / d).rglob("*.py"))


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def problems(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"line {node.lineno}: imports {n}" for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value.id if isinstance(node.func.value, ast.Name) else ""
        call = f"{owner}.{node.func.attr}"
        if call == "torch.load":
            flag = _keyword(node, "weights_only")
            if not (isinstance(flag, ast.Constant) and flag.value is True):
                found.append(f"line {node.lineno}: torch.load without weights_only=True")
        if call == "np.load":
            flag = _keyword(node, "allow_pickle")
            if flag is not None and not (isinstance(flag, ast.Constant) and flag.value is False):
                found.append(f"line {node.lineno}: np.load with allow_pickle")
    return found


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_pickle_loading(path: Path) -> None:
    assert problems(ast.parse(path.read_text())) == []


def test_the_scan_catches_what_it_forbids() -> None:
    bad = "import pickle\nimport torch, numpy as np\ntorch.load('x')\ntorch.load('x', weights_only=False)\n" \
          "np.load('x', allow_pickle=True)\nfrom joblib import load\n"  # fmt: skip
    assert len(problems(ast.parse(bad))) == 5
    good = "import torch, numpy as np\ntorch.load('x', weights_only=True)\nnp.load('x')\n"
    assert problems(ast.parse(good)) == []
