"""Captioning: synthetic scenes, metrics (checked against pycocoevalcap's numbers), images, model, export, search."""

from __future__ import annotations

import argparse
import io
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from models.caption.export import export_kind
from models.caption.images import ImageError, TooManyPixels, decode_image, heatmap_overlay, to_model_input
from models.caption.search import CaptionQuery, decode
from models.caption.training.checkpoint import load_checkpoint, save_checkpoint
from models.caption.training.data import PhotoData, tokenize
from models.caption.training.metrics import CiderD, bleu, cider_d
from models.caption.training.model import CaptionConfig, Captioner
from models.caption.training.scenes import COLORS, DIGITS, SHAPES, SIZE, digit_pool, make_scene, object_spans
from models.caption.training.scst import policy_loss, rollout, to_text
from models.caption.training.train import grounded_vocab, targets
from models.training.paths import default_data_dir
from service.engine.runtimes import EncoderDecoderGraphs, OnnxRuntime, RuntimeOptions, read_meta
from tests.helpers import EagerGraphs

# --- scenes ---------------------------------------------------------------------------------------------------


def test_scenes_are_a_pure_function_of_seed_and_index() -> None:
    a, b = make_scene(3, 17), make_scene(3, 17)
    assert np.array_equal(a.image, b.image) and a.objects == b.objects
    assert not np.array_equal(make_scene(3, 18).image, a.image)


def test_scene_captions_name_the_objects_left_to_right_in_their_boxes() -> None:
    for k in range(200):
        s = make_scene(0, k)
        assert s.image.shape == (SIZE, SIZE, 3) and s.image.dtype == np.uint8 and 1 <= len(s.objects) <= 3
        centres = [(o.box[0] + o.box[2]) / 2 for o in s.objects]
        assert centres == sorted(centres)
        words = tokenize(s.caption)
        spans = object_spans(words)
        assert spans is not None and [(words[i], words[j]) for i, j in spans] == [o.words for o in s.objects]
        for o in s.objects:
            x0, y0, x1, y1 = o.box
            assert 0 <= x0 < x1 <= SIZE and 0 <= y0 < y1 <= SIZE
            assert o.color in COLORS and o.kind in (*SHAPES, *DIGITS)
            # The object is drawn: its box is brighter than the dark background on average.
            assert s.image[y0:y1, x0:x1].mean() > s.image.mean() * 0.9


def test_eval_scenes_use_digit_scans_training_never_sees() -> None:
    assert not set(digit_pool("train")) & set(digit_pool("eval"))
    assert len(digit_pool("eval")) > 300


def test_object_spans_needs_color_then_kind() -> None:
    assert object_spans(["a", "red", "circle", "and", "a", "blue", "seven"]) == [(1, 2), (5, 6)]
    assert object_spans(["a", "circle"]) is None


# --- metrics --------------------------------------------------------------------------------------------------


def random_captions() -> tuple[list[str], list[list[str]]]:
    rng = random.Random(0)
    words = [
        "a",
        "dog",
        "cat",
        "runs",
        "on",
        "the",
        "grass",
        "two",
        "men",
        "play",
        "ball",
        "in",
        "park",
        "red",
        "shirt",
        "girl",
        "boy",
        "water",
        "jumps",
    ]
    hyps = [" ".join(rng.choices(words, k=rng.randint(3, 9))) for _ in range(30)]
    refs = [[" ".join(rng.choices(words, k=rng.randint(4, 10))) for _ in range(5)] for _ in range(30)]
    refs[0][0] = hyps[0]
    return hyps, refs


def test_bleu_and_cider_match_the_coco_caption_scorers() -> None:
    # Reference numbers from pycocoevalcap 1.2 (Bleu(4), Cider) on these captions, computed once offline:
    # it is a 100 MB wheel last released in 2020, so it is not a dependency.
    hyps, refs = random_captions()
    assert [bleu(hyps, refs, n) for n in (1, 2, 3, 4)] == [76.63, 29.93, 17.16, 13.4]
    assert cider_d(hyps, refs) == pytest.approx(0.58657, abs=5e-4)


def test_bleu_matches_sacrebleu() -> None:
    import sacrebleu

    hyps, refs = random_captions()
    for n in (1, 4):
        ref = sacrebleu.metrics.BLEU(tokenize="none", smooth_method="none", max_ngram_order=n)
        assert bleu(hyps, refs, n) == pytest.approx(
            ref.corpus_score(hyps, [list(r) for r in zip(*refs, strict=True)]).score, abs=0.01
        )


