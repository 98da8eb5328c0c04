"""Log-mel front end in numpy: the same code computes training features and serves requests.

Matches `torch.stft(center=True, pad_mode="reflect")` with a periodic Hann window (a unit test checks it),
so the features are the standard ones, but the server does not need torch. 8 kHz is the Free Spoken
Digit Dataset's rate; 25 ms windows, 10 ms hop, 40 mel bands up to the 4 kHz Nyquist frequency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

SAMPLE_RATE = 8000
N_FFT = 256
WIN = 200  # 25 ms
HOP = 80  # 10 ms
N_MELS = 40
FMIN, FMAX = 20.0, 4000.0
LOG_FLOOR = 1e-6
REDUCTION = 8  # frames per listener step: three pyramid layers, each halving time


def padded_frames(frames: int) -> int:
    """Batches are zero-padded to a multiple of REDUCTION frames, so every pyramid layer pairs frames evenly
    (and the exported graph needs no shape arithmetic)."""
    return -(-frames // REDUCTION) * REDUCTION


def _hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def _warp(f: np.ndarray, warp: float) -> np.ndarray:
    """Vocal-tract-length warp of frequencies (Jaitly & Hinton 2013): scaled by `warp` up to a boundary, then
    linear to the Nyquist frequency, which stays where it is."""
    nyquist = SAMPLE_RATE / 2
    boundary = 0.85 * nyquist * min(warp, 1.0) / warp
    above = nyquist - (nyquist - boundary * warp) / (nyquist - boundary) * (nyquist - f)
    return np.where(f <= boundary, f * warp, above)


@cache
def mel_filterbank(warp: float = 1.0) -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) triangular filters, equally spaced on the HTK mel scale; their edges warped
    by `warp` (1.0: none; training's vocal-tract-length perturbation draws others)."""
    bins = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(FMIN), _hz_to_mel(FMAX), N_MELS + 2))
    if warp != 1.0:
        edges = _warp(edges, warp)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (bins[None, :] - lo) / (mid - lo)
    down = (hi - bins[None, :]) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down)).astype(np.float32)


@cache
def window() -> np.ndarray:
    """Periodic Hann of WIN samples, zero-padded to N_FFT in the middle (as torch.stft does)."""
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WIN) / WIN)
    left = (N_FFT - WIN) // 2
    return np.pad(w, (left, N_FFT - WIN - left)).astype(np.float64)


def n_frames(n_samples: int) -> int:
    return 1 + n_samples // HOP


def power_spectrum(x: np.ndarray) -> np.ndarray:
    """(frames, N_FFT // 2 + 1) |STFT|^2 of mono samples at SAMPLE_RATE."""
    pad = N_FFT // 2
    if len(x) <= pad:  # reflect padding needs more samples than the pad; silence is the honest fill
        x = np.pad(x, (0, pad + 1 - len(x)))
    padded = np.pad(x.astype(np.float64), pad, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][: n_frames(len(x))]
    return np.abs(np.fft.rfft(frames * window(), axis=-1)) ** 2


def log_mel(x: np.ndarray, warp: float = 1.0, per_utterance: bool = True) -> np.ndarray:
    """(frames, N_MELS) float32 log mel energies, normalized per utterance (mean 0, std 1 per band); `warp`
    is training's vocal-tract-length perturbation (serving uses 1.0).

    Per-utterance normalization removes recording gain and channel colour, which differ most between
    the real recordings and the synthesized speech the model is trained on. `per_utterance=False` gives
    the raw log energies, for training's comparison with global normalization (`train.py --normalize`).
    """
    mel = np.log(power_spectrum(x) @ mel_filterbank(round(warp, 3)).T.astype(np.float64) + LOG_FLOOR)
    if per_utterance:
        mel = (mel - mel.mean(axis=0)) / (mel.std(axis=0) + 1e-5)
    return mel.astype(np.float32)


@dataclass(frozen=True)
class Norm:
    """Global feature normalization (CMVN): each mel band's mean and std of raw log energies over a model's
    training audio, the alternative to per-utterance normalization (`train.py --normalize global`). A model
    trained with it carries it in its checkpoint and export, and the server normalizes requests with it."""

    mean: np.ndarray  # (N_MELS,) float32
    std: np.ndarray  # (N_MELS,) float32

    @classmethod
    def of(cls, raw: Sequence[np.ndarray]) -> Norm:
        """The statistics of raw log-mel features (log_mel(x, per_utterance=False)), every frame counted once."""
        feats = np.concatenate(raw).astype(np.float64)
        return cls(feats.mean(axis=0).astype(np.float32), (feats.std(axis=0) + 1e-5).astype(np.float32))

    def as_dict(self) -> dict[str, list[float]]:
        return {"mean": [round(float(v), 5) for v in self.mean], "std": [round(float(v), 5) for v in self.std]}

    @classmethod
    def from_dict(cls, d: dict[str, list[float]]) -> Norm:
        mean, std = (np.asarray(d[k], dtype=np.float32) for k in ("mean", "std"))
        if mean.shape != (N_MELS,) or std.shape != (N_MELS,) or not (std > 0).all():
            raise ValueError(f"a feature normalization needs {N_MELS} means and {N_MELS} positive stds")
        return cls(mean, std)


def front_end(x: np.ndarray, norm: Norm | None = None, warp: float = 1.0) -> np.ndarray:
    """What the model hears: log-mel features normalized per utterance (norm None) or with global statistics."""
    if norm is None:
        return log_mel(x, warp)
    return ((log_mel(x, warp, per_utterance=False) - norm.mean) / norm.std).astype(np.float32)
