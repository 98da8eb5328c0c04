"""Speech handler: WAV bytes -> mono 8 kHz -> log-mel -> batched listener + beam search -> characters."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.beam import Encoded, Hypothesis, SearchQuery
from models.speech import search
from models.speech.audio import AudioError, read_wav, resample
from models.speech.chars import CHARS
from models.speech.features import HOP, REDUCTION, SAMPLE_RATE, Norm, front_end
from models.speech.schemas import TranscribeOptions, TranscribeResponse, Transcript
from models.speech.search import SpeechQuery
from models.speech.settings import SpeechSettings
from models.tokens import EOS_ID
from service.engine.handler import BeamSearchHandler, check_beam
from service.engine.runtimes import Runtime
from service.errors import InvalidInput
from service.schemas.common import Upload
from service.v2 import Tensor, one_bytes

MIN_RATE, MAX_RATE = 4_000, 192_000
STEP_S = REDUCTION * HOP / SAMPLE_RATE  # seconds per attended frame (a listener step)


@dataclass(frozen=True)
class SpeechItem:
    duration_s: float
    sample_rate: int
    query: SpeechQuery


class SpeechHandler(BeamSearchHandler[Upload[TranscribeOptions], SpeechItem, TranscribeResponse]):
    graphs = ("encode", "decode_step")
    offload = True  # WAV decoding, resampling and FFTs
    v2_inputs = (Tensor("AUDIO", "BYTES", (1,)),)  # a WAV file
    v2_outputs = (Tensor("TEXT", "BYTES", (1,)),)
    settings: SpeechSettings

    norm: Norm | None = None  # global feature normalization, where the export carries one (meta.json "norm")

    def load(self, runtime: Runtime) -> None:
        super().load(runtime)
        self.norm = Norm.from_dict(self.meta["norm"]) if "norm" in self.meta else None

    def decode(self, req: Upload[TranscribeOptions]) -> list[SpeechItem]:
        """Checks and features."""
        s, audio, opts = self.settings, req.data, req.options
        check_beam(opts.beam_size, opts.n_best, s.max_beam_size)
        try:
            samples, rate = read_wav(audio)
        except AudioError as e:
            raise InvalidInput(f"audio: {e}") from e
        if not MIN_RATE <= rate <= MAX_RATE:
            raise InvalidInput(f"audio: sample rate {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
        duration = len(samples) / rate
        if len(samples) == 0:
            raise InvalidInput("audio: the WAV file holds no samples")
        if duration > s.max_audio_seconds:
            raise InvalidInput(
                f"audio: {duration:.1f} s is longer than this server's limit of {s.max_audio_seconds:g} s; split it"
            )
        feats = front_end(resample(samples, rate, SAMPLE_RATE), self.norm)
        query = SpeechQuery(feats, opts.beam_size, opts.n_best, s.max_output_chars)
        return [SpeechItem(duration, rate, query)]

    def example(self) -> SpeechItem:
        noise = np.random.default_rng(0).standard_normal(SAMPLE_RATE).astype(np.float32) * 0.01
        return SpeechItem(1.0, SAMPLE_RATE, SpeechQuery(front_end(noise, self.norm), 2, 1, 20))

    def encoded(self, items: list[SpeechItem]) -> tuple[Encoded, list[SearchQuery]]:
        return search.encode(self.graph_runner(), [it.query for it in items])

    @property
    def vocab_size(self) -> int:
        return len(CHARS)

    def encode(
        self, req: Upload[TranscribeOptions], items: list[SpeechItem], outputs: list[list[Hypothesis]]
    ) -> TranscribeResponse:
        (item,), (hyps,), opts = items, outputs, req.options
        transcripts = [self._transcript(h, opts.return_attention) for h in hyps]
        steps = len(hyps[0].attention[0]) if hyps and hyps[0].attention else 0
        return TranscribeResponse(
            text=transcripts[0].text if transcripts else "", transcripts=transcripts,
            duration_s=round(item.duration_s, 4), sample_rate=item.sample_rate,
            frame_times_s=[round(k * STEP_S, 3) for k in range(steps)] if opts.return_attention else None,
            model=self.name, version=self.version,
        )  # fmt: skip

    def v2_request(self, tensors: dict[str, np.ndarray]) -> Upload[TranscribeOptions]:
        return Upload(one_bytes(tensors, "AUDIO"), TranscribeOptions())

    def v2_response(self, response: TranscribeResponse) -> dict[str, np.ndarray]:
        return {"TEXT": np.array([response.text.encode()], dtype=np.object_)}

    @staticmethod
    def _transcript(h: Hypothesis, with_attention: bool) -> Transcript:
        # Special symbols (<unk>, a stray <s>) are not characters: they are left out of the text, and their
        # confidence and attention rows with them, so every list lines up with the text; </s> keeps its row.
        keep = [t for t, i in enumerate(h.ids) if i > EOS_ID] + ([len(h.ids)] if h.finished else [])
        chars = [t for t in keep if t < len(h.ids)]
        return Transcript(
            text="".join(CHARS[h.ids[t]] for t in chars),
            confidence=[round(math.exp(h.token_logp[t]), 5) for t in chars],
            finished=h.finished, log_prob=h.log_prob, score=h.score,
            attention=[h.attention[t].astype(np.float64).round(5).tolist() for t in keep] if with_attention else None,
        )  # fmt: skip