# --- images ---------------------------------------------------------------------------------------------------


def png(w: int, h: int, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), color=(10, 200, 30, 255)[: len(mode)] if mode != "L" else 80).save(buf, format="PNG")
    return buf.getvalue()


def test_decode_resizes_and_converts_any_mode() -> None:
    for mode in ("RGB", "RGBA", "L"):
        img = decode_image(png(30, 20, mode), 10_000)
        assert img.mode == "RGB" and img.size == (30, 20)
        x = to_model_input(img, 96)
        assert x.shape == (3, 96, 96) and x.dtype == np.float32 and 0 <= x.min() <= x.max() <= 255


@pytest.mark.parametrize(
    ("data", "error", "fragment"),
    [(b"", ImageError, "empty"), (b"not an image", ImageError, "not a PNG or JPEG"), (png(64, 64)[:60], ImageError, "corrupt"),
     (png(200, 200), TooManyPixels, "40000 pixels")],
)  # fmt: skip
def test_decode_refuses_bad_data(data: bytes, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        decode_image(data, 10_000)


def test_overlay_is_a_png_of_the_image_with_heat_where_attention_is() -> None:
    weights = np.zeros((4, 4))
    weights[0, 3] = 1.0  # top right
    out = Image.open(io.BytesIO(heatmap_overlay(Image.new("RGB", (80, 40), (0, 0, 255)), weights)))
    px = np.asarray(out.convert("RGB"), dtype=float)
    assert out.format == "PNG" and out.size == (80, 40)
    assert px[2:8, 65:78, 0].mean() > 100 > 30 > px[30:38, 2:15, 0].mean()  # red where it looked, not elsewhere


# --- model, export, search ------------------------------------------------------------------------------------


def tiny(backbone: str = "small-cnn", size: int = 96) -> Captioner:
    torch.manual_seed(0)
    cfg = CaptionConfig(vocab=len(grounded_vocab()), backbone=backbone, image_size=size, dim=16, emb=8, hidden=16, attn=8,
                        dropout=0.0)  # type: ignore[arg-type]  # fmt: skip
    return Captioner(cfg)


def scene_batch(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    index = {w: i for i, w in enumerate(grounded_vocab())}
    scenes = [make_scene(5, k) for k in range(n)]
    images = torch.from_numpy(np.stack([s.image.transpose(2, 0, 1) for s in scenes]).astype(np.float32))
    return images, *targets([[index[w] for w in tokenize(s.caption)] for s in scenes])


def test_loss_falls_when_fitting_a_batch_and_the_doubly_stochastic_term_is_reported() -> None:
    model = tiny()
    images, tgt_in, tgt_out = scene_batch(8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss, doubly = model.loss(model.encoder.backbone(images), tgt_in, tgt_out, reg=0.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        assert 0 <= doubly.item() <= 1
    assert losses[-1] < 0.7 * losses[0]
    with_reg, doubly = model.loss(model.encoder.backbone(images), tgt_in, tgt_out, reg=2.0)
    assert with_reg.item() == pytest.approx(
        model.loss(model.encoder.backbone(images), tgt_in, tgt_out, reg=0.0)[0].item() + 2 * doubly.item(), rel=1e-5
    )


def test_rollout_stops_each_caption_at_its_end_and_never_emits_what_serving_blocks() -> None:
    model = tiny()
    with torch.no_grad():
        grids = model.encoder.backbone(scene_batch(4)[0])
    torch.manual_seed(1)
    words, logp = rollout(model, grids, 3, 12, greedy=False)
    assert words.shape[0] == 12 and logp.shape == (12,) and logp.requires_grad and bool((logp < 0).all())
    for row in words.tolist():
        end = row.index(3) if 3 in row else len(row)
        assert all(t > 3 for t in row[:end]) and all(t == 0 for t in row[end + 1 :])
    greedy_words, _ = rollout(model.eval(), grids, 2, 12, greedy=True)
    assert torch.equal(greedy_words[0::2], greedy_words[1::2])  # greedy repeats are identical


@pytest.mark.parametrize("baseline", ["greedy", "mean"])
def test_self_critical_training_raises_the_cider_reward(baseline: str) -> None:
    """A few policy-gradient steps on a tiny untrained captioner: the sampled captions' CIDEr-D against the
    scenes' captions goes up (the reward is what the update climbs, so this fails if the sign or the
    baseline is wrong)."""
    model = tiny()
    images, _, _ = scene_batch(8)
    with torch.no_grad():
        grids = model.encoder.backbone(images)
    cider = CiderD([[" ".join(tokenize(make_scene(5, k).caption))] for k in range(8)])
    args = argparse.Namespace(samples=8, max_len=10, baseline=baseline, sample_dropout=False)
    opt = torch.optim.Adam(model.step.parameters(), lr=3e-2)
    torch.manual_seed(0)
    rewards = []
    for _ in range(40):
        loss, reward, _ = policy_loss(model, grids, list(range(8)), cider, grounded_vocab(), args)
        opt.zero_grad()
        loss.backward()
        opt.step()
        rewards.append(reward)
    assert np.mean(rewards[-5:]) > 1.4 * np.mean(rewards[:5])
    assert to_text(torch.tensor([[5, 6, 3, 0]]), grounded_vocab()) == [" ".join(grounded_vocab()[5:7])]


def test_exported_graphs_and_search_match_eager_at_other_batch_sizes(tmp_path: Path) -> None:
    model = tiny()
    save_checkpoint(model, grounded_vocab(), tmp_path / "c.safetensors", {"epoch": 3})
    model, vocab = load_checkpoint(tmp_path / "c.safetensors")
    meta = export_kind("grounded", tmp_path / "out", tmp_path / "c.safetensors")
    assert meta["grid"] == [12, 12] and meta["vocab"] == vocab and meta["version"] == "3"
    runtime = OnnxRuntime(tmp_path / "out", ["encode", "decode_step"], RuntimeOptions())
    onnx = EncoderDecoderGraphs(runtime, read_meta(tmp_path / "out"))
    eager = EagerGraphs(model.encoder, model.step)
    queries = [CaptionQuery(make_scene(9, k).image.transpose(2, 0, 1).astype(np.float32), 3, 2, 8) for k in range(5)]
    got, want = decode(onnx, queries, len(vocab)), decode(eager, queries, len(vocab))
    alone = [decode(onnx, [q], len(vocab))[0] for q in queries]
    for g, w, a in zip(got, want, alone, strict=True):
        assert [h.ids for h in g] == [h.ids for h in w] == [h.ids for h in a]
        assert [h.log_prob for h in g] == pytest.approx([h.log_prob for h in w], abs=1e-4)


def test_efficientnet_encoder_exports_with_a_7x7_grid(tmp_path: Path) -> None:
    model = tiny("efficientnet-lite0", 224)
    save_checkpoint(model, grounded_vocab(), tmp_path / "p.safetensors", {"epoch": 0})
    meta = export_kind("photo", tmp_path / "out", tmp_path / "p.safetensors")  # raises if ORT or TorchScript disagree
    assert meta["grid"] == [7, 7] and meta["image_size"] == 224
    assert meta["graphs"]["encode"]["max_abs_diff"] < 1e-4


def test_imagenet_weights_load_offline_from_the_installed_package() -> None:
    from models.caption.training.model import load_imagenet_weights

    model = tiny("efficientnet-lite0", 224)
    before = model.encoder.backbone.net._conv_stem.weight.clone()
    load_imagenet_weights(model)
    assert not torch.equal(before, model.encoder.backbone.net._conv_stem.weight)


@pytest.mark.skipif(not (default_data_dir() / "flickr8k_mini").exists(), reason="needs ../shared/data/flickr8k_mini")
def test_flickr8k_mini_splits() -> None:
    data = PhotoData.flickr8k_mini(default_data_dir())
    train, train_caps = data.split("train")
    dev, dev_caps = data.split("dev")
    assert (len(train), len(dev)) == (753, 113) and not set(train) & set(dev)
    assert all(len(c) == 5 for c in (*train_caps.values(), *dev_caps.values()))


def test_a_coco_caption_file_without_split_lists_trains_on_a_fixed_split(tmp_path: Path) -> None:
    import json

    images = tmp_path / "images"
    images.mkdir()
    for k in range(40):
        Image.new("RGB", (8, 8)).save(images / f"{k:03d}.jpg")
    coco = {"images": [{"id": k, "file_name": f"{k:03d}.jpg"} for k in range(41)],  # 040.jpg is missing
            "annotations": [{"image_id": k, "caption": f"A picture number {k}."} for k in range(41)]}  # fmt: skip
    (tmp_path / "captions.json").write_text(json.dumps(coco))
    data = PhotoData(tmp_path / "captions.json", images, None, None)
    train, train_caps = data.split("train")
    dev, _ = data.split("dev")
    assert dev == ["000.jpg", "020.jpg"] and len(train) == 38 and not set(train) & set(dev)
    assert train_caps["001.jpg"] == ["A picture number 1."]
