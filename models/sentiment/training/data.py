"""SST splits and the gold labels of every node, in the order the model reads nodes."""

from __future__ import annotations

from pathlib import Path

from models.sentiment.trees import Tree, read_trees


def read_split(data_dir: Path, split: str) -> list[Tree]:
    return read_trees(str(data_dir / "sst" / "trees" / f"{split}.txt"))


def node_labels(tree: Tree) -> list[int]:
    """Gold labels of every node, post-order (as Tree.nodes())."""
    return [int(n.label) for n in tree.nodes()]  # type: ignore[arg-type]
