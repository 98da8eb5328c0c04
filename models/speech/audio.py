"""WAV in and out, mono mixdown and resampling, in numpy only (the server has no torch).

`read_wav` accepts what users send in practice: RIFF/WAVE with integer PCM (8, 16, 24 or 32 bit),
IEEE float (32 or 64 bit) or WAVE_FORMAT_EXTENSIBLE wrapping either, any channel count and sample rate.
Anything else raises `AudioError` with a message that says what is wrong, so the server can answer 422.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

PCM, IEEE_FLOAT, EXTENSIBLE = 1, 3, 0xFFFE
# A writer streaming to a pipe cannot seek back to fill in the data size, so it leaves a huge placeholder:
# 0xFFFFFFFF (ffmpeg, sox), 0x7FFFF000 (espeak-ng --stdout). Sizes this large mean "to the end of the file".
STREAMED_SIZE = 0x7FFF0000


class AudioError(ValueError):
    """The bytes are not audio this module can read."""


def _chunks(data: bytes) -> dict[bytes, bytes]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError("not a WAV file (expected a RIFF/WAVE header)")
    chunks: dict[bytes, bytes] = {}
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        left = len(data) - pos - 8
        if cid == b"data" and size >= STREAMED_SIZE:
            size = left
        elif size > left:  # a cut-off upload: transcribing the part that arrived would be silent truncation
            name = cid.decode("latin-1").strip()
            raise AudioError(f"corrupt WAV file: the {name!r} chunk declares {size} bytes but only {left} follow")
        chunks.setdefault(cid, data[pos + 8 : pos + 8 + size])
        pos += 8 + size + (size & 1)  # chunks are word-aligned
    for needed in (b"fmt ", b"data"):
        if needed not in chunks:
            raise AudioError(f"corrupt WAV file: no {needed.decode().strip()!r} chunk")
    return chunks


def _decode(raw: bytes, fmt: int, bits: int) -> np.ndarray:
    """Interleaved samples as float32 in [-1, 1]."""
    width = bits // 8
    raw = raw[: len(raw) - len(raw) % width]
    if fmt == IEEE_FLOAT and bits in (32, 64):
        return np.frombuffer(raw, dtype=f"<f{width}").astype(np.float32)
    if fmt != PCM:
        raise AudioError(f"unsupported WAV encoding (format tag {fmt}); send PCM or IEEE float")
    if bits == 8:  # 8-bit WAV is unsigned
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128) / 128
    if bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        return (np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)).astype(np.float32)
    if bits in (16, 32):
        return np.frombuffer(raw, dtype=f"<i{width}").astype(np.float32) / float(1 << (bits - 1))
    raise AudioError(f"unsupported PCM sample width: {bits} bits")


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """(mono float32 samples, sample rate) from WAV bytes; channels are averaged."""
    chunks = _chunks(data)
    fmt_chunk = chunks[b"fmt "]
    if len(fmt_chunk) < 16:
        raise AudioError("corrupt WAV file: 'fmt' chunk too short")
    fmt, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt_chunk[:16])
    if fmt == EXTENSIBLE and len(fmt_chunk) >= 26:
        fmt = struct.unpack("<H", fmt_chunk[24:26])[0]  # first two bytes of the sub-format GUID
    if channels < 1 or rate < 1 or bits % 8:
        raise AudioError(f"corrupt WAV header: {channels} channels, {rate} Hz, {bits} bits")
    samples = _decode(chunks[b"data"], fmt, bits)
    samples = samples[: len(samples) - len(samples) % channels].reshape(-1, channels).mean(axis=1)
    if not np.all(np.isfinite(samples)):
        raise AudioError("WAV file holds NaN or infinite samples")
    return samples.astype(np.float32), rate


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling through the FFT (exact for clips this short; no scipy needed)."""
    if rate_in == rate_out or len(x) == 0:
        return x.astype(np.float32)
    n_out = max(1, round(len(x) * rate_out / rate_in))
    spec = np.fft.rfft(x.astype(np.float64))
    keep = min(len(spec), n_out // 2 + 1)
    out_spec = np.zeros(n_out // 2 + 1, dtype=np.complex128)
    out_spec[:keep] = spec[:keep]
    return (np.fft.irfft(out_spec, n_out) * (n_out / len(x))).astype(np.float32)


def wav_bytes(x: np.ndarray, rate: int) -> bytes:
    """16-bit PCM mono WAV."""
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, PCM, 1, rate,
                         rate * 2, 2, 16, b"data", len(pcm))  # fmt: skip
    return header + pcm


def load(path: Path, rate: int) -> np.ndarray:
    """A WAV file as mono float32 at `rate`."""
    x, r = read_wav(path.read_bytes())
    return resample(x, r, rate)
