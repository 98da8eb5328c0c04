"""The digit probe's pieces: clips cropped or padded to a fixed width, and the CNN learns a separable task."""

import numpy as np
import torch

from models.speech.training.digit_probe import FRAMES, DigitCNN, fixed, train_eval


def test_fixed_crops_long_clips_centred_and_pads_short_ones():
    long = np.arange((FRAMES + 10) * 2, dtype=np.float32).reshape(FRAMES + 10, 2)
    assert np.array_equal(fixed(long), long[5 : 5 + FRAMES])
    short = np.ones((7, 2), np.float32)
    out = fixed(short)
    assert out.shape == (FRAMES, 2) and out[:7].all() and not out[7:].any()


def test_cnn_gives_ten_logits_for_any_batch():
    assert DigitCNN()(torch.zeros(3, FRAMES, 40)).shape == (3, 10)


def test_train_eval_learns_digits_marked_by_a_band():
    rng = np.random.default_rng(0)
    y = np.arange(200) % 10
    x = rng.normal(0, 0.3, (200, FRAMES, 40)).astype(np.float32)
    x[np.arange(200), :, y * 4] += 2.0  # each class lights its own mel band
    assert train_eval([x[:150]], y[:150], x[150:], y[150:], epochs=8, seed=0) > 0.9
