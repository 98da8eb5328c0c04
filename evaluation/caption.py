"""Evaluate the exported captioning models through ONNX Runtime and the serving search; writes card.json.

    python -m evaluation.caption [--kinds photo,grounded] [--artifacts build/models]

photo: the Flickr8k-subset dev split (113 images, 5 references each; the test split is held back).
  BLEU-1..4 and CIDEr-D (models/caption/training/metrics.py: the COCO caption definitions) for greedy and beam
  search with a few length normalizations; the served default is chosen on this split.
grounded: 1,000 synthetic scenes (seed EVAL_SEED, digit scans unseen in training, scenes unseen in model
  selection). Caption exact match and BLEU-4, and grounding: for each object word, whether the peak of its
  attention map falls inside that object's box. "generated": the words of the model's own captions that
  name the right object in the right place; "forced": every object word of the reference caption, fed
  to the decoder. Chance is the share of grid cells inside the box: where a random peak would land.
  The doubly stochastic regularizer ablation (lambda = 0) is exported and scored the same way when its
  checkpoint (checkpoints/caption-grounded-reg0.safetensors) is present.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.precision import Measure, compare_precisions
from models.caption.export import CARD, ROOT, export_kind
from models.caption.images import load_image_file
from models.caption.search import CaptionQuery, decode
from models.caption.training.data import PhotoData, tokenize
from models.caption.training.metrics import bleu, cider_d
from models.caption.training.scenes import SIZE, Scene, make_scene, object_spans
from models.tokens import BOS_ID, EOS_ID
from models.training.checkpoints import read_metadata
from models.training.paths import default_data_dir
from service.engine.runtimes import EncoderDecoderGraphs, RuntimeOptions, make_runtime, read_meta
from service.tasks import MODELS

EVAL_SEED, EVAL_SCENES = 2_000_003, 1000
# name -> (beam size, length alpha, block <unk>). The served default is beam3 (block_unk on).
PHOTO_SEARCHES = {"greedy": (1, 0.0, True), "beam3": (3, 0.0, True), "beam3_unk_allowed": (3, 0.0, False),
                  "beam3_a0.5": (3, 0.5, True), "beam5": (5, 0.0, True), "beam5_a0.5": (5, 0.5, True)}  # fmt: skip
CHUNK = 32
ABLATION = ROOT / "checkpoints" / "caption-grounded-reg0.safetensors"
PHOTO_ABLATION = ROOT / "checkpoints" / "caption-photo-reg1.safetensors"
CHECKPOINTS = {kind: MODELS[f"caption_{kind}"].checkpoint_paths[0] for kind in ("photo", "grounded")}


def load(folder: Path) -> tuple[EncoderDecoderGraphs, dict[str, Any]]:
    meta = read_meta(folder)
    runtime = make_runtime("onnx", folder, ["encode", "decode_step"], RuntimeOptions(device="cpu"))
    return EncoderDecoderGraphs(runtime, meta), meta


def captions(
    graphs: EncoderDecoderGraphs, vocab: list[str], images: list[np.ndarray], beam: int, alpha: float, block_unk: bool = True
) -> list[Any]:
    hyps = []
    for i in range(0, len(images), CHUNK):
        queries = [CaptionQuery(im, beam, 1, 30, alpha, block_unk) for im in images[i : i + CHUNK]]
        hyps += [h[0] for h in decode(graphs, queries, len(vocab))]
    return hyps


def text(h: Any, vocab: list[str]) -> str:
    return " ".join(vocab[i] for i in h.ids if i > EOS_ID)


def photo_dev(data_dir: Path, size: int) -> tuple[list[str], list[list[str]], list[np.ndarray]]:
    """The Flickr8k subset's dev split: image names, their reference captions, the images at `size` px."""
    data = PhotoData.flickr8k_mini(data_dir)
    names, caps = data.split("dev")
    refs = [[" ".join(tokenize(c)) for c in caps[n]] for n in names]
    return names, refs, [load_image_file(str(data.images / n), size) for n in names]


def grounded_eval() -> tuple[list[Scene], list[np.ndarray], list[list[str]]]:
    """The held-out scenes, their images as the model reads them, and their one reference caption each."""
    scenes = [make_scene(EVAL_SEED, k, "eval") for k in range(EVAL_SCENES)]
    images = [s.image.transpose(2, 0, 1).astype(np.float32) for s in scenes]
    return scenes, images, [[" ".join(tokenize(s.caption))] for s in scenes]


