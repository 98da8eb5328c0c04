"""bAbI 1k English (tasks 1-20): stories, questions and answers, and the batches the memory network trains on.

`<data-dir>/babi/tasks_1-20_v1-2/en/qa{N}_*_{train,test}.txt` (see ../shared/data/babi/SOURCE.md; elsewhere,
get `tasks_1-20_v1-2.tar.gz` from the bAbI project page and unpack it under <data-dir>/babi/). A story is every
statement line since its last `1 ...` line; questions are not part of the memory. Validation: 10% of each
task's train questions, chosen with a seed (whole stories are not held out: bAbI stories carry several
questions, and the paper holds out questions).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.qa.text import PAD, UNK, Vocab, Vocabularies, words

TASKS = range(1, 21)


@dataclass(frozen=True)
class Example:
    task: int
    story: list[list[str]]  # statements before the question, oldest first
    question: list[str]
    answer: str


def task_file(data_dir: Path, task: int, split: str) -> Path:
    (path,) = (data_dir / "babi" / "tasks_1-20_v1-2" / "en").glob(f"qa{task}_*_{split}.txt")
    return path


def parse(path: Path, task: int) -> list[Example]:
    out: list[Example] = []
    story: list[list[str]] = []
    for line in path.read_text().splitlines():
        number, text = line.split(" ", 1)
        if number == "1":
            story = []
        if "\t" in text:
            question, answer, _ = text.split("\t")
            out.append(Example(task, list(story), words(question), answer))
        else:
            story.append(words(text))
    return out


def splits(data_dir: Path, seed: int = 1) -> dict[str, list[Example]]:
    """train / val (10% of each task's train questions) / test, all 20 tasks."""
    out: dict[str, list[Example]] = {"train": [], "val": [], "test": []}
    for task in TASKS:
        train = parse(task_file(data_dir, task, "train"), task)
        order = list(range(len(train)))
        random.Random(seed * 100 + task).shuffle(order)
        n_val = len(train) // 10
        out["val"] += [train[i] for i in sorted(order[:n_val])]
        out["train"] += [train[i] for i in sorted(order[n_val:])]
        out["test"] += parse(task_file(data_dir, task, "test"), task)
    return out


def vocabularies(train: list[Example]) -> Vocabularies:
    """From the training questions only (sorted: the same on every machine)."""
    seen = {w for ex in train for s in [*ex.story, ex.question] for w in s}
    return Vocabularies(Vocab([PAD, UNK, *sorted(seen)]), sorted({ex.answer for ex in train}))


def arrays(examples: list[Example], vocab: Vocabularies, memory: int, sentence: int) -> dict[str, np.ndarray]:
    """story (n, memory, sentence) word ids of the most recent `memory` statements, newest first; question
    (n, sentence); answer (n,) class (-1 if not a training answer)."""
    n = len(examples)
    story = np.zeros((n, memory, sentence), dtype=np.int64)
    question = np.zeros((n, sentence), dtype=np.int64)
    answers = {a: i for i, a in enumerate(vocab.answers)}
    answer = np.array([answers.get(ex.answer, -1) for ex in examples], dtype=np.int64)
    for i, ex in enumerate(examples):
        for slot, s in enumerate(reversed(ex.story[-memory:])):
            ids = vocab.words.ids(s)[:sentence]
            story[i, slot, : len(ids)] = ids
        q = vocab.words.ids(ex.question)[:sentence]
        question[i, : len(q)] = q
    return {"story": story, "question": question, "answer": answer}
