"""Sentiment checkpoints: the Tree-LSTM and the parser, safetensors (float16) with config and vocabulary."""

from __future__ import annotations

import json
from pathlib import Path

from models.sentiment.training.model import TreeLSTM, TreeLSTMConfig
from models.sentiment.training.parser import ParserConfig, SpanScorer
from models.sentiment.vocab import Vocab
from models.training.checkpoints import load_weights, read_metadata


def load_tree_model(path: Path) -> tuple[TreeLSTM, Vocab]:
    meta = read_metadata(path)
    model = TreeLSTM(TreeLSTMConfig(**json.loads(meta["config"])))
    model.load_state_dict(load_weights(path))
    return model.eval(), Vocab.from_json(meta["vocab"])


def load_parser(path: Path) -> tuple[SpanScorer, Vocab]:
    meta = read_metadata(path)
    model = SpanScorer(ParserConfig(**json.loads(meta["config"])))
    model.load_state_dict(load_weights(path))
    return model.eval(), Vocab.from_json(meta["vocab"])
