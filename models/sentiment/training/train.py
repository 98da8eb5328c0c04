"""Train the Tree-LSTM on SST train trees, selecting on dev root accuracy (fine-grained).

    python -m models.sentiment.training.train [--data-dir ../shared/data] [--name main]

Batches of trees are computed level by level (models/sentiment/training/model.py). Resumable: state in
runs/sentiment/<name>/ at each epoch's end; rerunning the same command continues. The best epoch is
written to --out (default checkpoints/sentiment_<name>.safetensors).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from models.sentiment.structure import plan
from models.sentiment.training.data import node_labels, read_split
from models.sentiment.training.metrics import accuracies
from models.sentiment.training.model import TreeLSTM, TreeLSTMConfig
from models.sentiment.trees import Tree
from models.sentiment.vocab import Vocab
from models.tokens import WORD_UNK_ID
from models.training.checkpoints import resume_run_state, save_run_state, save_weights, start_run
from models.training.paths import default_data_dir


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="main")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=25)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-5)
    p.add_argument("--word-dropout", type=float, default=0.05, help="train words replaced by <unk>")
    p.add_argument("--cell", choices=["lstm", "rntn"], default="lstm", help="rntn: the comparison in the model card")
    p.add_argument("--hidden", type=int, default=150, help="cell width (rntn: also the word vector width)")
    p.add_argument("--emb", type=int, default=200, help="word vectors (Tree-LSTM only)")
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


@torch.no_grad()
def predict(model: TreeLSTM, trees: list[Tree], vocab: Vocab, batch: int = 200) -> list[np.ndarray]:
    """Per tree: (nodes, 5) class probabilities in post-order."""
    model.eval()
    out = []
    for i in range(0, len(trees), batch):
        chunk = trees[i : i + batch]
        p = plan(chunk, [vocab.ids(t.leaves()) for t in chunk])
        probs = model.run(p).exp().numpy()
        out += [probs[o] for o in p.order]
    return out


def main() -> None:
    args = parse_args()
    run, out = start_run("sentiment", args)
    train, dev = read_split(args.data_dir, "train"), read_split(args.data_dir, "dev")
    vocab = Vocab.build(train)
    model = TreeLSTM(TreeLSTMConfig(len(vocab), args.emb, args.hidden, args.dropout, args.cell))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    state = {"epoch": 0, "best": -1.0, "history": []}
    resumed = resume_run_state(run, model, opt)
    if resumed is not None:
        state = resumed
        print(f"resumed: epoch {state['epoch']}", flush=True)
    train_ids = [vocab.ids(t.leaves()) for t in train]
    train_labels = [torch.tensor(node_labels(t)) for t in train]
    while state["epoch"] < args.epochs:
        epoch, t0, total = state["epoch"], time.time(), 0.0
        rng = np.random.default_rng([args.seed, epoch])
        model.train()
        order = rng.permutation(len(train))
        for i in range(0, len(order), args.batch_size):
            idx = order[i : i + args.batch_size]
            ids = [[WORD_UNK_ID if rng.random() < args.word_dropout else w for w in train_ids[k]] for k in idx]
            p = plan([train[k] for k in idx], ids)
            logp = model.run(p)[torch.from_numpy(np.concatenate(p.order))]
            loss = F.nll_loss(logp, torch.cat([train_labels[k] for k in idx]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            total += loss.item() * len(idx)
        score = accuracies(predict(model, dev, vocab), [node_labels(t) for t in dev])
        state["history"].append({"epoch": epoch, "loss": total / len(train), **score})
        print(f"epoch {epoch} done in {time.time() - t0:.0f}s: loss {total / len(train):.3f} {json.dumps(score)}", flush=True)
        if score["fine_root"] > state["best"]:
            state["best"] = score["fine_root"]
            meta = {"config": json.dumps(model.cfg.to_dict()), "vocab": vocab.to_json(), "epoch": str(epoch),
                    "dev": json.dumps(score), "args": json.dumps(vars(args), default=str)}  # fmt: skip
            save_weights(model, out, meta, half=True)
            print(f"saved {out}", flush=True)
        state["epoch"] = epoch + 1
        save_run_state(run, model, opt, state)


if __name__ == "__main__":
    main()
