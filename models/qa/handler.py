"""QA handler: story and question -> word ids (the most recent sentences, newest first) -> the memory network
-> the answer, its candidates and each hop's attention over the story's sentences."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.qa.schemas import Candidate, Hop, QARequest, QAResponse
from models.qa.settings import QASettings
from models.qa.text import Vocabularies, words
from service.engine.handler import Handler
from service.engine.runtimes import Runtime
from service.errors import InvalidInput
from service.v2 import Tensor, one_text, texts

TOP = 5


@dataclass(frozen=True)
class QAItem:
    story: list[list[int]]  # word ids of the sentences read, newest first
    question: list[int]
    unknown: list[str]
    total: int  # sentences in the request


class QAHandler(Handler[QARequest, QAItem, tuple[np.ndarray, np.ndarray], QAResponse]):
    graphs = ("answer",)
    v2_inputs = (Tensor("STORY", "BYTES", (-1,)), Tensor("QUESTION", "BYTES", (1,)))  # sentences, oldest first
    v2_outputs = (Tensor("ANSWER", "BYTES", (1,)),)
    settings: QASettings

    def load(self, runtime: Runtime) -> None:
        super().load(runtime)
        self.vocab = Vocabularies.from_json((self.model_dir / "vocab.json").read_text())

    def _words(self, text: str, where: str) -> list[str]:
        tokens = words(text)
        if not tokens:
            raise InvalidInput(f"{where}: no words")
        if len(tokens) > self.settings.max_words:
            raise InvalidInput(f"{where}: {len(tokens)} words is more than this server's limit of {self.settings.max_words}")
        return tokens

    def decode(self, req: QARequest) -> list[QAItem]:
        s = self.settings
        if len(req.story) > s.max_sentences:
            raise InvalidInput(f"story: {len(req.story)} sentences is more than this server's limit of {s.max_sentences}")
        sentences = [self._words(text, f"story.{i}") for i, text in enumerate(req.story)]
        question = self._words(req.question, "question")
        read = sentences[-s.memory :]
        known = self.vocab.words.stoi
        unknown = list(dict.fromkeys(w for tokens in [*read, question] for w in tokens if w not in known))
        ids = self.vocab.words.ids
        return [QAItem([ids(t) for t in reversed(read)], ids(question), unknown, len(sentences))]

    def example(self) -> QAItem:
        ids = self.vocab.words.ids
        story = [ids(words("Mary moved to the bathroom.")), ids(words("John went to the hallway."))]
        return QAItem(story[::-1], ids(words("Where is Mary?")), [], 2)

    def predict(self, items: list[QAItem]) -> list[tuple[np.ndarray, np.ndarray]]:
        assert self.runtime is not None
        slots = max(len(it.story) for it in items)
        width = max(max(len(s) for s in [*it.story, it.question]) for it in items)
        story = np.zeros((len(items), slots, width), dtype=np.int64)
        question = np.zeros((len(items), width), dtype=np.int64)
        for b, it in enumerate(items):
            for k, s in enumerate(it.story):
                story[b, k, : len(s)] = s
            question[b, : len(it.question)] = it.question
        probs, hops = self.runtime.run("answer", {"story": story, "question": question})
        return [(probs[b], hops[b, :, : len(it.story)]) for b, it in enumerate(items)]

    def encode(self, req: QARequest, items: list[QAItem], outputs: list[tuple[np.ndarray, np.ndarray]]) -> QAResponse:
        (item,), ((probs, hops),) = items, outputs
        best = np.argsort(-probs, kind="stable")[:TOP]
        used = len(item.story)
        # slot k holds sentence total - 1 - k (newest first); dropped sentences had no weight
        in_order = np.zeros((hops.shape[0], item.total))
        in_order[:, item.total - used :] = hops[:, ::-1]
        return QAResponse(
            answer=self.vocab.answers[int(best[0])],
            candidates=[Candidate(answer=self.vocab.answers[int(i)], prob=round(float(probs[i]), 5)) for i in best],
            hops=[Hop(weights=h.round(5).tolist()) for h in in_order],
            unknown_words=item.unknown,
            sentences_used=used,
            sentences_dropped=item.total - used,
            model=self.name,
            version=self.version,
        )

    def v2_request(self, tensors: dict[str, np.ndarray]) -> QARequest:
        return QARequest(story=texts(tensors, "STORY"), question=one_text(tensors, "QUESTION"))

    def v2_response(self, response: QAResponse) -> dict[str, np.ndarray]:
        return {"ANSWER": np.array([response.answer.encode()], dtype=np.object_)}
