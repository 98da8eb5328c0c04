"""On-the-fly audio augmentation for training (numpy, seeded per utterance): what a new voice, microphone and
room change, applied to the waveform before the log-mel front end.

- speed perturbation (Ko et al. 2015): resampled by 0.9, 1.0 or 1.1, changing tempo and pitch together;
- pitch shift: resampled by a few semitones, then stretched back to its length by overlap-add, so pitch
  moves and tempo stays;
- vocal-tract-length perturbation (Jaitly & Hinton 2013): a warp factor for the mel filterbank's frequencies,
  applied by the front end (`features.log_mel(x, warp)`);
- additive noise, white or pink, at a random signal-to-noise ratio;
- room reverberation: a synthetic impulse response (a direct path and exponentially decaying noise with a
  random RT60).
Every choice comes from the `random.Random` given, so a batch's augmentation is a function of its seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from models.speech.audio import resample
from models.speech.features import SAMPLE_RATE


@dataclass(frozen=True)
class AugmentConfig:
    speeds: tuple[float, ...] = (0.9, 1.0, 1.1)
    p_pitch: float = 0.25
    max_semitones: float = 3.0
    vtlp: float = 0.1  # warp factors drawn from 1 +- vtlp (0: off)
    p_noise: float = 0.4
    snrs_db: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 30.0)
    p_reverb: float = 0.3
    rt60_s: tuple[float, float] = (0.15, 0.6)

    @classmethod
    def off(cls) -> AugmentConfig:
        return cls(speeds=(1.0,), p_pitch=0.0, vtlp=0.0, p_noise=0.0, p_reverb=0.0)


def change_speed(x: np.ndarray, factor: float) -> np.ndarray:
    """Played `factor` times as fast: 1/factor as long, pitch times factor."""
    return x if factor == 1.0 else resample(x, round(SAMPLE_RATE * factor), SAMPLE_RATE)


def stretch(x: np.ndarray, n_out: int, frame: int = 256, tolerance: int = 40) -> np.ndarray:
    """x resampled in time to n_out samples without changing pitch, by WSOLA (Verhelst & Roelands 1993):
    Hann-windowed frames laid down every frame/4 samples, each taken near its nominal place in x where it best
    continues the frame before (so waveforms overlap in phase)."""
    hop_out = frame // 4
    n_frames = max(1, -(-n_out // hop_out))
    hop_in = (len(x) - frame) / max(1, n_frames - 1) if len(x) > frame else 0.0
    w = np.hanning(frame).astype(np.float32)
    src = np.pad(x.astype(np.float32), (tolerance, frame + 2 * tolerance + hop_out))
    out, norm = np.zeros(n_out + frame, np.float32), np.zeros(n_out + frame, np.float32)
    prev = tolerance  # where in src the previous frame was taken
    for i in range(n_frames):
        nominal = tolerance + round(i * hop_in)
        if i:
            target = src[prev + hop_out : prev + hop_out + frame]  # what would follow the previous frame
            lo = max(0, nominal - tolerance)
            windows = np.lib.stride_tricks.sliding_window_view(src[lo : nominal + tolerance + frame], frame)
            nominal = lo + int(np.argmax(windows @ target))
        out[i * hop_out : i * hop_out + frame] += src[nominal : nominal + frame] * w
        norm[i * hop_out : i * hop_out + frame] += w
        prev = nominal
    return (out / np.maximum(norm, 1e-3))[:n_out]


def shift_pitch(x: np.ndarray, semitones: float) -> np.ndarray:
    factor = 2.0 ** (semitones / 12)
    return stretch(change_speed(x, factor), len(x))


def add_noise(x: np.ndarray, snr_db: float, pink: bool, rng: np.random.Generator) -> np.ndarray:
    noise = rng.standard_normal(len(x)).astype(np.float32)
    if pink:  # 1/f power: white noise shaped in the frequency domain
        spec = np.fft.rfft(noise)
        spec /= np.sqrt(np.maximum(np.arange(len(spec)), 1))
        noise = np.fft.irfft(spec, len(x)).astype(np.float32)
    power = float(np.mean(x**2)) + 1e-10
    noise *= np.sqrt(power / (10 ** (snr_db / 10)) / (float(np.mean(noise**2)) + 1e-10))
    return x + noise


def reverberate(x: np.ndarray, rt60_s: float, rng: np.random.Generator) -> np.ndarray:
    """x convolved with a direct path plus noise decaying by 60 dB over rt60_s, scaled to x's peak."""
    n = max(2, int(rt60_s * SAMPLE_RATE))
    t = np.arange(n) / SAMPLE_RATE
    rir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s) * 0.3
    rir[0] = 1.0
    size = 1 << (len(x) + n - 1).bit_length()  # a power of two: FFTs of other sizes can be 10x slower
    wet = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(rir, size), size)[: len(x)]
    return (wet * (np.abs(x).max() / (np.abs(wet).max() + 1e-9))).astype(np.float32)


def augment(x: np.ndarray, cfg: AugmentConfig, rng: random.Random) -> tuple[np.ndarray, float]:
    """(augmented samples, mel warp factor for the front end)."""
    noise_rng = np.random.default_rng(rng.getrandbits(32))
    x = change_speed(x.astype(np.float32), rng.choice(cfg.speeds))
    if rng.random() < cfg.p_pitch:
        x = shift_pitch(x, rng.uniform(-cfg.max_semitones, cfg.max_semitones))
    if rng.random() < cfg.p_reverb:
        x = reverberate(x, rng.uniform(*cfg.rt60_s), noise_rng)
    if rng.random() < cfg.p_noise:
        x = add_noise(x, rng.choice(cfg.snrs_db), rng.random() < 0.5, noise_rng)
    warp = rng.uniform(1 - cfg.vtlp, 1 + cfg.vtlp) if cfg.vtlp else 1.0
    return x, warp
