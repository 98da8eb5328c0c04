"""Tree structure work shared by training and serving, in numpy only (the serving image has no torch):
the level layout of a batch of trees, CKY over span scores, and bracket F1."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.sentiment.trees import Tree, heights


@dataclass(frozen=True)
class Plan:
    """A batch of trees as levels. Nodes are numbered level by level (all leaves first), so every node's
    children have smaller numbers; `order[t]` maps tree t's post-order nodes to those numbers."""

    leaf_ids: np.ndarray  # (n_leaves,) word ids of nodes 0..n_leaves-1
    levels: list[tuple[np.ndarray, np.ndarray]]  # per height >= 1: (left child numbers, right child numbers)
    order: list[np.ndarray]  # per tree: node numbers in post-order

    @property
    def n_nodes(self) -> int:
        return len(self.leaf_ids) + sum(len(left) for left, _ in self.levels)


def plan(trees: list[Tree], word_ids: list[list[int]]) -> Plan:
    """Level layout of binary trees (every internal node has two children); word_ids per tree, per leaf."""
    entries: list[tuple[int, int, int]] = []  # (height, tree, post-order index)
    kids: list[list[tuple[int, int] | None]] = []
    leaves: list[list[int]] = []  # per tree: post-order indices of its leaves, in word order
    for t, tree in enumerate(trees):
        nodes = tree.nodes()
        index = {id(n): k for k, n in enumerate(nodes)}
        kids.append([None if n.is_leaf else (index[id(n.children[0])], index[id(n.children[1])]) for n in nodes])
        leaves.append([k for k, n in enumerate(nodes) if n.is_leaf])
        entries += [(h, t, k) for k, h in enumerate(heights(tree))]
    entries.sort(key=lambda e: e[0])  # stable: within a height, by tree, then post-order
    number = {(t, k): n for n, (_, t, k) in enumerate(entries)}
    leaf_ids = np.empty(sum(len(ls) for ls in leaves), dtype=np.int64)
    for t, ls in enumerate(leaves):
        for w, k in enumerate(ls):
            leaf_ids[number[(t, k)]] = word_ids[t][w]
    levels = []
    for h in range(1, max((e[0] for e in entries), default=0) + 1):
        at = [(t, kids[t][k]) for hh, t, k in entries if hh == h]
        left = np.array([number[(t, c[0])] for t, c in at if c], dtype=np.int64)
        right = np.array([number[(t, c[1])] for t, c in at if c], dtype=np.int64)
        levels.append((left, right))
    order = [np.array([number[(t, k)] for k in range(len(kids[t]))], dtype=np.int64) for t in range(len(trees))]
    return Plan(leaf_ids, levels, order)


def gold_spans(tree: Tree) -> set[tuple[int, int]]:
    """Spans of the internal nodes (two words or more), the whole sentence included."""
    return {(i, j) for i, j in tree.spans() if j - i >= 2}


def cky(scores: np.ndarray, n: int) -> np.ndarray:
    """Split points of the binary bracketing of n words that maximizes the sum of log-sigmoid(span score)
    over its internal spans: split[i, j] = k means span (i, j) has children (i, k) and (k, j).
    scores: (>= n + 1, >= n + 1) as SpanScorer gives them."""
    logp = -np.logaddexp(0.0, -scores[: n + 1, : n + 1].astype(np.float64))  # log sigmoid
    best = np.zeros((n + 1, n + 1))
    split = np.zeros((n + 1, n + 1), dtype=np.int64)
    for length in range(2, n + 1):
        for i in range(0, n - length + 1):
            j = i + length
            totals = best[i, i + 1 : j] + best[i + 1 : j, j]
            k = int(totals.argmax())
            best[i, j], split[i, j] = logp[i, j] + totals[k], i + 1 + k
    return split


def tree_from_splits(words: list[str], split: np.ndarray) -> Tree:
    """The unlabelled binary tree CKY chose (iterative, so long sentences cannot exhaust the stack)."""
    n = len(words)
    built: dict[tuple[int, int], Tree] = {}
    todo, order = [(0, n)], []
    while todo:  # pre-order collection, then build bottom-up
        i, j = todo.pop()
        order.append((i, j))
        if j - i >= 2:
            k = int(split[i, j])
            todo += [(i, k), (k, j)]
    for i, j in reversed(order):
        if j - i == 1:
            built[(i, j)] = Tree(None, word=words[i])
        else:
            k = int(split[i, j])
            built[(i, j)] = Tree(None, [built[(i, k)], built[(k, j)]])
    return built[(0, n)]


def bracket_f1(predicted: list[list[tuple[int, int]]], gold: list[set[tuple[int, int]]]) -> dict[str, float]:
    """Unlabelled bracket precision/recall/F1 in percent over spans of two words or more, whole sentence
    excluded (every tree has it, so it would only inflate the score)."""
    match = n_pred = n_gold = 0
    for p, g in zip(predicted, gold, strict=True):
        whole = max(g, key=lambda s: s[1] - s[0]) if g else None
        ps, gs = {s for s in p if s != whole}, {s for s in g if s != whole}
        match, n_pred, n_gold = match + len(ps & gs), n_pred + len(ps), n_gold + len(gs)
    prec, rec = match / max(n_pred, 1), match / max(n_gold, 1)
    return {"precision": round(100 * prec, 2), "recall": round(100 * rec, 2),
            "f1": round(100 * 2 * prec * rec / max(prec + rec, 1e-9), 2)}  # fmt: skip


def spans_of(split: np.ndarray, n: int) -> list[tuple[int, int]]:
    """The internal spans (two words or more) of the bracketing a CKY split table describes."""
    out, todo = [], [(0, n)] if n >= 2 else []
    while todo:
        i, j = todo.pop()
        out.append((i, j))
        k = int(split[i, j])
        todo += [(a, b) for a, b in ((i, k), (k, j)) if b - a >= 2]
    return out
