"""POST /transcribe."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TranscribeOptions(BaseModel):
    """Decoding options: form fields next to a multipart upload, or JSON fields next to `audio_base64`."""

    model_config = ConfigDict(extra="forbid")

    beam_size: int = Field(4, ge=1, description="Beams (default 4: best on the unseen-voice dev sets); 1 is greedy decoding")
    n_best: int = Field(1, ge=1, description="Transcripts to return, best first (at most beam_size)")
    return_attention: bool = Field(False, description="Add, per output character, the attention over audio frames")


class TranscribeJSON(TranscribeOptions):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"audio_base64": "UklGRiQ...", "beam_size": 4}]})

    audio_base64: str = Field(description="A WAV file (PCM or float; any rate; mono or multi-channel), base64-encoded")


class Transcript(BaseModel):
    text: str
    confidence: list[float] = Field(description="Per character: the probability the model gave it")
    finished: bool = Field(description="Ended with </s> (false: stopped at the length limit)")
    log_prob: float
    score: float
    attention: list[list[float]] | None = Field(
        None, description="Rows: characters then </s>; columns: audio frames (see frame_times_s)"
    )


class TranscribeResponse(BaseModel):
    text: str = Field(description="The best transcript")
    transcripts: list[Transcript] = Field(description="n_best transcripts, best first")
    duration_s: float = Field(description="Length of the audio received")
    sample_rate: int = Field(description="Sample rate of the audio received (resampled to the model's 8 kHz)")
    frame_times_s: list[float] | None = Field(None, description="Start time of each attention column, in seconds")
    model: str
    version: str
