"""The array beam search against the per-hypothesis search it replaced, on the shipped models and their
evaluation sets: every hypothesis's ids must be the same and its score within 1e-5; and the time each
search takes on the same batches (the decoder graph calls included), as a ratio measured in one run.

    python -m benchmarks.search_parity [--artifacts build/models] [--sets translate,speech,caption]

Sets: Multi30k val (1,014 sentences; beam 5, alpha 0.4: the served default, and greedy), the speech dev
sets (FSDD takes 0-4 and the unseen-voice synthetic set; greedy, the served default, and beam 4), the
captioning photo dev images (beam 3, the served default) and 1,000 grounded eval scenes (beam 3). Batches
of 32, as `make eval` runs them. Exit status 1 if any hypothesis differs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from models.beam import Encoded, Hypothesis, SearchQuery, beam_search
from service.engine.registry import loaded_handler
from tests.reference_search import reference_beam_search

Search = Callable[[Any, Encoded, list[SearchQuery], int], list[list[Hypothesis]]]
CHUNK = 32


def batches(handler: Any, items: list[Any]) -> Iterator[tuple[Encoded, list[SearchQuery]]]:
    for start in range(0, len(items), CHUNK):
        yield handler.encoded(items[start : start + CHUNK])


def compare(name: str, handler: Any, items: list[Any]) -> tuple[int, int, float, float]:
    """(hypotheses, differing, seconds new, seconds reference) over the items, batch by batch."""
    graphs, vocab = handler.graph_runner(), handler.vocab_size
    encoded = list(batches(handler, items))  # encoder runs once; both searches step the same decoder
    results, seconds = [], []
    for search in (beam_search, reference_beam_search):
        t0 = time.perf_counter()
        results.append([h for enc, qs in encoded for h in search(graphs, enc, qs, vocab)])
        seconds.append(time.perf_counter() - t0)
    new, ref = results
    total = differing = 0
    for a, b in zip(new, ref, strict=True):
        for x, y in zip(a, b, strict=True):
            total += 1
            if x.ids != y.ids or x.finished != y.finished or abs(x.score - y.score) > 1e-5:
                differing += 1
        differing += abs(len(a) - len(b))
    print(f"| {name} | {len(items)} | {total} | {differing} | {seconds[0]:.2f} | {seconds[1]:.2f} | "
          f"{seconds[1] / seconds[0]:.2f}x |", flush=True)  # fmt: skip
    return total, differing, seconds[0], seconds[1]


def translate_sets(artifacts: Path, data_dir: Path) -> Iterator[tuple[str, Any, list[Any]]]:
    from models.translate.schemas import TranslateRequest
    from models.translate.training.data import read_split

    handler = loaded_handler("translate", artifacts / "translate")
    src, _ = read_split(data_dir, "val")
    for name, beam in (("translate val beam5 a0.4", 5), ("translate val greedy", 1)):
        items = [
            it
            for s in range(0, len(src), CHUNK)
            for it in handler.decode(TranslateRequest(text=src[s : s + CHUNK], beam_size=beam))
        ]
        yield name, handler, items


def speech_sets(artifacts: Path, data_dir: Path) -> Iterator[tuple[str, Any, list[Any]]]:
    from evaluation.speech import dev_sets
    from models.speech.schemas import TranscribeOptions
    from service.schemas.common import Upload

    handler = loaded_handler("speech", artifacts / "speech")
    for set_name, (audio, _) in dev_sets(data_dir).items():
        for beam in (1, 4):
            items = [handler.decode(Upload(a, TranscribeOptions(beam_size=beam)))[0] for a in audio]
            yield f"speech {set_name} beam{beam}", handler, items


def caption_sets(artifacts: Path, data_dir: Path) -> Iterator[tuple[str, Any, list[Any]]]:
    from evaluation.caption import EVAL_SCENES, EVAL_SEED
    from models.caption.images import load_image_file
    from models.caption.search import CaptionQuery
    from models.caption.training.data import PhotoData
    from models.caption.training.scenes import make_scene

    photo = loaded_handler("caption_photo", artifacts / "caption_photo")
    data = PhotoData.flickr8k_mini(data_dir)
    names, _ = data.split("dev")
    queries = [CaptionQuery(load_image_file(str(data.images / n), 224), 3, 1, 30, 0.0, True) for n in names]
    yield "caption photo dev beam3", photo, [_CaptionItem(q) for q in queries]
    grounded = loaded_handler("caption_grounded", artifacts / "caption_grounded")
    scenes = [make_scene(EVAL_SEED, k, "eval") for k in range(EVAL_SCENES)]
    queries = [CaptionQuery(s.image.transpose(2, 0, 1).astype(np.float32), 3, 1, 30, 0.0, True) for s in scenes]
    yield "caption grounded eval beam3", grounded, [_CaptionItem(q) for q in queries]


class _CaptionItem:
    """What the caption handler's `encoded` reads of an item: its query."""

    def __init__(self, query: Any) -> None:
        self.query = query


SETS = {"translate": translate_sets, "speech": speech_sets, "caption": caption_sets}


def main() -> None:
    from models.training.paths import default_data_dir

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifacts", type=Path, default=Path("build/models"))
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--sets", default=",".join(SETS))
    args = p.parse_args()
    data_dir = args.data_dir or default_data_dir()
    print(
        "| set | inputs | hypotheses | differing | array search s | per-hypothesis s | speed-up |\n|---|---|---|---|---|---|---|"
    )
    bad = 0
    for key in args.sets.split(","):
        for name, handler, items in SETS[key](args.artifacts, data_dir):
            bad += compare(name, handler, items)[1]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
