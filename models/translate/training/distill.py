"""Sequence-level knowledge distillation (Kim & Rush 2016): the served model translates the training set.

    python -m models.translate.training.distill [--artifacts build/models/translate] [--out runs/translate/distill.en]
    python -m models.translate.training.train --name kd --init checkpoints/translate.safetensors \
        --targets runs/translate/distill.en --copy-aug 0.8 --copy-append 0.4 --lr 2.5e-4 --epochs 3

Every German training sentence is decoded by the exported (ensemble) model with the served search (beam 5,
length alpha 0.4, float32 graphs) through the handler, exactly as `/translate` answers it; the output words
are written one sentence per line, line-aligned with Multi30k train. `train.py --targets` then trains a
single model on these outputs in place of the human references: a student learns the teacher's beam
output, which is easier to fit than the references and carries what the ensemble knows into one model.
A line where the teacher wrote `<unk>` is left empty, and training keeps the human reference there.

Resumable: the file grows in chunks of 256 sentences; rerunning continues after its last complete line.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from evaluation.translate import SEARCHES, translate_all
from models.tokens import UNK
from models.training.paths import default_data_dir
from models.translate.handler import TranslateHandler
from models.translate.training.data import read_split
from service.engine.registry import loaded_handler

CHUNK = 256  # sentences per write


def teacher_line(tokens: list[str]) -> str:
    """The teacher's words, space-joined; empty where it wrote <unk> (training keeps the reference there)."""
    return "" if UNK in tokens else " ".join(tokens)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifacts", type=Path, default=Path("build/models/translate"))
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=Path("runs/translate/distill.en"))
    p.add_argument("--precision", choices=("fp32", "int8"), default="fp32")
    args = p.parse_args()
    de, _ = read_split(args.data_dir or default_data_dir(), "train")
    handler = loaded_handler("translate", args.artifacts, precision=args.precision)
    assert isinstance(handler, TranslateHandler)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = args.out.read_text(encoding="utf-8").count("\n") if args.out.exists() else 0
    t0 = time.time()
    with args.out.open("a", encoding="utf-8") as f:
        for start in range(done, len(de), CHUNK):
            outputs = translate_all(handler, de[start : start + CHUNK], SEARCHES["beam5_a0.4"])
            f.write("".join(teacher_line(o.tokens) + "\n" for o in outputs))
            f.flush()
            n = start + len(outputs)
            print(f"{n}/{len(de)} sentences, {(n - done) / (time.time() - t0):.1f}/s", flush=True)


if __name__ == "__main__":
    main()
