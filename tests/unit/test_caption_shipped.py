"""The shipped captioning models (checkpoints/caption_{photo,grounded}.safetensors) do what their card says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluation.caption import EVAL_SEED, Tally, captions, forced_attention, load, text
from models.caption.export import export_kind
from models.caption.images import load_image_file
from models.caption.training.data import PhotoData, tokenize
from models.caption.training.metrics import bleu
from models.caption.training.scenes import make_scene, object_spans
from models.training.paths import default_data_dir
from service.tasks import MODELS

CHECKPOINTS = {kind: MODELS[f"caption_{kind}"].checkpoint_paths[0] for kind in ("photo", "grounded")}


@pytest.fixture(scope="module")
def grounded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("caption") / "caption_grounded"
    meta = export_kind("grounded", out, CHECKPOINTS["grounded"])
    assert all(g["max_abs_diff"] < 1e-4 for g in meta["graphs"].values())
    return out


def test_grounded_model_names_the_objects_and_looks_at_them_for_the_colour(grounded: Path) -> None:
    graphs, meta = load(grounded)
    vocab = meta["vocab"]
    scenes = [make_scene(EVAL_SEED, k, "eval") for k in range(40)]
    hyps = captions(graphs, vocab, [s.image.transpose(2, 0, 1).astype(np.float32) for s in scenes], 3, 0.0)
    exact = [text(h, vocab) == " ".join(tokenize(s.caption)) for h, s in zip(hyps, scenes, strict=True)]
    assert sum(exact) >= 36
    tally, index = Tally(meta["grid"][0]), {w: i for i, w in enumerate(vocab)}
    for s in scenes:
        ref = tokenize(s.caption)
        rows = forced_attention(graphs, s.image.transpose(2, 0, 1).astype(np.float32), [index[w] for w in ref])
        for obj, span in zip(s.objects, object_spans(ref) or [], strict=True):
            tally.add(rows, span, obj.box)
    assert np.mean(tally.hits["colour"]) > 0.7  # chance is about 0.06


@pytest.mark.skipif(not (default_data_dir() / "flickr8k_mini").exists(), reason="needs ../shared/data/flickr8k_mini")
def test_photo_model_captions_dev_images_in_the_neighbourhood_of_its_card(tmp_path: Path) -> None:
    meta = export_kind("photo", tmp_path / "caption_photo", CHECKPOINTS["photo"])
    assert meta["grid"] == [7, 7] and all(g["max_abs_diff"] < 1e-4 for g in meta["graphs"].values())
    graphs, meta = load(tmp_path / "caption_photo")
    data = PhotoData.flickr8k_mini(default_data_dir())
    names, caps = data.split("dev")
    names = names[:40]
    hyps = captions(graphs, meta["vocab"], [load_image_file(str(data.images / n), 224) for n in names], 3, 0.0)
    texts = [text(h, meta["vocab"]) for h in hyps]
    assert all(len(t.split()) >= 4 for t in texts)
    assert sum(h.finished for h in hyps) >= 36  # a few loop ("a white shirt and a white shirt ...") to the cap
    assert bleu(texts, [[" ".join(tokenize(c)) for c in caps[n]] for n in names], 1) > 50