def evaluate_photo(folder: Path, data_dir: Path) -> dict[str, Any]:
    graphs, meta = load(folder)
    vocab = meta["vocab"]
    names, refs, images = photo_dev(data_dir, meta["image_size"])
    out: dict[str, Any] = {"split": "flickr8k_mini dev", "images": len(names), "references_per_image": 5, "searches": {}}
    for name, (beam, alpha, block_unk) in PHOTO_SEARCHES.items():
        t0 = time.time()
        hyps = [text(h, vocab) for h in captions(graphs, vocab, images, beam, alpha, block_unk)]
        row = {f"bleu{n}": bleu(hyps, refs, n) for n in (1, 2, 3, 4)} | {"cider_d": cider_d(hyps, refs)}
        row["mean_words"] = round(float(np.mean([len(h.split()) for h in hyps])), 2)
        row["distinct_captions"] = len(set(hyps))
        out["searches"][name] = row
        print(f"photo {name}: {json.dumps(row)} ({time.time() - t0:.0f}s)", flush=True)
        if name == "beam3":
            rows = list(zip(names, hyps, refs, strict=True))[:8]
            out["examples"] = [{"image": n, "caption": h, "reference": r[0]} for n, h, r in rows]
    return out


def inside_cells(box: tuple[int, int, int, int], grid: int) -> np.ndarray:
    """(grid * grid,) bool: the cells whose centre lies inside the box (row-major, as attention is)."""
    centres = (np.arange(grid) + 0.5) * SIZE / grid
    rows = (centres >= box[1]) & (centres < box[3])
    cols = (centres >= box[0]) & (centres < box[2])
    return np.outer(rows, cols).ravel()


def forced_attention(graphs: EncoderDecoderGraphs, image: np.ndarray, ids: list[int]) -> list[np.ndarray]:
    """Attention rows when the decoder is fed the reference caption (one row per reference word)."""
    memory, keys, h, _ = graphs.encode(image[None])
    mask = np.ones(memory.shape[:2], dtype=bool)
    ctx = np.zeros((1, memory.shape[-1]), dtype=np.float32)
    rows, y = [], BOS_ID
    for t in ids:
        _, attn, _, h, ctx = graphs.step(np.array([y], dtype=np.int64), h, ctx, memory, keys, mask)
        rows.append(attn[0])
        y = t
    return rows


class Tally:
    """Per word type (colour, kind = shape or digit): peak-in-box hits, attention mass inside the box,
    and how far the peak cell's centre is from the box (0 inside), in pixels."""

    def __init__(self, grid: int) -> None:
        self.grid = grid
        self.hits: dict[str, list[bool]] = {"colour": [], "kind": []}
        self.mass: dict[str, list[float]] = {"colour": [], "kind": []}
        self.dist: dict[str, list[float]] = {"colour": [], "kind": []}

    def add(self, rows: list[np.ndarray], span: tuple[int, int], box: tuple[int, int, int, int]) -> None:
        inside = inside_cells(box, self.grid)
        for t, kind in zip(span, ("colour", "kind"), strict=True):
            peak = int(rows[t].argmax())
            self.hits[kind].append(bool(inside[peak]))
            self.mass[kind].append(float(rows[t][inside].sum()))
            r, c = divmod(peak, self.grid)
            x, y = (c + 0.5) * SIZE / self.grid, (r + 0.5) * SIZE / self.grid
            self.dist[kind].append(float(np.hypot(max(box[0] - x, 0, x - box[2]), max(box[1] - y, 0, y - box[3]))))

    def summary(self, prefix: str) -> dict[str, Any]:
        pct = lambda xs: round(100 * float(np.mean(xs)), 2) if xs else 0.0  # noqa: E731
        both = self.hits["colour"] + self.hits["kind"]
        out = {f"{prefix}_peak_in_box": pct(both), f"{prefix}_object_words": len(both)}
        for kind in ("colour", "kind"):
            out[f"{prefix}_peak_in_box_{kind}"] = pct(self.hits[kind])
            out[f"{prefix}_mass_in_box_{kind}"] = pct(self.mass[kind])
            out[f"{prefix}_median_peak_distance_px_{kind}"] = round(float(np.median(self.dist[kind])), 1) if both else 0.0
        return out


