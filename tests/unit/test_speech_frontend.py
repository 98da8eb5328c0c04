"""Speech front end: WAV parsing (the formats users send), resampling, and log-mel against torch.stft."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from models.speech.audio import AudioError, read_wav, resample, wav_bytes
from models.speech.features import HOP, N_FFT, N_MELS, SAMPLE_RATE, WIN, log_mel, mel_filterbank, power_spectrum


def wav(
    payload: bytes, fmt: int, channels: int, rate: int, bits: int, extensible: bool = False, size: int | None = None
) -> bytes:
    block = channels * bits // 8
    if extensible:
        fmt_chunk = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 0)
        fmt_chunk += struct.pack("<H", fmt) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    else:
        fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * block, block, bits)
    data_size = len(payload) if size is None else size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk + b"data" + struct.pack("<I", data_size) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


SIGNAL = np.sin(np.linspace(0, 20, 400)).astype(np.float32) * 0.5


@pytest.mark.parametrize(
    ("encoded", "tol"),
    [
        (wav((SIGNAL * 32767).astype("<i2").tobytes(), 1, 1, 8000, 16), 1e-4),
        (wav(((SIGNAL * 127) + 128).astype(np.uint8).tobytes(), 1, 1, 8000, 8), 2e-2),
        (wav((SIGNAL * 2**31).astype("<i4").tobytes(), 1, 1, 8000, 32), 1e-6),
        (wav(b"".join(int(v * 2**23).to_bytes(3, "little", signed=True) for v in SIGNAL), 1, 1, 8000, 24), 1e-6),
        (wav(SIGNAL.astype("<f4").tobytes(), 3, 1, 8000, 32), 0),
        (wav(SIGNAL.astype("<f8").tobytes(), 3, 1, 8000, 64), 1e-7),
        (wav(SIGNAL.astype("<f4").tobytes(), 3, 1, 8000, 32, extensible=True), 0),
        (wav(np.repeat(SIGNAL, 2).astype("<f4").tobytes(), 3, 2, 8000, 32), 0),  # stereo: same in both channels
        (wav((SIGNAL * 32767).astype("<i2").tobytes(), 1, 1, 8000, 16, size=0xFFFFFFFF), 1e-4),  # streamed header
    ],
)
def test_read_wav_formats(encoded: bytes, tol: float) -> None:
    x, rate = read_wav(encoded)
    assert rate == 8000 and x.dtype == np.float32
    np.testing.assert_allclose(x, SIGNAL, atol=tol)


def test_wav_bytes_round_trip_and_stereo_mixdown() -> None:
    x, rate = read_wav(wav_bytes(SIGNAL, 16000))
    assert rate == 16000
    np.testing.assert_allclose(x, SIGNAL, atol=1e-4)
    left_right = np.stack([SIGNAL, -SIGNAL], axis=1).astype("<f4").tobytes()
    np.testing.assert_allclose(read_wav(wav(left_right, 3, 2, 8000, 32))[0], 0, atol=1e-7)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "not a WAV"),
        (b"ID3\x03\x00" + bytes(100), "not a WAV"),
        (b"RIFF\x10\x00\x00\x00WAVEjunk\x00\x00\x00\x00", "no 'fmt' chunk"),
        (wav(b"\x00" * 8, 2, 1, 8000, 16), "unsupported WAV encoding"),
        (wav(b"\x00" * 8, 1, 0, 8000, 16), "corrupt WAV header"),
        (wav(np.array([np.nan], "<f4").tobytes(), 3, 1, 8000, 32), "NaN"),
    ],
)
def test_read_wav_rejects_with_a_reason(data: bytes, fragment: str) -> None:
    with pytest.raises(AudioError, match=fragment):
        read_wav(data)


def test_resample_keeps_frequency_and_level() -> None:
    t = np.arange(22050) / 22050
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    y = resample(x, 22050, SAMPLE_RATE)
    assert len(y) == SAMPLE_RATE
    spectrum = np.abs(np.fft.rfft(y))
    assert int(np.argmax(spectrum)) == 440  # one-second clip: bin k is k Hz
    assert abs(float(np.sqrt(np.mean(y**2))) - 0.5 / np.sqrt(2)) < 1e-3


def test_power_spectrum_matches_torch_stft() -> None:
    x = np.random.default_rng(0).standard_normal(1234).astype(np.float32)
    ref = torch.stft(torch.from_numpy(x).double(), N_FFT, HOP, WIN, torch.hann_window(WIN, dtype=torch.float64),
                     center=True, pad_mode="reflect", return_complex=True).abs().pow(2).T.numpy()  # fmt: skip
    np.testing.assert_allclose(power_spectrum(x), ref, rtol=1e-6, atol=1e-8)


def test_log_mel_shape_normalization_and_short_input() -> None:
    fb = mel_filterbank()
    assert fb.shape == (N_MELS, N_FFT // 2 + 1) and np.all(fb.sum(axis=1) > 0)  # no empty band
    x = np.random.default_rng(1).standard_normal(SAMPLE_RATE).astype(np.float32)
    f = log_mel(x)
    assert f.shape == (1 + SAMPLE_RATE // HOP, N_MELS)
    np.testing.assert_allclose(f.mean(axis=0), 0, atol=1e-4)
    assert log_mel(np.zeros(10, np.float32)).shape[1] == N_MELS  # shorter than the FFT: padded, not an error
    assert np.allclose(log_mel(3 * x), f, atol=1e-3)  # gain does not change normalized features


def test_a_model_trained_with_global_normalization_is_served_with_its_statistics(tmp_path: Path) -> None:
    """train.py --normalize global stores the statistics in the checkpoint; export copies them to meta.json;
    the handler normalizes every request with them (and per utterance for a model without them)."""
    import json

    from models.speech.export import export
    from models.speech.features import Norm, front_end
    from models.speech.schemas import TranscribeOptions
    from models.speech.training.checkpoint import save_checkpoint
    from models.speech.training.model import LAS, LASConfig
    from service.engine.registry import loaded_handler
    from service.schemas.common import Upload

    rng = np.random.default_rng(1)
    norm = Norm(rng.standard_normal(N_MELS).astype(np.float32) - 5, rng.uniform(1, 3, N_MELS).astype(np.float32))
    torch.manual_seed(0)
    model = LAS(LASConfig(listener=16, speller=24, emb=8, attn=8, dropout=0.0))
    data = wav_bytes((rng.standard_normal(SAMPLE_RATE // 2) * 0.1).astype(np.float32), SAMPLE_RATE)
    samples, _ = read_wav(data)
    for name, extra, want in (("global", {"norm": json.dumps(norm.as_dict())}, norm), ("utterance", {}, None)):
        save_checkpoint(model, tmp_path / f"{name}.safetensors", {"epoch": 0, **extra})
        export(tmp_path / name, tmp_path / f"{name}.safetensors")
        handler = loaded_handler("speech", tmp_path / name)
        assert (handler.norm is None) == (want is None)  # type: ignore[attr-defined]
        (item,) = handler.decode(Upload(data, TranscribeOptions()))
        expected = front_end(samples, Norm.from_dict(norm.as_dict()) if want else None)
        np.testing.assert_allclose(item.query.feats, expected, atol=1e-4)
