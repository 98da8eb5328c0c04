"""Caption files and splits for the photo captioning model.

`read_captions` takes the caption files users have, detected from their content:
- CSV with a header `image,caption` (the Flickr8k subset in ../shared/data/flickr8k_mini);
- Flickr8k's `Flickr8k.token.txt`: `<image>#<n><TAB><caption>`;
- Flickr30k's `results.csv`: `image_name| comment_number| comment`;
- COCO's `captions_*.json`: `images` (id, file_name) and `annotations` (image_id, caption).
Every format becomes {image file name: [captions]}, so training on more data means pointing at a bigger file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from models.tokens import BOS, EOS, PAD, UNK

TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(caption: str) -> list[str]:
    """Lower-case words and numbers; punctuation is dropped (captions are scored without it)."""
    return TOKEN.findall(caption.lower())


def _csv(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        out.setdefault(row["image"].strip(), []).append(row["caption"].strip())
    return out


def _flickr8k_tokens(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip():
            key, caption = line.split("\t", 1)
            out.setdefault(key.split("#", 1)[0], []).append(caption.strip())
    return out


def _flickr30k(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines()[1:]:
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2]:
            out.setdefault(parts[0], []).append(parts[2])
    return out


def _coco(text: str) -> dict[str, list[str]]:
    data = json.loads(text)
    names = {img["id"]: img["file_name"] for img in data["images"]}
    out: dict[str, list[str]] = {}
    for ann in data["annotations"]:
        out.setdefault(names[ann["image_id"]], []).append(ann["caption"].strip())
    return out


def read_captions(path: Path) -> dict[str, list[str]]:
    text = path.read_text(encoding="utf-8")
    head = text.lstrip()[:200]
    if head.startswith("{"):
        return _coco(text)
    first = head.splitlines()[0] if head else ""
    if first.replace(" ", "").startswith("image_name|"):
        return _flickr30k(text)
    if "\t" in first and "#" in first.split("\t", 1)[0]:
        return _flickr8k_tokens(text)
    if first.startswith("image,caption"):
        return _csv(text)
    raise ValueError(f"{path}: not a caption file this reader knows (CSV image,caption; Flickr8k token; Flickr30k; COCO)")


def read_split(split_file: Path, images: Path) -> list[str]:
    """Image names listed in a split file that exist in `images` (the subset holds only some of them)."""
    names = [n.strip() for n in split_file.read_text(encoding="utf-8").splitlines() if n.strip()]
    return [n for n in names if (images / n).exists()]


def build_vocab(captions: list[str], min_freq: int) -> list[str]:
    """Specials, then words seen at least min_freq times, most frequent first (ties by the word)."""
    counts = Counter(w for c in captions for w in tokenize(c))
    words = sorted((w for w, n in counts.items() if n >= min_freq), key=lambda w: (-counts[w], w))
    return [PAD, UNK, BOS, EOS, *words]


@dataclass(frozen=True)
class PhotoData:
    """Where a photo caption set lives; defaults are the Flickr8k subset in the shared data folder."""

    captions: Path  # any format read_captions knows
    images: Path  # folder of the image files the captions name
    train_list: Path | None  # split files (one image name per line); both None = a fixed 95/5 split
    dev_list: Path | None

    @classmethod
    def flickr8k_mini(cls, data_dir: Path) -> PhotoData:
        root = data_dir / "flickr8k_mini"
        return cls(root / "captions.txt", root / "images", root / "splits" / "Flickr_8k.trainImages.txt",
                   root / "splits" / "Flickr_8k.devImages.txt")  # fmt: skip

    def split(self, which: str) -> tuple[list[str], dict[str, list[str]]]:
        """Image names of a split (sorted) and their captions; images without captions are left out.
        Without split lists (COCO or Flickr30k caption files come without them), every 20th captioned
        image, in name order, is dev and the rest is train."""
        captions = read_captions(self.captions)
        present = sorted(n for n in captions if (self.images / n).exists())
        if self.train_list is None and self.dev_list is None:
            dev = set(present[::20])
            names = [n for n in present if (n in dev) == (which == "dev")]
        else:
            listed = self.train_list if which == "train" else self.dev_list
            if listed is None:
                raise ValueError(f"no {which} list given: pass --{which}-list (or neither list)")
            names = sorted(n for n in read_split(listed, self.images) if n in captions)
        if not names:
            raise ValueError(f"no {which} images are both in {self.images} and in {self.captions}")
        return names, {n: captions[n] for n in names}


def encode(words: list[str], index: dict[str, int], unk: int = 1) -> list[int]:
    return [index.get(w, unk) for w in words]
