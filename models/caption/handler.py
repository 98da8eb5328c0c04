"""Caption handler: image bytes -> RGB -> model-size square -> batched CNN + beam search -> words + attention maps.

One class serves both captioning models; `kind` (photo | grounded) is what a request's `model` option names.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from PIL import Image

from models.beam import Encoded, Hypothesis, SearchQuery
from models.caption import search
from models.caption.images import ImageError, TooManyPixels, decode_image, heatmap_overlay, to_model_input
from models.caption.schemas import Caption, CaptionOptions, CaptionResponse, WordAttention
from models.caption.search import CaptionQuery
from models.caption.settings import CaptionSettings
from models.tokens import EOS_ID
from service.engine.handler import BeamSearchHandler, check_beam
from service.engine.runtimes import Runtime
from service.errors import InvalidInput, PayloadTooLarge
from service.schemas.common import Upload
from service.v2 import Tensor, one_bytes


@dataclass(frozen=True)
class CaptionItem:
    query: CaptionQuery
    image_size: tuple[int, int]
    image: Image.Image | None  # kept only when overlays were asked for


class CaptionHandler(BeamSearchHandler[Upload[CaptionOptions], CaptionItem, CaptionResponse]):
    kind: ClassVar[str]
    graphs = ("encode", "decode_step")
    offload = True  # image decoding and resizing; PNG overlays
    v2_inputs = (Tensor("IMAGE", "BYTES", (1,)),)  # a PNG or JPEG file
    v2_outputs = (Tensor("CAPTION", "BYTES", (1,)),)
    settings: CaptionSettings

    def load(self, runtime: Runtime) -> None:
        super().load(runtime)
        # Read once here: predict and every response use them.
        self.vocab: list[str] = list(self.meta["vocab"])
        rows, cols = self.meta["grid"]
        self.grid = int(rows), int(cols)

    def decode(self, req: Upload[CaptionOptions]) -> list[CaptionItem]:
        """Checks, decoding and resizing."""
        s, data, opts = self.settings, req.data, req.options
        check_beam(opts.beam_size, opts.n_best, s.max_beam_size)
        if opts.max_length is not None and opts.max_length > s.max_output_words:
            raise InvalidInput(f"max_length: {opts.max_length} is more than this server's limit of {s.max_output_words}")
        try:
            img = decode_image(data, s.max_image_pixels)
        except TooManyPixels as e:
            raise PayloadTooLarge(f"image: {e}") from e
        except ImageError as e:
            raise InvalidInput(f"image: {e}") from e
        size = int(self.meta["image_size"])
        query = CaptionQuery(to_model_input(img, size), opts.beam_size, opts.n_best, opts.max_length or s.max_output_words,
                             s.length_alpha, s.block_unk)  # fmt: skip
        return [CaptionItem(query, img.size, img if opts.return_overlays else None)]

    def example(self) -> CaptionItem:
        size = int(self.meta["image_size"])
        image = np.random.default_rng(0).uniform(0, 255, (3, size, size)).astype(np.float32)
        return CaptionItem(CaptionQuery(image, 2, 1, 5), (size, size), None)

    def encoded(self, items: list[CaptionItem]) -> tuple[Encoded, list[SearchQuery]]:
        return search.encode(self.graph_runner(), [it.query for it in items])

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, req: Upload[CaptionOptions], items: list[CaptionItem], outputs: list[list[Hypothesis]]) -> CaptionResponse:
        (item,), (hyps,), opts = items, outputs, req.options
        captions = [self._caption(h, item, opts) for h in hyps]
        return CaptionResponse(caption=captions[0].text if captions else "", captions=captions, grid=self.grid,
                               image_size=item.image_size, model=self.name, version=self.version)  # fmt: skip

    def v2_request(self, tensors: dict[str, np.ndarray]) -> Upload[CaptionOptions]:
        return Upload(one_bytes(tensors, "IMAGE"), CaptionOptions(model=self.kind, return_attention=False))  # type: ignore[arg-type]

    def v2_response(self, response: CaptionResponse) -> dict[str, np.ndarray]:
        return {"CAPTION": np.array([response.caption.encode()], dtype=np.object_)}

    def _caption(self, h: Hypothesis, item: CaptionItem, opts: CaptionOptions) -> Caption:
        vocab = self.vocab
        # Special symbols (<unk>, a stray <s>) are not words of the caption: they are dropped with their
        # confidence and attention, so every list lines up with the text; </s> keeps its attention row.
        words = [t for t, i in enumerate(h.ids) if i > EOS_ID]
        rows = [*words, len(h.ids)] if h.finished else words
        attention = None
        if opts.return_attention or opts.return_overlays:
            attention = [self._word_attention(vocab[h.ids[t]] if t < len(h.ids) else "</s>", h.attention[t], item, opts)
                         for t in rows]  # fmt: skip
        return Caption(
            text=" ".join(vocab[h.ids[t]] for t in words),
            confidence=[round(math.exp(h.token_logp[t]), 5) for t in words],
            finished=h.finished, log_prob=h.log_prob, score=h.score, attention=attention,
        )  # fmt: skip

    def _word_attention(self, word: str, weights: np.ndarray, item: CaptionItem, opts: CaptionOptions) -> WordAttention:
        rows, cols = self.grid
        grid = weights.astype(np.float64).reshape(rows, cols)
        r, c = divmod(int(grid.argmax()), cols)
        overlay = None
        if opts.return_overlays and item.image is not None:
            overlay = base64.b64encode(heatmap_overlay(item.image, grid)).decode()
        peak = (round((c + 0.5) / cols, 4), round((r + 0.5) / rows, 4))
        weights = grid.round(5).tolist() if opts.return_attention else []
        return WordAttention(word=word, weights=weights, peak=peak, overlay_png_base64=overlay)


class PhotoCaptionHandler(CaptionHandler):
    kind = "photo"


class GroundedCaptionHandler(CaptionHandler):
    kind = "grounded"
