"""Train the binarizing parser on the structure of SST train trees; select on dev bracket F1.

    python -m models.sentiment.training.train_parser [--data-dir ../shared/data]

Resumable (runs/sentiment/parser/, each epoch); the best epoch goes to checkpoints/sentiment-parser.safetensors.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from models.sentiment.structure import bracket_f1, cky, gold_spans, spans_of
from models.sentiment.training.data import read_split
from models.sentiment.training.parser import ParserConfig, SpanScorer, parser_loss
from models.sentiment.trees import Tree
from models.sentiment.vocab import Vocab
from models.tokens import WORD_UNK_ID
from models.training.checkpoints import resume_run_state, save_run_state, save_weights
from models.training.paths import default_data_dir


def batch(trees: list[Tree], vocab: Vocab, rng: np.random.Generator | None = None,
          word_dropout: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    width = max(len(t.leaves()) for t in trees)
    ids = torch.zeros(len(trees), width, dtype=torch.int64)
    for b, t in enumerate(trees):
        row = vocab.ids(t.leaves())
        if rng is not None:
            row = [WORD_UNK_ID if rng.random() < word_dropout else w for w in row]
        ids[b, : len(row)] = torch.tensor(row)
    return ids, torch.tensor([len(t.leaves()) for t in trees])


@torch.no_grad()
def parse_f1(model: SpanScorer, trees: list[Tree], vocab: Vocab) -> dict[str, float]:
    model.eval()
    predicted = []
    for i in range(0, len(trees), 100):
        chunk = trees[i : i + 100]
        ids, lengths = batch(chunk, vocab)
        scores = model(ids, lengths).numpy()
        for s, t in zip(scores, chunk, strict=True):
            predicted.append(spans_of(cky(s, len(t.leaves())), len(t.leaves())))
    return bracket_f1(predicted, [gold_spans(t) for t in trees])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    p.add_argument("--out", type=Path, default=Path("checkpoints/sentiment-parser.safetensors"))
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--word-dropout", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def main() -> None:
    args = parse_args()
    run = Path("runs/sentiment/parser")
    run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    train, dev = read_split(args.data_dir, "train"), read_split(args.data_dir, "dev")
    vocab = Vocab.build(train)
    model = SpanScorer(ParserConfig(vocab=len(vocab)))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    state = resume_run_state(run, model, opt) or {"epoch": 0, "best": -1.0, "history": []}
    while state["epoch"] < args.epochs:
        epoch, t0 = state["epoch"], time.time()
        rng = np.random.default_rng([args.seed, epoch])
        order = rng.permutation(len(train))
        model.train()
        for i in range(0, len(order), args.batch_size):
            chunk = [train[k] for k in order[i : i + args.batch_size]]
            loss = parser_loss(model(*batch(chunk, vocab, rng, args.word_dropout)), chunk)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
        score = parse_f1(model, dev, vocab)
        state["history"].append({"epoch": epoch, **score})
        print(f"epoch {epoch} done in {time.time() - t0:.0f}s: {json.dumps(score)}", flush=True)
        if score["f1"] > state["best"]:
            state["best"] = score["f1"]
            meta = {"config": json.dumps(model.cfg.to_dict()), "vocab": vocab.to_json(),
                    "epoch": str(epoch), "dev": json.dumps(score)}  # fmt: skip
            save_weights(model, args.out, meta, half=True)
            print(f"saved {args.out}", flush=True)
        state["epoch"] = epoch + 1
        save_run_state(run, model, opt, state)


if __name__ == "__main__":
    main()
