"""SST accuracies as Socher et al. (2013) report them.

- fine-grained: 5-way argmax, at the root and over all nodes (every phrase, words included);
- binary: only nodes whose gold label is not neutral (2); the prediction is positive when
  p(positive) + p(very positive) > p(negative) + p(very negative), i.e. neutral is never predicted.
"""

from __future__ import annotations

import numpy as np


def accuracies(probs: list[np.ndarray], gold: list[list[int]]) -> dict[str, float]:
    """probs: per tree (nodes, 5) in post-order (the root last); gold: labels in the same order. Percent."""
    p = np.concatenate(probs)
    g = np.concatenate([np.asarray(x) for x in gold])
    root_p = np.stack([x[-1] for x in probs])
    root_g = np.array([x[-1] for x in gold])

    def binary(pp: np.ndarray, gg: np.ndarray) -> float:
        keep = gg != 2
        pos = pp[keep, 3:].sum(1) > pp[keep, :2].sum(1)
        return round(100 * float(np.mean(pos == (gg[keep] > 2))), 2)

    return {
        "fine_root": round(100 * float(np.mean(root_p.argmax(1) == root_g)), 2),
        "fine_all": round(100 * float(np.mean(p.argmax(1) == g)), 2),
        "binary_root": binary(root_p, root_g),
        "binary_all": binary(p, g),
    }
