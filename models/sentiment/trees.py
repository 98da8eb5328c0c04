"""Binary parse trees: PTB bracket reading (with the position of any error), binarization, and levels.

SST trees are `(3 (2 It) (4 (2 's) (4 good)))`: every node is `(label ...)`, leaves are `(label word)`.
Trees from users may carry constituent tags instead of labels (`(S (NP the film) (VP rocks))`), bare
words as children, unary chains and nodes with more than two children; `binarize` turns any of these
into the binary form the model composes: unary chains are collapsed and wider nodes branch to the right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# ASCII whitespace only: a few SST tokens hold a no-break space (e.g. "8\u00a01\/2").
TOKEN = re.compile(r"\(|\)|[^ \t\n\r\f\v()]+")
# PTB escapes for characters that would break the bracketing, and back.
PTB_ESCAPES = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}


class TreeSyntaxError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at character {position}")
        self.position = position


@dataclass
class Tree:
    label: str | None  # SST: "0".."4"; user trees: a tag like "NP", or None
    children: list[Tree] = field(default_factory=list)
    word: str | None = None  # leaves only

    @property
    def is_leaf(self) -> bool:
        return self.word is not None

    def leaves(self) -> list[str]:
        return [self.word] if self.word is not None else [w for c in self.children for w in c.leaves()]

    def nodes(self) -> list[Tree]:
        """Post-order: children before parents, so a node's inputs are computed before it."""
        return [n for c in self.children for n in c.nodes()] + [self]

    def spans(self, start: int = 0) -> list[tuple[int, int]]:
        """(start, end) word spans of every node, post-order, matching nodes()."""
        out: list[tuple[int, int]] = []
        pos = start
        for c in self.children:
            out += c.spans(pos)
            pos = out[-1][1]
        return [*out, (start, start + 1 if self.is_leaf else pos)]

    def to_ptb(self) -> str:
        label = self.label if self.label is not None else "X"
        if self.word is not None:
            return f"({label} {self.word})"
        return f"({label} {' '.join(c.to_ptb() for c in self.children)})"


def parse_ptb(text: str, max_depth: int = 500) -> Tree:
    """One bracketed tree. Raises TreeSyntaxError naming the character position of the first problem."""
    tokens = [(m.group(), m.start()) for m in TOKEN.finditer(text)]
    if not tokens:
        raise TreeSyntaxError("empty tree", 0)
    tree, k = _node(tokens, 0, 0, max_depth)
    if k != len(tokens):
        raise TreeSyntaxError(f"unexpected {tokens[k][0]!r} after the end of the tree", tokens[k][1])
    return tree


def _node(tokens: list[tuple[str, int]], k: int, depth: int, max_depth: int) -> tuple[Tree, int]:
    tok, pos = tokens[k]
    if tok != "(":
        raise TreeSyntaxError(f"expected '(' but found {tok!r}", pos)
    if depth >= max_depth:
        raise TreeSyntaxError(f"tree nested deeper than {max_depth} levels", pos)
    k += 1
    label = None
    if k < len(tokens) and tokens[k][0] not in "()" and k + 1 < len(tokens) and tokens[k + 1][0] != ")":
        label, k = tokens[k][0], k + 1  # "(label child ...)"; "(word)" alone is a bare leaf
    children: list[Tree] = []
    while True:
        if k >= len(tokens):
            raise TreeSyntaxError("unbalanced brackets: a '(' is never closed", tokens[-1][1] + len(tokens[-1][0]))
        tok = tokens[k][0]
        if tok == ")":
            break
        if tok == "(":
            child, k = _node(tokens, k, depth + 1, max_depth)
            children.append(child)
        else:
            children.append(Tree(None, word=PTB_ESCAPES.get(tok, tok)))
            k += 1
    if not children:
        raise TreeSyntaxError("empty brackets '()'", pos)
    if len(children) == 1 and children[0].is_leaf:  # "(label word)": a labelled leaf
        return Tree(label, word=children[0].word), k + 1
    return Tree(label, children), k + 1


def binarize(tree: Tree) -> Tree:
    """Collapse unary chains (keeping the top label) and split wider nodes to the right."""
    if tree.is_leaf:
        return tree
    children = [binarize(c) for c in tree.children]
    if len(children) == 1:
        only = children[0]
        return Tree(tree.label if tree.label is not None else only.label, only.children, only.word)
    while len(children) > 2:
        children = [*children[:-2], Tree(None, children[-2:])]
    return Tree(tree.label, children)


def heights(tree: Tree) -> list[int]:
    """Height of every node in post-order (leaves 0): nodes of equal height can be computed together."""
    out: list[int] = []

    def visit(t: Tree) -> int:
        h = 0 if t.is_leaf else 1 + max(visit(c) for c in t.children)
        out.append(h)
        return h

    visit(tree)
    return out


def read_trees(path: str) -> list[Tree]:
    with open(path, encoding="utf-8") as f:
        return [parse_ptb(line) for line in f if line.strip()]
