"""Serving-side inference in numpy over the exported graphs: parse plain text (span scores + CKY), then
label every node of a batch of trees level by level (one `compose` call per height, all trees together)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from models.sentiment.structure import cky, plan
from models.sentiment.trees import Tree


class GraphRunner(Protocol):
    def run(self, graph: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]: ...


def parse_splits(runner: GraphRunner, word_ids: list[list[int]]) -> list[np.ndarray]:
    """CKY split tables (see structure.cky) for a batch of sentences, one span_scores call for all."""
    lengths = np.array([len(w) for w in word_ids], dtype=np.int64)
    ids = np.zeros((len(word_ids), int(lengths.max())), dtype=np.int64)
    for b, w in enumerate(word_ids):
        ids[b, : len(w)] = w
    (scores,) = runner.run("span_scores", {"ids": ids, "lengths": lengths})
    return [cky(scores[b], int(n)) for b, n in enumerate(lengths)]


def label_trees(runner: GraphRunner, trees: list[Tree], word_ids: list[list[int]]) -> list[np.ndarray]:
    """Per tree: (nodes, 5) class probabilities in post-order (Tree.nodes()), the root last."""
    p = plan(trees, word_ids)
    h, c, logp = runner.run("leaf", {"ids": p.leaf_ids})
    for left, right in p.levels:
        h_new, c_new, lp_new = runner.run("compose", {"hl": h[left], "cl": c[left], "hr": h[right], "cr": c[right]})
        h, c, logp = np.concatenate([h, h_new]), np.concatenate([c, c_new]), np.concatenate([logp, lp_new])
    probs = np.exp(logp.astype(np.float64))
    return [probs[o] for o in p.order]
