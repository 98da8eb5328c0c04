"""Translate handler: text -> Moses tokens -> ids (+ copy ids) -> batched beam search -> text + alignment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.beam import Encoded, Hypothesis, SearchQuery
from models.tokens import UNK_ID
from models.translate import search
from models.translate.schemas import TextTranslation, TranslateRequest, TranslateResponse, Translation
from models.translate.search import TranslateQuery
from models.translate.settings import TranslateSettings
from models.translate.vocab import Vocab, detokenize, extend, tokenize
from service.engine.handler import BeamSearchHandler, check_beam
from service.engine.runtimes import Runtime
from service.errors import InvalidInput
from service.v2 import Tensor, texts


@dataclass(frozen=True)
class TranslateItem:
    source: str
    tokens: list[str]
    oovs: list[str]  # source words outside the target vocabulary, in extended-id order
    query: TranslateQuery


class TranslateHandler(BeamSearchHandler[TranslateRequest, TranslateItem, TranslateResponse]):
    """Each text of a request is its own item, so texts of one request batch with texts of others."""

    graphs = ("encode", "decode_step")
    v2_inputs = (Tensor("TEXT", "BYTES", (-1,)),)  # German sentences
    v2_outputs = (Tensor("TRANSLATION", "BYTES", (-1,)),)  # the best translation of each
    settings: TranslateSettings

    def load(self, runtime: Runtime) -> None:
        super().load(runtime)
        self.src_vocab = Vocab.from_json((self.model_dir / "src_vocab.json").read_text(encoding="utf-8"))
        self.tgt_vocab = Vocab.from_json((self.model_dir / "tgt_vocab.json").read_text(encoding="utf-8"))

    def decode(self, req: TranslateRequest) -> list[TranslateItem]:
        s = self.settings
        given = [req.text] if isinstance(req.text, str) else req.text
        if not given:
            raise InvalidInput("text: give one string or a non-empty list of strings")
        if len(given) > s.max_texts:
            raise InvalidInput(f"text: {len(given)} texts is more than this server's limit of {s.max_texts} per request")
        check_beam(req.beam_size, req.n_best, s.max_beam_size)
        if req.max_length is not None and req.max_length > s.max_output_tokens:
            raise InvalidInput(f"max_length: {req.max_length} is more than this server's limit of {s.max_output_tokens}")
        return [self._item(i, t, req) for i, t in enumerate(given)]

    def _item(self, i: int, text: str, req: TranslateRequest) -> TranslateItem:
        where = "text" if isinstance(req.text, str) else f"text.{i}"
        tokens = tokenize(text, "de")
        if not tokens:
            raise InvalidInput(f"{where}: empty text; give a German sentence")
        if len(tokens) > self.settings.max_source_tokens:
            raise InvalidInput(
                f"{where}: {len(tokens)} tokens is more than this server's limit of {self.settings.max_source_tokens}; "
                "split the text into sentences and send them as a list"
            )
        ext, oovs = extend(tokens, self.tgt_vocab)
        max_length = req.max_length or min(2 * len(tokens) + 10, self.settings.max_output_tokens)
        alpha = self.settings.length_alpha if req.length_alpha is None else req.length_alpha
        beta = self.settings.coverage_beta if req.coverage_beta is None else req.coverage_beta
        block_unk = self.settings.block_unk if req.block_unk is None else req.block_unk
        query = TranslateQuery(self.src_vocab.ids(tokens), ext, req.beam_size, req.n_best, max_length, alpha, beta, block_unk)
        return TranslateItem(text, tokens, oovs, query)

    def example(self) -> TranslateItem:
        tokens = ["Ein", "Mann", "fährt", "Fahrrad", "."]
        ext, oovs = extend(tokens, self.tgt_vocab)
        return TranslateItem("Ein Mann fährt Fahrrad.", tokens, oovs, TranslateQuery(self.src_vocab.ids(tokens), ext, 2, 1, 20))

    def encoded(self, items: list[TranslateItem]) -> tuple[Encoded, list[SearchQuery]]:
        return search.encode(self.graph_runner(), [it.query for it in items])

    @property
    def vocab_size(self) -> int:
        return len(self.tgt_vocab)

    def encode(self, req: TranslateRequest, items: list[TranslateItem], outputs: list[list[Hypothesis]]) -> TranslateResponse:
        results = [self._text_result(it, hyps, req) for it, hyps in zip(items, outputs, strict=True)]
        return TranslateResponse(results=results, model=self.name, version=self.version)

    def v2_request(self, tensors: dict[str, np.ndarray]) -> TranslateRequest:
        return TranslateRequest(text=texts(tensors, "TEXT"))

    def v2_response(self, response: TranslateResponse) -> dict[str, np.ndarray]:
        best = [r.translations[0].text.encode() for r in response.results]
        return {"TRANSLATION": np.array(best, dtype=np.object_)}

    def _text_result(self, item: TranslateItem, hyps: list[Hypothesis], req: TranslateRequest) -> TextTranslation:
        words = self.tgt_vocab.itos + item.oovs
        v = len(self.tgt_vocab)
        translations = []
        for hyp in hyps:
            tokens = [words[i] for i in hyp.ids]
            translations.append(Translation(
                text=detokenize(tokens, "en"), tokens=tokens, copied=[i >= v for i in hyp.ids], finished=hyp.finished,
                log_prob=hyp.log_prob if req.return_scores else None, score=hyp.score if req.return_scores else None,
                alignment=[a.astype(np.float64).round(5).tolist() for a in hyp.attention] if req.return_alignment else None,
            ))  # fmt: skip
        unknown = [w for w, i in zip(item.tokens, item.query.src, strict=True) if i == UNK_ID]
        return TextTranslation(
            source=item.source, source_tokens=item.tokens, unknown_source_tokens=unknown, translations=translations
        )
