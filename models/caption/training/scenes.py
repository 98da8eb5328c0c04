"""Synthetic scenes for the grounded captioning model: colored shapes and handwritten digits at random places.

Each scene is a 96x96 RGB image of 1-3 objects on a noisy dark background; its caption names the objects
from left to right ("a red circle , a blue seven and a green square"), and every object's box is known.
So the attention for the words "red" and "circle" can be checked against where the red circle is: the
share of object words whose attention peak falls inside the object's box is the grounding score.

Digits are scikit-learn's bundled handwritten digits (1,797 8x8 scans, no download). Scenes for training
use four fifths of them; dev and evaluation scenes use the other fifth, so the model reads unseen writing.
Scenes are a pure function of (seed, index): the same call always draws the same scene.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SIZE = 96  # pixels per side
COLORS = {"red": (220, 45, 45), "green": (50, 190, 70), "blue": (60, 100, 235), "yellow": (230, 210, 50),
          "purple": (165, 70, 210)}  # fmt: skip
SHAPES = ("circle", "square", "triangle")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
MAX_OBJECTS = 3
WORDS = ("a", "and", *COLORS, *SHAPES, *DIGITS)
OBJECT_WORDS = frozenset((*COLORS, *SHAPES, *DIGITS))


@dataclass(frozen=True)
class SceneObject:
    color: str
    kind: str  # a shape name or a digit word
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, inclusive-exclusive

    @property
    def words(self) -> tuple[str, str]:
        return self.color, self.kind


@dataclass(frozen=True)
class Scene:
    image: np.ndarray  # (SIZE, SIZE, 3) uint8
    objects: tuple[SceneObject, ...]  # left to right

    @property
    def caption(self) -> str:
        phrases = [f"a {o.color} {o.kind}" for o in self.objects]
        return phrases[0] if len(phrases) == 1 else " , ".join(phrases[:-1]) + " and " + phrases[-1]


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # bundled with scikit-learn: read from its package data

    d = load_digits()
    return d.images.astype(np.float32) / 16.0, d.target


def digit_pool(split: str) -> np.ndarray:
    """Indices of the digit scans a split may draw: train = 4 of every 5, eval = the fifth."""
    idx = np.arange(len(_digits()[1]))
    return idx[idx % 5 != 0] if split == "train" else idx[idx % 5 == 0]


def _shape_mask(kind: str, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    c = size / 2
    if kind == "circle":
        return (xx - c) ** 2 + (yy - c) ** 2 <= c**2
    if kind == "square":
        return np.ones((size, size), dtype=bool)
    # triangle: apex at the top centre, base along the bottom
    return (yy >= 0) & (np.abs(xx - c) <= yy / 2)


def _digit_mask(scan: np.ndarray, size: int) -> np.ndarray:
    # Nearest-neighbour upscale of the 8x8 scan, then a soft mask (ink strength 0-1).
    rows = (np.arange(size) * 8 // size).clip(0, 7)
    return scan[np.ix_(rows, rows)]


def _place(rng: np.random.Generator, sizes: list[int]) -> list[tuple[int, int]] | None:
    """Top-left corners for boxes of these sizes: inside the image, 3 px apart, centres 6 px apart in x."""
    corners: list[tuple[int, int]] = []
    for s in sizes:
        for _ in range(50):
            x, y = int(rng.integers(0, SIZE - s + 1)), int(rng.integers(0, SIZE - s + 1))
            clear = all(
                x + s + 3 <= cx or cx + cs + 3 <= x or y + s + 3 <= cy or cy + cs + 3 <= y
                for (cx, cy), cs in zip(corners, sizes, strict=False)
            )
            apart = all(abs((x + s / 2) - (cx + cs / 2)) >= 6 for (cx, cy), cs in zip(corners, sizes, strict=False))
            if clear and apart:
                corners.append((x, y))
                break
        else:
            return None
    return corners


def make_scene(seed: int, index: int, split: str = "train") -> Scene:
    rng = np.random.default_rng([seed, index])
    scans, labels = _digits()
    pool = digit_pool(split)
    while True:
        n = int(rng.integers(1, MAX_OBJECTS + 1))
        kinds = [str(rng.choice([*SHAPES, "digit"])) for _ in range(n)]
        sizes = [int(rng.integers(22, 31)) if k == "digit" else int(rng.integers(16, 27)) for k in kinds]
        corners = _place(rng, sizes)
        if corners is not None:
            break
    image = rng.integers(0, 45, size=(SIZE, SIZE, 3)).astype(np.float32)  # noisy dark background
    objects = []
    for kind, s, (x, y) in zip(kinds, sizes, corners, strict=True):
        color = str(rng.choice(list(COLORS)))
        if kind == "digit":
            scan = int(rng.choice(pool))
            ink, kind = _digit_mask(scans[scan], s), DIGITS[labels[scan]]
        else:
            ink = _shape_mask(kind, s).astype(np.float32)
        rgb = np.array(COLORS[color], dtype=np.float32) * rng.uniform(0.8, 1.0)
        patch = image[y : y + s, x : x + s]
        patch[:] = patch * (1 - ink[..., None]) + rgb * ink[..., None]
        objects.append(SceneObject(color, kind, (x, y, x + s, y + s)))
    objects.sort(key=lambda o: (o.box[0] + o.box[2]) / 2)
    return Scene(image.clip(0, 255).astype(np.uint8), tuple(objects))


def object_spans(words: list[str]) -> list[tuple[int, int]] | None:
    """Positions of each object's (color, kind) word pair in a tokenized caption, in order; None if the
    caption does not have the "a <color> <kind>" shape (then its words cannot be matched to objects)."""
    spans = []
    for i, w in enumerate(words):
        if w in COLORS and i + 1 < len(words) and words[i + 1] in (*SHAPES, *DIGITS):
            spans.append((i, i + 1))
    return spans or None


def main() -> None:
    """python -m models.caption.training.scenes OUT.png [--seed S] [--index K]: write one scene, print its caption."""
    import argparse
    import json

    from PIL import Image

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--index", type=int, default=0)
    p.add_argument("--split", choices=["train", "eval"], default="eval")
    args = p.parse_args()
    scene = make_scene(args.seed, args.index, args.split)
    Image.fromarray(scene.image).save(args.out)
    print(json.dumps({"caption": scene.caption, "boxes": {" ".join(o.words): o.box for o in scene.objects}}))


if __name__ == "__main__":
    main()
