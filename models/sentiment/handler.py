"""Sentiment handler: text -> tokens -> tree (the parser, or the caller's brackets) -> a label at every node.

A batch of requests is parsed with one `span_scores` call, then labelled level by level: every node of
one height, across every tree of the batch, goes through the `compose` cell together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.sentiment.infer import label_trees, parse_splits
from models.sentiment.render import tree_svg
from models.sentiment.schemas import Node, SentimentRequest, SentimentResponse
from models.sentiment.settings import SentimentSettings
from models.sentiment.structure import tree_from_splits
from models.sentiment.trees import Tree, TreeSyntaxError, binarize, parse_ptb
from models.sentiment.vocab import LABELS, Vocab, tokenize_text
from models.tokens import WORD_UNK_ID
from service.engine.handler import Handler
from service.engine.runtimes import Runtime
from service.errors import InvalidInput
from service.v2 import Tensor, one_text


@dataclass(frozen=True)
class SentimentItem:
    words: list[str]
    ids: list[int]
    parser_ids: list[int]
    tree: Tree | None  # None: parse the words


class SentimentHandler(Handler[SentimentRequest, SentimentItem, tuple[Tree, np.ndarray], SentimentResponse]):
    graphs = ("leaf", "compose", "span_scores")
    v2_inputs = (Tensor("TEXT", "BYTES", (1,)),)  # a sentence
    v2_outputs = (Tensor("LABEL", "INT64", (1,)), Tensor("PROBS", "FP32", (1, 5)))  # the root's label and probabilities
    settings: SentimentSettings

    def load(self, runtime: Runtime) -> None:
        super().load(runtime)
        self.vocab = Vocab(self.meta["vocab"][1:])
        self.parser_vocab = Vocab(self.meta["parser"]["vocab"][1:])

    def decode(self, req: SentimentRequest) -> list[SentimentItem]:
        s = self.settings
        if (req.text is None) == (req.tree is None):
            raise InvalidInput("give exactly one of 'text' (a sentence) or 'tree' (PTB brackets)")
        tree = None
        if req.tree is not None:
            try:
                tree = binarize(parse_ptb(req.tree, max_depth=s.max_tree_depth))
            except TreeSyntaxError as e:
                raise InvalidInput(f"tree: {e}", details=[{"loc": ["body", "tree"], "position": e.position}]) from e
            words = tree.leaves()
        else:
            words = tokenize_text(req.text or "")
            if not words:
                raise InvalidInput("text: no words in it")
        if len(words) > s.max_words:
            raise InvalidInput(f"{'tree' if tree else 'text'}: {len(words)} words is more than this server's limit of "
                               f"{s.max_words}; send one sentence at a time")  # fmt: skip
        return [SentimentItem(words, self.vocab.ids(words), self.parser_vocab.ids(words), tree)]

    def example(self) -> SentimentItem:
        words = ["a", "good", "film", "."]
        return SentimentItem(words, self.vocab.ids(words), self.parser_vocab.ids(words), None)

    def predict(self, items: list[SentimentItem]) -> list[tuple[Tree, np.ndarray]]:
        assert self.runtime is not None
        to_parse = [k for k, it in enumerate(items) if it.tree is None]
        trees: list[Tree | None] = [it.tree for it in items]
        if to_parse:
            splits = parse_splits(self.runtime, [items[k].parser_ids for k in to_parse])
            for k, split in zip(to_parse, splits, strict=True):
                trees[k] = tree_from_splits(items[k].words, split)
        done = [t for t in trees if t is not None]
        probs = label_trees(self.runtime, done, [it.ids for it in items])
        return list(zip(done, probs, strict=True))

    def encode(
        self, req: SentimentRequest, items: list[SentimentItem], outputs: list[tuple[Tree, np.ndarray]]
    ) -> SentimentResponse:
        (item,), ((tree, probs),) = items, outputs
        labels = [int(p.argmax()) for p in probs]
        root = _nodes(tree, probs, labels)
        return SentimentResponse(
            label=root.label, sentiment=root.sentiment, probs=root.probs, tokens=item.words,
            unknown_words=sorted({w for w, i in zip(item.words, item.ids, strict=True) if i == WORD_UNK_ID}),
            parsed=item.tree is None, tree=root, tree_ptb=_ptb(tree, labels),
            svg=tree_svg(tree, labels) if req.return_svg else None, model=self.name, version=self.version,
        )  # fmt: skip

    def v2_request(self, tensors: dict[str, np.ndarray]) -> SentimentRequest:
        return SentimentRequest(text=one_text(tensors, "TEXT"))

    def v2_response(self, response: SentimentResponse) -> dict[str, np.ndarray]:
        return {"LABEL": np.array([response.label], dtype=np.int64), "PROBS": np.array([response.probs], dtype=np.float32)}


def _nodes(tree: Tree, probs: np.ndarray, labels: list[int]) -> Node:
    """Nested response nodes, built bottom-up in post-order (no recursion, whatever the depth)."""
    stack: list[tuple[Tree, Node]] = []
    for n, p, lab in zip(tree.nodes(), probs, labels, strict=True):
        kids = [stack.pop() for _ in n.children][::-1]
        phrase = n.word if n.is_leaf else " ".join(k.phrase for _, k in kids)
        node = Node(phrase=phrase or "", label=lab, sentiment=LABELS[lab], probs=[round(float(x), 5) for x in p],
                    children=[k for _, k in kids])  # fmt: skip
        stack.append((n, node))
    return stack[-1][1]


def _ptb(tree: Tree, labels: list[int]) -> str:
    out: list[str] = []
    for n, lab in zip(tree.nodes(), labels, strict=True):
        if n.is_leaf:
            out.append(f"({lab} {n.word})")
        else:
            right, left = out.pop(), out.pop()
            out.append(f"({lab} {left} {right})")
    return out[-1]
