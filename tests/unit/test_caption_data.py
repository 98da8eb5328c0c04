"""Caption files in every format the trainer takes, splits, tokenization and vocabulary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.caption.training.data import BOS, EOS, PAD, UNK, build_vocab, read_captions, read_split, tokenize
from models.training.paths import default_data_dir

WANT = {"a.jpg": ["A dog runs .", "A brown dog, running."], "b.jpg": ["Two kids play ."]}


COCO = {
    "images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"}],
    "annotations": [
        {"image_id": 1, "caption": "A dog runs ."},
        {"image_id": 1, "caption": "A brown dog, running."},
        {"image_id": 2, "caption": "Two kids play ."},
    ],
}
FORMATS = [
    ("captions.txt", 'image,caption\na.jpg,A dog runs .\na.jpg,"A brown dog, running."\nb.jpg,Two kids play .\n'),
    ("Flickr8k.token.txt", "a.jpg#0\tA dog runs .\na.jpg#1\tA brown dog, running.\nb.jpg#0\tTwo kids play .\n"),
    (
        "results.csv",
        "image_name| comment_number| comment\n"
        "a.jpg| 0| A dog runs .\na.jpg| 1| A brown dog, running.\nb.jpg| 0| Two kids play .\n",
    ),
    ("captions_val.json", json.dumps(COCO)),
]


@pytest.mark.parametrize(("name", "text"), FORMATS)
def test_every_caption_format_reads_the_same(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert read_captions(path) == WANT


def test_unknown_format_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hello\n")
    with pytest.raises(ValueError, match="not a caption file"):
        read_captions(tmp_path / "x.txt")


def test_tokenize_and_vocab() -> None:
    assert tokenize("A dog's ball, 2 kids!") == ["a", "dog's", "ball", "2", "kids"]
    vocab = build_vocab(["a dog", "a cat", "the dog"], min_freq=2)
    assert vocab == [PAD, UNK, BOS, EOS, "a", "dog"]


@pytest.mark.skipif(not (default_data_dir() / "flickr8k_mini").exists(), reason="Flickr8k subset not present")
def test_flickr8k_mini_splits() -> None:
    root = default_data_dir() / "flickr8k_mini"
    caps = read_captions(root / "captions.txt")
    train = read_split(root / "splits" / "Flickr_8k.trainImages.txt", root / "images")
    dev = read_split(root / "splits" / "Flickr_8k.devImages.txt", root / "images")
    # 1,000 images in SOURCE.md; the 125 test images are held back (../shared/holdout), captions included
    assert (len(caps), len(train), len(dev)) == (875, 753, 113) and not set(train) & set(dev)
    assert all(len(caps[n]) == 5 for n in train + dev)
