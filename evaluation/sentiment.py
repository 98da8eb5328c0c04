"""Evaluate the exported sentiment models on SST dev through ONNX Runtime and the serving code; writes card.json.

    python -m evaluation.sentiment [--artifacts build/models/sentiment]

- gold trees: the dev trees' own structure, labelled by the model (the published setting): fine-grained
  and binary accuracy at the root and over all phrases (models/sentiment/training/metrics.py);
- parsed text: the dev sentences as plain words, parsed by the server's parser, then labelled (what a
  /sentiment request with `text` gets): root accuracies (phrase accuracy needs the gold phrases);
- the parser's unlabelled bracket F1 against the dev trees.
The test split is held back (../shared/holdout); nothing here reads it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.precision import compare_precisions
from models.sentiment.export import CARD
from models.sentiment.handler import SentimentItem
from models.sentiment.infer import label_trees, parse_splits
from models.sentiment.structure import bracket_f1, gold_spans, spans_of, tree_from_splits
from models.sentiment.training.data import node_labels, read_split
from models.sentiment.training.metrics import accuracies
from models.sentiment.vocab import Vocab
from models.training.paths import default_data_dir
from service.engine.runtimes import RuntimeOptions, make_runtime, read_meta

PUBLISHED = {"RNTN (Socher et al. 2013)": {"fine_root": 45.7, "fine_all": 80.7, "binary_root": 85.4, "binary_all": 87.6},
             "Tree-LSTM, GloVe (Tai et al. 2015)": {"fine_root": 51.0, "binary_root": 88.0}}  # fmt: skip
CHUNK = 100


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifacts", type=Path, default=Path("build/models/sentiment"))
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    args = p.parse_args()
    meta = read_meta(args.artifacts)
    runtime = make_runtime("onnx", args.artifacts, ["leaf", "compose", "span_scores"], RuntimeOptions(device="cpu"))
    vocab, parser_vocab = Vocab(meta["vocab"][1:]), Vocab(meta["parser"]["vocab"][1:])
    dev = read_split(args.data_dir, "dev")
    gold = [node_labels(t) for t in dev]
    t0 = time.time()
    probs: list[np.ndarray] = []
    for i in range(0, len(dev), CHUNK):
        chunk = dev[i : i + CHUNK]
        probs += label_trees(runtime, chunk, [vocab.ids(t.leaves()) for t in chunk])
    on_gold = accuracies(probs, gold)
    print(f"gold trees: {json.dumps(on_gold)} ({time.time() - t0:.0f}s)", flush=True)
    t0 = time.time()
    parsed_spans, root_probs = [], []
    for i in range(0, len(dev), CHUNK):
        chunk = dev[i : i + CHUNK]
        words = [t.leaves() for t in chunk]
        splits = parse_splits(runtime, [parser_vocab.ids(w) for w in words])
        trees = [tree_from_splits(w, s) for w, s in zip(words, splits, strict=True)]
        parsed_spans += [spans_of(s, len(w)) for w, s in zip(words, splits, strict=True)]
        root_probs += [p[-1:] for p in label_trees(runtime, trees, [vocab.ids(w) for w in words])]
    roots = accuracies(root_probs, [[g[-1]] for g in gold])
    on_parsed = {"fine_root": roots["fine_root"], "binary_root": roots["binary_root"]}
    parser = bracket_f1(parsed_spans, [gold_spans(t) for t in dev])
    print(f"parsed text: {json.dumps(on_parsed)}; parser {json.dumps(parser)} ({time.time() - t0:.0f}s)", flush=True)

    def int8_measure(h: Any) -> dict[str, Any]:  # roots on gold trees, and on plain text as the server parses it
        out: dict[str, Any] = {}
        for name in ("gold_trees", "parsed_text"):
            roots: list[np.ndarray] = []
            for i in range(0, len(dev), CHUNK):
                items = [SentimentItem(t.leaves(), h.vocab.ids(t.leaves()), h.parser_vocab.ids(t.leaves()),
                                       t if name == "gold_trees" else None) for t in dev[i : i + CHUNK]]  # fmt: skip
                roots += [p[-1:] for _, p in h.predict(items)]
            acc = accuracies(roots, [[g[-1]] for g in gold])
            out[f"{name}_fine_root"], out[f"{name}_binary_root"] = acc["fine_root"], acc["binary_root"]
        return out

    card: dict[str, Any] = {"split": "SST dev", "sentences": len(dev), "phrases": int(sum(len(g) for g in gold)),
                            "gold_trees": on_gold, "parsed_text": on_parsed, "parser_bracket_f1": parser,
                            "published": PUBLISHED,
                            "precision": compare_precisions("sentiment", args.artifacts, int8_measure)}  # fmt: skip
    CARD.write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {CARD}")


if __name__ == "__main__":
    main()
