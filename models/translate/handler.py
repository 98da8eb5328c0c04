"""Translate handler: text -> Moses tokens (-> subword pieces) -> ids (+ copy ids) -> batched beam search ->
text + alignment (over words: a subword model's piece attention is pooled to words)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.beam import Encoded, Hypothesis, SearchQuery
from models.tokens import UNK_ID
from models.translate import search
from models.translate.schemas import TextTranslation, TranslateRequest, TranslateResponse, Translation
from models.translate.search import TranslateQuery
from models.translate.settings import TranslateSettings
from models.translate.subwords import Subwords, join, pool_attention, word_index
from models.translate.vocab import Vocab, detokenize, extend, tokenize
from service.engine.handler import BeamSearchHandler, check_beam
from service.engine.runtimes import Runtime
from service.errors import InvalidInput
from service.v2 import Tensor, texts

MAX_WORD_CHARS = 60  # a subword model cuts longer words only at a 422 (Multi30k train's longest German token: 36)
PIECES_PER_TOKEN = 3  # ...and reads at most this many pieces per allowed token (Multi30k val: 1.2 per word)


@dataclass(frozen=True)
class TranslateItem:
    source: str
    tokens: list[str]  # words
    pieces: list[str]  # what the model reads: the words, or a subword model's pieces of them
    oovs: list[str]  # source pieces outside the target vocabulary, in extended-id order
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
        path = self.model_dir / "subwords.json"  # written by the export of a model trained with --subwords
        self.subwords = Subwords.from_json(path.read_text(encoding="utf-8")) if path.exists() else None

    def pieces(self, tokens: list[str]) -> list[str]:
        return self.subwords.split(tokens) if self.subwords is not None else tokens

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
        if self.subwords is not None and (long := max(tokens, key=len)) and len(long) > MAX_WORD_CHARS:
            # cutting a word costs time quadratic in its length: refuse a giant one before any work
            raise InvalidInput(f"{where}: a word of {len(long)} characters is longer than this model's limit of {MAX_WORD_CHARS}")
        pieces = self.pieces(tokens)
        if len(pieces) > PIECES_PER_TOKEN * self.settings.max_source_tokens:
            raise InvalidInput(
                f"{where}: {len(pieces)} subword pieces is more than this server's limit of "
                f"{PIECES_PER_TOKEN * self.settings.max_source_tokens} ({PIECES_PER_TOKEN} x max_source_tokens)"
            )
        ext, oovs = extend(pieces, self.tgt_vocab)
        max_length = req.max_length or min(2 * len(pieces) + 10, self.settings.max_output_tokens)
        alpha = self.settings.length_alpha if req.length_alpha is None else req.length_alpha
        beta = self.settings.coverage_beta if req.coverage_beta is None else req.coverage_beta
        block_unk = self.settings.block_unk if req.block_unk is None else req.block_unk
        query = TranslateQuery(self.src_vocab.ids(pieces), ext, req.beam_size, req.n_best, max_length, alpha, beta, block_unk)
        return TranslateItem(text, tokens, pieces, oovs, query)

    def example(self) -> TranslateItem:
        tokens = ["Ein", "Mann", "fährt", "Fahrrad", "."]
        pieces = self.pieces(tokens)
        ext, oovs = extend(pieces, self.tgt_vocab)
        query = TranslateQuery(self.src_vocab.ids(pieces), ext, 2, 1, 20)
        return TranslateItem("Ein Mann fährt Fahrrad.", tokens, pieces, oovs, query)

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
        translations = []
        for hyp in hyps:
            tokens, copied, alignment = self._words(item, hyp)
            translations.append(Translation(
                text=detokenize(tokens, "en"), tokens=tokens, copied=copied, finished=hyp.finished,
                log_prob=hyp.log_prob if req.return_scores else None, score=hyp.score if req.return_scores else None,
                alignment=[a.astype(np.float64).round(5).tolist() for a in alignment] if req.return_alignment else None,
            ))  # fmt: skip
        src_words = word_index(item.pieces) if self.subwords is not None else list(range(len(item.pieces)))
        unknown_at = {w for w, i in zip(src_words, item.query.src, strict=True) if i == UNK_ID}
        unknown = [w for j, w in enumerate(item.tokens) if j in unknown_at]
        return TextTranslation(
            source=item.source, source_tokens=item.tokens, unknown_source_tokens=unknown, translations=translations
        )

    def _words(self, item: TranslateItem, hyp: Hypothesis) -> tuple[list[str], list[bool], list[np.ndarray]]:
        """A hypothesis as output words, whether each was copied (a piece of it, for a subword model), and its
        attention rows over the source words (one per output word, plus the end-of-sentence step)."""
        vocab = self.tgt_vocab.itos + item.oovs
        pieces, copied = [vocab[i] for i in hyp.ids], [i >= len(self.tgt_vocab) for i in hyp.ids]
        if self.subwords is None or not hyp.attention:
            return pieces, copied, list(hyp.attention)
        words, out_words = join(pieces), word_index(pieces)
        words_copied = [False] * len(words)
        for w, c in zip(out_words, copied, strict=True):
            words_copied[w] |= c
        pooled = pool_attention(np.stack(hyp.attention), out_words, word_index(item.pieces))
        return words, words_copied, list(pooled)
