"""Build a memory-network ensemble from trained runs, its members chosen on validation.

    python -m models.qa.training.ensemble checkpoints/qa_main.safetensors checkpoints/qa_seed2.safetensors ...
        [--out checkpoints/qa.safetensors] [--record models/qa/ensemble.json]

Every candidate (the same recipe trained from other seeds, say) is scored alone on validation. Then greedy
forward selection with replacement off (Caruana et al. 2004): start from the best single model, add the
candidate that lowers the ensemble's mean validation error most, stop when none does. Candidates may
differ in gates, encoding and width (a gated run and a plain one, say), but only runs with the best single
run's hops and memory can join it (`joinable`). The members' answer distributions are averaged
(MemN2NEnsemble). --out gets what was chosen: the ensemble, or the best single run when no ensemble beats
it; --record gets every candidate's and every step's validation figures (the card's ablation rows). Test
files are not read here.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.qa.training.checkpoint import QAModel, load_checkpoint, save_checkpoint
from models.qa.training.data import arrays, splits
from models.qa.training.model import MemN2N, MemN2NEnsemble, joinable
from models.qa.training.train import SENTENCE, scores
from models.training.paths import default_data_dir


def members_of(models: dict[str, MemN2N], names: list[str]) -> QAModel:
    return models[names[0]] if len(names) == 1 else MemN2NEnsemble([models[n] for n in names])


def summary(v: dict[str, Any]) -> dict[str, Any]:
    return {"mean_error": v["mean_error"], "failed": v["failed"], "loss": v["loss"], "errors": v["errors"]}


def select(models: dict[str, MemN2N], score: Any) -> tuple[list[str], dict[str, Any]]:
    """Greedy forward selection on validation; the chosen names and the record of every step."""
    alone = {n: score(members_of(models, [n])) for n in models}
    chosen = [min(alone, key=lambda n: (alone[n]["mean_error"], alone[n]["loss"]))]
    best = alone[chosen[0]]
    steps = [{"members": list(chosen), **summary(best)}]
    rounds: list[dict[str, Any]] = []
    # Only runs that read the first choice's inputs in as many hops can join it (see joinable).
    while rest := [n for n in models if n not in chosen and joinable(models[n].cfg, models[chosen[0]].cfg)]:
        tried = {n: score(members_of(models, [*chosen, n])) for n in rest}
        # every addition tried, so the card can cite what did not help as well as what did
        rounds.append({"to": list(chosen), "tried": {n: {k: v[k] for k in ("mean_error", "failed")} for n, v in tried.items()}})
        n = min(tried, key=lambda n: (tried[n]["mean_error"], tried[n]["loss"]))
        if (tried[n]["mean_error"], tried[n]["loss"]) >= (best["mean_error"], best["loss"]):
            break
        chosen.append(n)
        best = tried[n]
        steps.append({"members": list(chosen), **summary(best)})
    return chosen, {"candidates": {n: summary(v) for n, v in alone.items()}, "steps": steps, "rounds": rounds}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", type=Path, nargs="+")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=Path("checkpoints/qa.safetensors"))
    p.add_argument("--record", type=Path, default=Path("models/qa/ensemble.json"))
    return p.parse_args(argv)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    loaded = {str(c): load_checkpoint(c) for c in args.checkpoints}
    vocabs = {v.to_json() for _, v in loaded.values()}
    assert len(vocabs) == 1, "the candidates were trained with different vocabularies"
    vocab = next(iter(loaded.values()))[1]
    models = {n: m for n, (m, _) in loaded.items() if isinstance(m, MemN2N)}
    data = splits(args.data_dir or default_data_dir())
    memory = next(iter(models.values())).cfg.memory
    val = arrays(data["val"], vocab, memory, SENTENCE)
    tasks = np.array([ex.task for ex in data["val"]])
    chosen, record = select(models, lambda m: scores(m, val, tasks, linear=False))
    for n, v in record["candidates"].items():
        print(f"alone {n}: val mean error {v['mean_error']}%, failed {v['failed']}")
    for step in record["steps"]:
        print(f"{len(step['members'])} member(s): val mean error {step['mean_error']}%, failed {step['failed']}")
    args.record.write_text(json.dumps({"command": "python -m models.qa.training.ensemble " + " ".join(map(str, args.checkpoints)),
                                       "chosen": chosen, **record}, indent=2) + "\n")  # fmt: skip
    if len(chosen) > 1:
        save_checkpoint(members_of(models, chosen), vocab, args.out, {"epoch": len(chosen), "members_from": json.dumps(chosen)})
        print(f"wrote {args.out}: {len(chosen)} members")
    elif Path(chosen[0]).resolve() != args.out.resolve():
        shutil.copyfile(chosen[0], args.out)  # no ensemble beats the best single run: it ships alone
        print(f"no ensemble beats {chosen[0]} on validation; copied it to {args.out}")


if __name__ == "__main__":
    main()
