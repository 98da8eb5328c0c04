"""Shared test helpers: a tiny seeded hull model, exported once per session, and graph adapters."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from models.hull.training.checkpoint import load_checkpoint, save_checkpoint
from models.hull.training.model import PointerNet, PointerNetConfig


async def until(condition: Callable[[], object], timeout_s: float = 10) -> None:
    """Wait (polling) until `condition()` is truthy: tests wait for states, not for fixed sleeps."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.002)


def formed_a_batch(metrics_text: str, model: str) -> bool:
    """Whether at least one batch of `model` held more than one item (seq2serve_batch_size's histogram)."""
    pattern = rf'seq2serve_batch_size_bucket\{{le="([\d.]+)",model="{model}"\}} ([\d.]+)'
    counts = {float(le): float(v) for le, v in re.findall(pattern, metrics_text)}
    return bool(counts) and counts[1.0] < counts[max(counts)]


TINY = PointerNetConfig(d_model=32, n_heads=4, n_layers=1, d_ff=64)


def tiny_hull_checkpoint(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    save_checkpoint(PointerNet(TINY), path, {"step": 0})
    return path


class EagerGraphs:
    """`encode` / `step` over eager torch modules: the reference the exported graphs are compared to."""

    def __init__(self, encoder: torch.nn.Module, step: torch.nn.Module) -> None:
        self.encoder, self.step_module = encoder.eval(), step.eval()

    @staticmethod
    def _run(module: torch.nn.Module, arrays: tuple[np.ndarray, ...]) -> list[np.ndarray]:
        with torch.no_grad():
            return [t.numpy() for t in module(*(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays))]

    def encode(self, *arrays: np.ndarray) -> list[np.ndarray]:
        return self._run(self.encoder, arrays)

    def step(self, *arrays: np.ndarray) -> list[np.ndarray]:
        return self._run(self.step_module, arrays)


def eager_graphs(checkpoint: Path) -> EagerGraphs:
    model = load_checkpoint(checkpoint)
    return EagerGraphs(model.encoder, model.step)


TRANSLATE_DE = ["ein mann fährt fahrrad .", "eine frau liest ein buch .", "zwei hunde spielen im park .",
                "ein kind isst einen apfel .", "der mann liest ein buch im park ."]  # fmt: skip
TRANSLATE_EN = ["a man rides a bike .", "a woman reads a book .", "two dogs play in the park .",
                "a child eats an apple .", "the man reads a book in the park ."]  # fmt: skip


def tiny_translate_checkpoint(path: Path, seed: int = 0, enc_layers: int = 1, subwords: int = 0) -> Path:
    """An untrained, seeded translation model with vocabularies from a five-sentence corpus (of BPE pieces,
    `subwords` of them, learned on it, when given)."""
    from models.translate.subwords import Subwords
    from models.translate.training.checkpoint import save_checkpoint as save_translate
    from models.translate.training.model import Seq2Seq, Seq2SeqConfig
    from models.translate.vocab import Vocab

    de, en = [s.split() for s in TRANSLATE_DE], [s.split() for s in TRANSLATE_EN]
    bpe = Subwords.learn(de + en, subwords) if subwords else None
    if bpe is not None:
        de, en = [bpe.split(s) for s in de], [bpe.split(s) for s in en]
    src, tgt = Vocab.build(de, min_freq=1), Vocab.build(en, min_freq=1)
    torch.manual_seed(seed)
    cfg = Seq2SeqConfig(len(src), len(tgt), emb=16, enc_hidden=16, dec_hidden=24, attn=16, dropout=0.0, enc_layers=enc_layers)
    save_translate(Seq2Seq(cfg), src, tgt, path, {"epoch": 0}, bpe)
    return path


def tiny_speech_checkpoint(path: Path, seed: int = 0) -> Path:
    """An untrained, seeded listen-attend-spell model (tests cap its output length in settings)."""
    from models.speech.training.checkpoint import save_checkpoint as save_speech
    from models.speech.training.model import LAS, LASConfig

    torch.manual_seed(seed)
    save_speech(LAS(LASConfig(listener=16, speller=24, emb=8, attn=8, dropout=0.0)), path, {"epoch": 0})
    return path


CAPTION_WORDS = ["a", "dog", "runs", "on", "grass", "man", "red", "shirt"]


def tiny_caption_checkpoint(path: Path, kind: str, seed: int = 0) -> Path:
    """An untrained, seeded captioner. Both kinds use the small CNN here (the EfficientNet-Lite0 encoder's
    export is checked in tests/unit/test_caption.py); "photo" takes 64 px images, a 2x smaller grid."""
    from models.caption.training.checkpoint import save_checkpoint as save_caption
    from models.caption.training.model import CaptionConfig, Captioner
    from models.caption.training.train import grounded_vocab

    vocab = grounded_vocab() if kind == "grounded" else ["<pad>", "<unk>", "<s>", "</s>", *CAPTION_WORDS]
    torch.manual_seed(seed)
    cfg = CaptionConfig(vocab=len(vocab), image_size=96 if kind == "grounded" else 64, dim=16, emb=8, hidden=16, attn=8,
                        dropout=0.0)  # fmt: skip
    save_caption(Captioner(cfg), vocab, path, {"epoch": 0})
    return path


SENTIMENT_WORDS = ["the", "film", "is", "good", "bad", "not", "a", "."]


def tiny_sentiment_checkpoints(root: Path, seed: int = 0) -> tuple[Path, Path]:
    """An untrained, seeded Tree-LSTM and parser over a few words: (tree model, parser)."""
    import json

    from models.sentiment.training.model import TreeLSTM, TreeLSTMConfig
    from models.sentiment.training.parser import ParserConfig, SpanScorer
    from models.sentiment.vocab import Vocab
    from models.training.checkpoints import save_weights

    vocab = Vocab(SENTIMENT_WORDS)
    torch.manual_seed(seed)
    model = TreeLSTM(TreeLSTMConfig(vocab=len(vocab), emb=8, hidden=6, dropout=0.0))
    parser = SpanScorer(ParserConfig(vocab=len(vocab), emb=8, hidden=6, span=5, dropout=0.0))
    paths = root / "sentiment.safetensors", root / "sentiment_parser.safetensors"
    for m, path in zip((model, parser), paths, strict=True):
        save_weights(m, path, {"config": json.dumps(m.cfg.to_dict()), "vocab": vocab.to_json(), "epoch": "0"}, half=True)
    return paths


def tiny_ntm_checkpoint(path: Path, seed: int = 0) -> Path:
    """An untrained, seeded NTM with a small memory."""
    from models.ntm.training.checkpoint import save_checkpoint
    from models.ntm.training.model import NTM, NTMConfig

    torch.manual_seed(seed)
    save_checkpoint(NTM(NTMConfig(controller=16, mem_rows=16, mem_cols=6)), path, {"step": 0})
    return path


def tiny_qa_checkpoint(path: Path, seed: int = 0) -> Path:
    """An untrained, seeded memory network over a few words."""
    from models.qa.text import Vocab, Vocabularies
    from models.qa.training.checkpoint import save_checkpoint
    from models.qa.training.model import MemN2N, MemN2NConfig

    words = ["<pad>", "<unk>", "mary", "john", "moved", "went", "to", "the", "bathroom", "hallway", "where", "is"]
    vocab = Vocabularies(Vocab(words), ["bathroom", "hallway", "n,w"])
    torch.manual_seed(seed)
    model = MemN2N(MemN2NConfig(len(vocab.words), len(vocab.answers), dim=8, hops=3, memory=50))
    save_checkpoint(model, vocab, path, {"epoch": 0})
    return path
