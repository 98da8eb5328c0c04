"""Speech handler: WAV bytes -> mono 8 kHz -> log-mel -> batched listener + beam search -> characters."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from models.beam import Decoding, Hypothesis, start_decodings
from models.speech.audio import AudioError, read_wav, resample
from models.speech.data import CHARS, EOS_ID
from models.speech.features import HOP, REDUCTION, SAMPLE_RATE, log_mel
from models.speech.search import SpeechQuery, decode, encode
from service.errors import InvalidInput
from service.handlers.base import Handler, check_beam
from service.schemas.speech import TranscribeOptions, TranscribeResponse, Transcript
from service.settings import SpeechSettings

MIN_RATE, MAX_RATE = 4_000, 192_000
STEP_S = REDUCTION * HOP / SAMPLE_RATE  # seconds per attended frame (a listener step)


@dataclass(frozen=True)
class SpeechItem:
    duration_s: float
    sample_rate: int
    query: SpeechQuery


class SpeechHandler(Handler[SpeechItem, list[Hypothesis]]):
    name = "speech"
    endpoint = "/transcribe"
    graphs: ClassVar[list[str]] = ["encode", "decode_step"]
    settings: SpeechSettings

    def prepare(self, audio: bytes, opts: TranscribeOptions) -> SpeechItem:
        """Checks and features; CPU work (decoding, resampling, FFTs), so the route runs it off the event loop."""
        s = self.settings
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
        feats = log_mel(resample(samples, rate, SAMPLE_RATE))
        query = SpeechQuery(feats, opts.beam_size, opts.n_best, s.max_output_chars)
        return SpeechItem(duration, rate, query)

    def example(self) -> SpeechItem:
        noise = np.random.default_rng(0).standard_normal(SAMPLE_RATE).astype(np.float32) * 0.01
        return SpeechItem(1.0, SAMPLE_RATE, SpeechQuery(log_mel(noise), 2, 1, 20))

    def predict(self, items: list[SpeechItem]) -> list[list[Hypothesis]]:
        return decode(self.graph_runner(), [it.query for it in items])

    supports_step = True

    def start_decodings(self, items: list[SpeechItem]) -> list[Decoding]:
        return start_decodings(*encode(self.graph_runner(), [it.query for it in items]))

    @property
    def vocab_size(self) -> int:
        return len(CHARS)

    def respond(self, item: SpeechItem, hyps: list[Hypothesis], opts: TranscribeOptions) -> TranscribeResponse:
        transcripts = [self._transcript(h, opts.return_attention) for h in hyps]
        steps = len(hyps[0].attention[0]) if hyps and hyps[0].attention else 0
        return TranscribeResponse(
            text=transcripts[0].text if transcripts else "", transcripts=transcripts,
            duration_s=round(item.duration_s, 4), sample_rate=item.sample_rate,
            frame_times_s=[round(k * STEP_S, 3) for k in range(steps)] if opts.return_attention else None,
            model=self.name, version=self.version,
        )  # fmt: skip

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
