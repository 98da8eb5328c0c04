"""Checkpoint averaging: the element-wise mean of several checkpoints' weights, scored on val.

    python -m models.translate.training.average runs/translate/main/epoch-{8..11}.safetensors \
        --out checkpoints/translate_avg.safetensors

The checkpoints must come from one run (the same shapes and vocabularies): the last epochs of a run sit close
together in weight space, and their mean usually decodes a little better than any one of them. Prints the
greedy val BLEU (sacreBLEU, as training measures it) of each input and of the average; writes the average to
--out. Which to ship is chosen on val, and recorded as an ablation row in the model card.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from models.training.paths import default_data_dir
from models.translate.training.checkpoint import load_checkpoint, save_checkpoint, shared_subwords, shared_vocabularies
from models.translate.training.model import Seq2Seq


def average(models: list[Seq2Seq]) -> Seq2Seq:
    """A copy of the first model holding the mean of all their weights."""
    states = [m.state_dict() for m in models]
    if any(s.keys() != states[0].keys() or any(s[k].shape != states[0][k].shape for k in s) for s in states):
        raise ValueError("checkpoints of different shapes cannot be averaged")
    out = Seq2Seq(models[0].cfg)
    out.load_state_dict({k: torch.stack([s[k].float() for s in states]).mean(0) for k in states[0]})
    return out.eval()


def main() -> None:
    from models.translate.training.train import val_bleu  # heavy imports (sacrebleu, data) only when run

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", type=Path, nargs="+")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data_dir = args.data_dir or default_data_dir()
    loaded = [load_checkpoint(c) for c in args.checkpoints]
    src, tgt = shared_vocabularies(loaded)
    subwords = shared_subwords(args.checkpoints)
    scores = {}
    for path, (model, _, _) in zip(args.checkpoints, loaded, strict=True):
        scores[str(path)] = round(val_bleu(model, data_dir, src, tgt, subwords)[0], 2)
        print(f"{path}: val BLEU {scores[str(path)]}", flush=True)
    mean = average([m for m, _, _ in loaded])
    bleu, chrf = val_bleu(mean, data_dir, src, tgt, subwords)
    print(f"average of {len(loaded)}: val BLEU {bleu:.2f} chrF {chrf:.2f}", flush=True)
    save_checkpoint(
        mean, src, tgt, args.out, {"epoch": "avg", "val_bleu": round(bleu, 2), "averaged": json.dumps(scores)}, subwords
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