def grounding(scenes: list[Scene], hyps: list[Any], graphs: EncoderDecoderGraphs, vocab: list[str], grid: int) -> dict[str, Any]:
    index = {w: i for i, w in enumerate(vocab)}
    generated, forced, chance = Tally(grid), Tally(grid), []
    for scene, h in zip(scenes, hyps, strict=True):
        words = [vocab[i] for i in h.ids]
        for k, span in enumerate(object_spans(words) or []):
            if k < len(scene.objects) and (words[span[0]], words[span[1]]) == scene.objects[k].words:
                generated.add(h.attention, span, scene.objects[k].box)
        ref = tokenize(scene.caption)
        rows = forced_attention(graphs, scene.image.transpose(2, 0, 1).astype(np.float32), [index[w] for w in ref])
        for obj, span in zip(scene.objects, object_spans(ref) or [], strict=True):
            forced.add(rows, span, obj.box)
            chance.append(float(inside_cells(obj.box, grid).mean()))
    return generated.summary("generated") | forced.summary("forced") | {"chance": round(100 * float(np.mean(chance)), 2)}


def evaluate_grounded(folder: Path) -> dict[str, Any]:
    graphs, meta = load(folder)
    vocab, grid = meta["vocab"], meta["grid"][0]
    scenes, images, refs = grounded_eval()
    out: dict[str, Any] = {"split": f"{EVAL_SCENES} scenes, seed {EVAL_SEED}, held-out digit scans", "searches": {}}
    for name, beam in (("greedy", 1), ("beam3", 3)):
        t0 = time.time()
        hyps = captions(graphs, vocab, images, beam, 0.0)
        texts = [text(h, vocab) for h in hyps]
        exact = float(np.mean([t == r[0] for t, r in zip(texts, refs, strict=True)]))
        row: dict[str, Any] = {"exact_match": round(100 * exact, 2), "bleu4": bleu(texts, refs, 4)}
        if name == "beam3":
            row |= grounding(scenes, hyps, graphs, vocab, grid)
        out["searches"][name] = row
        print(f"grounded {folder.name} {name}: {json.dumps(row)} ({time.time() - t0:.0f}s)", flush=True)
    return out


def trained_reg(checkpoint: Path) -> float:
    """The doubly stochastic weight (lambda) a checkpoint was trained with, from its metadata."""
    return float(json.loads(read_metadata(checkpoint)["args"])["reg"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kinds", default="photo,grounded")
    p.add_argument("--artifacts", type=Path, default=Path("build/models"))
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    p.add_argument("--photo-ablation", type=Path, default=PHOTO_ABLATION, help="the photo model trained with the other lambda")
    args = p.parse_args()
    card: dict[str, Any] = json.loads(CARD.read_text()) if CARD.exists() else {}
    kinds = args.kinds.split(",")
    if "photo" in kinds:
        card["photo"] = evaluate_photo(args.artifacts / "caption_photo", args.data_dir) | {
            "reg": trained_reg(CHECKPOINTS["photo"])
        }
        if args.photo_ablation.exists():
            export_kind("photo", Path("build/ablation/caption_photo"), args.photo_ablation)
            ablation = evaluate_photo(Path("build/ablation/caption_photo"), args.data_dir)
            card["photo"]["ablation"] = ablation | {"reg": trained_reg(args.photo_ablation)}
    if "grounded" in kinds:
        card["grounded"] = evaluate_grounded(args.artifacts / "caption_grounded") | {"reg": trained_reg(CHECKPOINTS["grounded"])}
        if ABLATION.exists():
            ablation_dir = Path("build/ablation/caption_grounded")
            export_kind("grounded", ablation_dir, ABLATION)
            card["grounded"]["ablation"] = evaluate_grounded(ablation_dir) | {"reg": trained_reg(ABLATION)}
    for kind in kinds:
        folder = args.artifacts / f"caption_{kind}"
        card[kind]["precision"] = compare_precisions(f"caption_{kind}", folder, int8_measure(kind, folder, args.data_dir))
    CARD.write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {CARD}")


def int8_measure(kind: str, folder: Path, data_dir: Path) -> Measure:
    """Beam 3, the served search: photo dev BLEU-4 and CIDEr-D; grounded eval scenes exact match. The
    images are read once, for both precisions."""
    if kind == "photo":
        _, refs, images = photo_dev(data_dir, int(read_meta(folder)["image_size"]))
    else:
        _, images, refs = grounded_eval()

    def measure(handler: Any) -> dict[str, Any]:
        vocab = handler.meta["vocab"]
        hyps = [text(h, vocab) for h in captions(handler.graph_runner(), vocab, images, 3, 0.0)]
        if kind == "photo":
            return {"dev_beam3_bleu4": bleu(hyps, refs, 4), "dev_beam3_cider_d": cider_d(hyps, refs)}
        exact = np.mean([h == r[0] for h, r in zip(hyps, refs, strict=True)])
        return {"eval_beam3_exact_match": round(100 * float(exact), 2)}

    return measure


if __name__ == "__main__":
    main()
