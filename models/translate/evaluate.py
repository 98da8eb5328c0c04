"""Evaluate the exported translation model with sacreBLEU and chrF, through the serving search code.

    python -m models.translate.evaluate [--artifacts build/models/translate] [--splits val,test2016]

Search settings are compared on val (greedy, beam 5, + length normalization, + coverage penalty); the
card reports each on every split given, so the setting is chosen on val and test2016 is read once.
BLEU is corpus sacreBLEU on detokenized output against the raw references (signature printed).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import sacrebleu

from models.translate.data import default_data_dir, read_split
from models.translate.vocab import detokenize
from service.engine.runtimes import RuntimeOptions, make_runtime, read_meta
from service.handlers.translate import TranslateHandler
from service.schemas.translate import TranslateRequest
from service.settings import TranslateSettings

SEARCHES: dict[str, dict[str, float]] = {
    "greedy": {"beam_size": 1},
    "beam5": {"beam_size": 5},
    "beam5_lp": {"beam_size": 5, "alpha": 0.6},
    "beam5_lp_cov": {"beam_size": 5, "alpha": 0.6, "beta": 0.2},
}
CHUNK = 32  # texts per call: the server's default per-request limit


def translate_all(handler: TranslateHandler, sentences: list[str], search: dict[str, float]) -> tuple[list[str], int]:
    """Detokenized translations, and how many output tokens were copies of unknown source words.

    Requests go through the handler's own validation and prediction, exactly as the server builds them.
    """
    v = len(handler.tgt_vocab)
    out, copies = [], 0
    for start in range(0, len(sentences), CHUNK):
        req = TranslateRequest(text=sentences[start : start + CHUNK], beam_size=int(search["beam_size"]),
                               length_alpha=search.get("alpha", 0.0), coverage_beta=search.get("beta", 0.0))  # fmt: skip
        items = handler.validate(req)
        for item, hyps in zip(items, handler.predict(items), strict=True):
            words = handler.tgt_vocab.itos + item.oovs
            copies += sum(i >= v for i in hyps[0].ids)
            out.append(detokenize([words[i] for i in hyps[0].ids], "en"))
    return out, copies


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifacts", type=Path, default=Path("build/models/translate"))
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--splits", default="val,test2016")
    p.add_argument("--searches", default=",".join(SEARCHES))
    p.add_argument("--card", type=Path, default=Path("models/translate/card.json"))
    args = p.parse_args()
    data_dir = args.data_dir or default_data_dir()
    handler = TranslateHandler(args.artifacts, TranslateSettings())
    handler.load(make_runtime("onnx", args.artifacts, handler.graphs, RuntimeOptions(device="cpu")))
    metrics: dict[str, Any] = {}
    signature = ""
    print("| split | search | BLEU | chrF | copied tokens | seconds |\n|---|---|---|---|---|---|")
    for split in args.splits.split(","):
        src, refs = read_split(data_dir, split)
        for name in args.searches.split(","):
            t0 = time.time()
            hyps, copies = translate_all(handler, src, SEARCHES[name])
            bleu = sacrebleu.metrics.BLEU()
            b = bleu.corpus_score(hyps, [refs])
            c = sacrebleu.corpus_chrf(hyps, [refs])
            signature = str(bleu.get_signature())
            metrics[f"{split}_{name}"] = {"bleu": round(b.score, 2), "chrf": round(c.score, 2), "copied_tokens": copies}
            print(f"| {split} | {name} | {b.score:.2f} | {c.score:.2f} | {copies} | {time.time() - t0:.0f} |", flush=True)
    card = {"task": "German->English (Multi30k task 1)", "sacrebleu_signature": signature,
            "checkpoint_sha256": read_meta(args.artifacts).get("checkpoint_sha256"), "metrics": metrics}  # fmt: skip
    args.card.write_text(json.dumps(card, indent=2) + "\n")
    print(f"sacreBLEU signature: {signature}\nwrote {args.card}")


if __name__ == "__main__":
    main()
