"""The special symbols and their ids: the one place they are defined.

Every sequence vocabulary here (translation source and target, speech characters, caption words) starts
with the same four symbols, so the shared beam search (models/beam.py) knows where a sequence starts and
ends whatever the task. The sentiment word vocabulary marks no sequences: it starts with <unk> alone.
"""

from __future__ import annotations

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)  # the first four entries of every sequence vocabulary, in this order
PAD_ID, UNK_ID, BOS_ID, EOS_ID = range(4)

WORD_UNK_ID = 0  # sentiment's word vocabulary: <unk>, then the words
