"""Multi30k task 1 pairs: reading, tokenizing, and length-bucketed batches with copy targets."""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.tokens import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from models.translate.subwords import Subwords
from models.translate.vocab import Vocab, extend, tokenize

SPLITS = {"train": "train", "val": "val", "test2016": "test_2016_flickr"}


def read_split(data_dir: Path, split: str) -> tuple[list[str], list[str]]:
    """(german, english) sentences of a split; raises a clear error when the files are missing."""
    raw = data_dir / "multi30k" / "task1" / "raw"
    name = SPLITS[split]
    paths = [raw / f"{name}.{lang}.gz" for lang in ("de", "en")]
    for p in paths:
        if not p.exists():
            raise FileNotFoundError(f"{p} not found: pass --data-dir (see models/translate/MODEL_CARD.md, 'Data')")
    de, en = (_lines(p) for p in paths)
    if len(de) != len(en):
        raise ValueError(f"{split}: {len(de)} German lines but {len(en)} English lines")
    return de, en


def _lines(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [ln.rstrip("\n") for ln in f]


@dataclass
class Example:
    src: list[str]
    tgt: list[str]


def tokenized(data_dir: Path, split: str, max_len: int | None = None, targets: Path | None = None) -> list[Example]:
    """A split's pairs as words; `targets` (one line of space-separated English words per pair, from
    distill.py) replaces the references, except on its empty lines."""
    de, en = read_split(data_dir, split)
    pairs = [Example(tokenize(d, "de"), tokenize(e, "en")) for d, e in zip(de, en, strict=True)]
    if targets is not None:
        pairs = with_targets(pairs, targets.read_text(encoding="utf-8").splitlines())
    if max_len is not None:
        pairs = [p for p in pairs if len(p.src) <= max_len and len(p.tgt) <= max_len]
    return pairs


def with_targets(pairs: list[Example], lines: list[str]) -> list[Example]:
    """The pairs with each reference replaced by the same line's words, where that line is not empty."""
    if len(lines) != len(pairs):
        raise ValueError(f"--targets has {len(lines)} lines for {len(pairs)} training pairs: finish distill.py first")
    return [Example(p.src, line.split()) if line.strip() else p for p, line in zip(pairs, lines, strict=True)]


def segmented(examples: list[Example], subwords: Subwords | None) -> list[Example]:
    """The examples cut into subword pieces (unchanged for a word-level model). Copy augmentation runs on
    words first (inject_names), so the names it invents are cut like any other word."""
    if subwords is None:
        return examples
    return [Example(subwords.split(e.src), subwords.split(e.tgt)) for e in examples]


SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def pseudo_word(rng: random.Random, like: str) -> str:
    """A made-up name (or number, when `like` is one) that no vocabulary holds."""
    if like.isdigit():
        return str(rng.randint(10, 99999))
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize() + rng.choice(["", "n", "s", "k"])


# Where a made-up name reads naturally in both languages: after a person or animal noun ("ein Mann namens
# X" / "a man named X", "aus X" / "from X"), or appended at the end ("in X", "mit der Nummer N").
NOUNS = {"Mann": "man", "Frau": "woman", "Junge": "boy", "Mädchen": "girl", "Hund": "dog", "Kind": "child",
         "Person": "person", "Arbeiter": "worker", "Spieler": "player", "Sänger": "singer", "Musiker": "musician",
         "Läufer": "runner", "Tänzer": "dancer", "Künstler": "artist", "Koch": "chef", "Verkäufer": "vendor"}  # fmt: skip
AFTER_NOUN = [(["namens"], ["named"], "Name"), (["aus"], ["from"], "Name")]
# ...or as the subject, in place of the noun phrase that opens both sentences ("Ein Mann spielt" /
# "A man plays" -> "X spielt" / "X plays"; "Zwei Männer" / "Two men" -> "X und Y" / "X and Y").
SUBJECTS = {("Ein", "Mann"): ("A", "man"), ("Eine", "Frau"): ("A", "woman"), ("Ein", "Junge"): ("A", "boy"),
            ("Ein", "Mädchen"): ("A", "girl"), ("Ein", "Hund"): ("A", "dog"), ("Ein", "Kind"): ("A", "child"),
            ("Zwei", "Männer"): ("Two", "men"), ("Zwei", "Frauen"): ("Two", "women"),
            ("Zwei", "Hunde"): ("Two", "dogs")}  # fmt: skip
AT_END = [(["in"], ["in"], "Name"), (["mit", "der", "Nummer"], ["with", "the", "number"], "0")]


def _name(rng: random.Random, like: str) -> list[str]:
    """One to three made-up words (one number when `like` is a digit)."""
    return [pseudo_word(rng, like) for _ in range(1 if like.isdigit() else rng.choice([1, 1, 2, 2, 3]))]


def _insert_name(src: list[str], tgt: list[str], rng: random.Random) -> tuple[list[str], list[str]]:
    """Insert one made-up name (or number) on both sides, at a place chosen at random among those that fit."""
    options = []
    if SUBJECTS.get(tuple(src[:2])) == tuple(tgt[:2]):
        if src[1] in ("Männer", "Frauen", "Hunde"):
            a, b = _name(rng, "Name")[:1], _name(rng, "Name")[:1]
            options.append(([*a, "und", *b, *src[2:]], [*a, "and", *b, *tgt[2:]]))
        else:
            name = _name(rng, "Name")
            options.append(([*name, *src[2:]], [*name, *tgt[2:]]))
    nouns = [(i, tgt.index(NOUNS[w])) for i, w in enumerate(src) if w in NOUNS and src.count(w) == 1
             and tgt.count(NOUNS[w]) == 1]  # fmt: skip
    if nouns:
        (i, j), (de, en, like) = rng.choice(nouns), rng.choice(AFTER_NOUN)
        name = _name(rng, like)
        options.append(([*src[: i + 1], *de, *name, *src[i + 1 :]], [*tgt[: j + 1], *en, *name, *tgt[j + 1 :]]))
    if src[-1:] == tgt[-1:] == ["."]:
        de, en, like = rng.choice(AT_END)
        name = _name(rng, like)
        options.append(([*src[:-1], *de, *name, "."], [*tgt[:-1], *en, *name, "."]))
    return rng.choice(options) if options else (src, tgt)


def inject_names(examples: list[Example], prob: float, seed: int, append_prob: float = 0.0) -> list[Example]:
    """Copy augmentation: made-up names and numbers on both sides, which the decoder can only copy.

    - A word written identically in the German and the English (capitalized mid-sentence, or digits) is
      almost always a name or a number; with probability `prob` it is swapped, on both sides, for an
      invented one.
    - With probability `append_prob`, a made-up name of one to three words (or a number) is inserted on
      both sides where it reads naturally (see NOUNS, AFTER_NOUN, SUBJECTS, AT_END).
    Invented words are <unk> to the encoder and copy targets for the decoder: the training signal the copy
    switch needs, which Multi30k alone gives only a few hundred times per epoch.
    """
    rng = random.Random(seed)
    out = []
    for e in examples:
        shared = {w for w in e.src if (w.isdigit() or w[:1].isupper()) and w in e.tgt[1:]}
        swap = {w: pseudo_word(rng, w) for w in sorted(shared) if rng.random() < prob}
        src, tgt = [swap.get(w, w) for w in e.src], [swap.get(w, w) for w in e.tgt]
        if rng.random() < append_prob:
            src, tgt = _insert_name(src, tgt, rng)
        out.append(Example(src, tgt) if (src, tgt) != (e.src, e.tgt) else e)
    return out


@dataclass
class Batch:
    src: np.ndarray  # (B, S) source vocab ids, PAD after each sentence
    src_len: np.ndarray  # (B,)
    src_ext: np.ndarray  # (B, S) ids in the target's extended vocabulary (copy targets)
    tgt_in: np.ndarray  # (B, T) <s> + target ids (OOV -> <unk>): decoder inputs
    tgt_out: np.ndarray  # (B, T) target extended ids + </s>: what the model must predict
    n_oov: int  # widest extended vocabulary in the batch, beyond len(tgt_vocab)


def make_batch(examples: list[Example], src_vocab: Vocab, tgt_vocab: Vocab) -> Batch:
    b = len(examples)
    s = max(len(e.src) for e in examples)
    t = max(len(e.tgt) for e in examples) + 1
    src = np.full((b, s), PAD_ID, dtype=np.int64)
    src_ext = np.full((b, s), PAD_ID, dtype=np.int64)
    tgt_in = np.full((b, t), PAD_ID, dtype=np.int64)
    tgt_out = np.full((b, t), PAD_ID, dtype=np.int64)
    n_oov = 0
    for i, e in enumerate(examples):
        ext, oovs = extend(e.src, tgt_vocab)
        n_oov = max(n_oov, len(oovs))
        src[i, : len(e.src)] = src_vocab.ids(e.src)
        src_ext[i, : len(e.src)] = ext
        ids = tgt_vocab.ids(e.tgt)
        tgt_in[i, : len(ids) + 1] = [BOS_ID, *ids]
        # A target word outside the vocabulary that appears in the source is learnable by copying.
        out = [len(tgt_vocab) + oovs.index(w) if (x == UNK_ID and w in oovs) else x for w, x in zip(e.tgt, ids, strict=True)]
        tgt_out[i, : len(out) + 1] = [*out, EOS_ID]
    lengths = np.array([len(e.src) for e in examples], dtype=np.int64)
    return Batch(src, lengths, src_ext, tgt_in, tgt_out, n_oov)


def example_groups(examples: list[Example], max_tokens: int, seed: int | None) -> list[list[int]]:
    """Indices of examples, grouped into batches of similar length (little padding) holding about
    `max_tokens` target tokens each. With a seed, the order of examples within length buckets and of
    batches is shuffled reproducibly."""
    rng = random.Random(seed)
    order = list(range(len(examples)))
    if seed is not None:
        rng.shuffle(order)
    order.sort(key=lambda i: (len(examples[i].src), len(examples[i].tgt)))  # stable: shuffled within a length
    groups: list[list[int]] = [[]]
    for i in order:
        width = max(len(examples[j].tgt) for j in [*groups[-1], i]) + 1
        if groups[-1] and width * (len(groups[-1]) + 1) > max_tokens:
            groups.append([])
        groups[-1].append(i)
    if seed is not None:
        rng.shuffle(groups)
    return groups


def batches(examples: list[Example], src_vocab: Vocab, tgt_vocab: Vocab, max_tokens: int, seed: int | None) -> Iterator[Batch]:
    """The batches of `example_groups`, as arrays."""
    for g in example_groups(examples, max_tokens, seed):
        yield make_batch([examples[i] for i in g], src_vocab, tgt_vocab)
