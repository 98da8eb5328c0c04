"""The character vocabulary the speller writes: the special symbols, then space, apostrophe and a-z."""

from __future__ import annotations

from models.tokens import EOS_ID, SPECIALS, UNK_ID

CHARS = [*SPECIALS, " ", "'", *"abcdefghijklmnopqrstuvwxyz"]
CHAR_IDS = {c: i for i, c in enumerate(CHARS)}


def encode_text(text: str) -> list[int]:
    """Character ids (no <s>/</s>); characters outside the alphabet become <unk>."""
    return [CHAR_IDS.get(c, UNK_ID) for c in text]


def decode_ids(ids: list[int]) -> str:
    """The text of character ids; special symbols are left out."""
    return "".join(CHARS[i] for i in ids if i > EOS_ID)
