"""Sentiment trees: PTB reading, binarizing, level batching, CKY, metrics, and the exported cells."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from models.sentiment.export import export
from models.sentiment.infer import label_trees, parse_splits
from models.sentiment.structure import bracket_f1, cky, gold_spans, plan, spans_of, tree_from_splits
from models.sentiment.training.checkpoint import load_parser, load_tree_model
from models.sentiment.training.data import node_labels, read_split
from models.sentiment.training.metrics import accuracies
from models.sentiment.trees import TreeSyntaxError, binarize, heights, parse_ptb
from models.sentiment.vocab import Vocab, tokenize_text
from models.training.paths import default_data_dir
from service.engine.runtimes import OnnxRuntime, RuntimeOptions
from tests.helpers import tiny_sentiment_checkpoints

SST = "(3 (2 It) (4 (2 (2 's) (2 -LRB-)) (4 (3 very) (4 good))))"


def test_sst_tree_reads_with_labels_words_spans_and_heights() -> None:
    t = parse_ptb(SST)
    assert t.leaves() == ["It", "'s", "(", "very", "good"]
    assert node_labels(t) == [2, 2, 2, 2, 3, 4, 4, 4, 3]
    assert t.spans()[-1] == (0, 5) and gold_spans(t) == {(0, 5), (1, 5), (1, 3), (3, 5)}
    assert heights(t) == [0, 0, 0, 1, 0, 0, 1, 2, 3]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("", "empty tree at character 0"), ("(3 (2 a) (2 b)", "never closed at character 14"),
     ("(3 (2 a)) (2 b)", "after the end of the tree at character 10"), ("(2 ())", "empty brackets '()' at character 3"),
     ("a b", "expected '(' but found 'a' at character 0")],
)  # fmt: skip
def test_malformed_brackets_name_the_position(text: str, fragment: str) -> None:
    with pytest.raises(TreeSyntaxError) as e:
        parse_ptb(text)
    assert fragment in str(e.value)


def test_nesting_deeper_than_the_limit_is_refused_without_recursion_errors() -> None:
    deep = "(" * 5000 + "x" + ")" * 5000
    with pytest.raises(TreeSyntaxError, match="deeper than 500"):
        parse_ptb(deep)


def test_binarize_collapses_unary_chains_and_branches_right() -> None:
    t = binarize(parse_ptb("(S (NP (DT the) (NN film)) (VP (VP rocks)) (. !))"))
    assert t.leaves() == ["the", "film", "rocks", "!"]
    assert all(len(n.children) in (0, 2) for n in t.nodes())
    assert gold_spans(t) == {(0, 4), (0, 2), (2, 4)}


def test_tokenizer_splits_like_sst() -> None:
    want = ["It", "does", "n't", "work", ",", "and", "the", "film", "'s", "2-hour", "cut", "ca", "n't", "save", "it", "..."]
    assert tokenize_text("It doesn't work, and the film's 2-hour cut can't save it...") == want


def test_cky_finds_the_best_bracketing() -> None:
    rng = np.random.default_rng(0)
    n = 6
    scores = rng.normal(size=(n + 1, n + 1)) * 3

    def all_brackets(i: int, j: int) -> list[list[tuple[int, int]]]:
        if j - i == 1:
            return [[]]
        return [[(i, j), *a, *b] for k in range(i + 1, j) for a in all_brackets(i, k) for b in all_brackets(k, j)]

    def total(spans: list[tuple[int, int]]) -> float:
        return sum(-np.logaddexp(0, -scores[s]) for s in spans)

    best = max(all_brackets(0, n), key=total)
    split = cky(scores, n)
    assert sorted(spans_of(split, n)) == sorted(best)
    words = list("abcdef")
    assert sorted(gold_spans(tree_from_splits(words, split))) == sorted(best)


def test_bracket_f1_leaves_out_the_whole_sentence() -> None:
    gold = {(0, 4), (0, 2), (2, 4)}
    assert bracket_f1([[(0, 4), (0, 2), (2, 4)]], [gold])["f1"] == 100.0
    assert bracket_f1([[(0, 4), (1, 4), (2, 4)]], [gold]) == {"precision": 50.0, "recall": 50.0, "f1": 50.0}


def test_accuracies_follow_socher_et_al() -> None:
    probs = [np.array([[0.1, 0.1, 0.6, 0.1, 0.1], [0.05, 0.05, 0.5, 0.2, 0.2]]), np.array([[0.7, 0.1, 0.1, 0.05, 0.05]])]
    gold = [[2, 3], [1]]
    acc = accuracies(probs, gold)
    # roots: 2 (pred 2 vs gold 3) and 0 vs 1 -> fine 0/2; binary: 3 -> positive (0.4 > 0.1), 1 -> negative
    assert acc == {"fine_root": 0.0, "fine_all": 33.33, "binary_root": 100.0, "binary_all": 100.0}


def test_level_batched_trees_equal_each_tree_alone_and_exported_cells_match(tmp_path: Path) -> None:
    tree_ckpt, parser_ckpt = tiny_sentiment_checkpoints(tmp_path)
    model, vocab = load_tree_model(tree_ckpt)
    trees = [parse_ptb(SST), parse_ptb("(2 good)"), binarize(parse_ptb("(S (a b) (c d e) f)"))]
    ids = [vocab.ids(t.leaves()) for t in trees]
    with torch.no_grad():
        together = model.run(p := plan(trees, ids)).exp().numpy()
        alone = [model.run(q := plan([t], [w])).exp().numpy()[q.order[0]] for t, w in zip(trees, ids, strict=True)]
    for k in range(len(trees)):
        np.testing.assert_allclose(together[p.order[k]], alone[k], atol=1e-6)
    export(tmp_path / "out", tree_ckpt, parser_ckpt)
    runtime = OnnxRuntime(tmp_path / "out", ["leaf", "compose", "span_scores"], RuntimeOptions())
    for got, want in zip(label_trees(runtime, trees, ids), alone, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    parser, pvocab = load_parser(parser_ckpt)
    sentences = [["the", "film", "is", "good"], ["not", "bad"], ["a", "film", "."]]
    splits = parse_splits(runtime, [pvocab.ids(s) for s in sentences])
    for s, split in zip(sentences, splits, strict=True):
        with torch.no_grad():
            scores = parser(torch.tensor([pvocab.ids(s)]), torch.tensor([len(s)]))[0].numpy()
        assert spans_of(split, len(s)) == spans_of(cky(scores, len(s)), len(s))


def test_vocab_lowercases_unescapes_and_maps_unknown_words_to_unk() -> None:
    v = Vocab.build([parse_ptb(SST)])
    assert v.ids(["IT", "-LRB-", "zebra"]) == [v.stoi["it"], v.stoi["("], 0]
    assert Vocab.from_json(v.to_json()).itos == v.itos


@pytest.mark.skipif(not (default_data_dir() / "sst").exists(), reason="needs ../shared/data/sst")
def test_sst_splits_match_their_published_counts() -> None:
    for split, trees, nodes in (("train", 8544, 318_582), ("dev", 1101, 41_447)):
        ts = read_split(default_data_dir(), split)
        assert len(ts) == trees and sum(len(t.nodes()) for t in ts) == nodes
        assert all(len(n.children) in (0, 2) for t in itertools.islice(ts, 200) for n in t.nodes())


def test_shipped_models_export_verify_and_read_clear_sentences(tmp_path: Path) -> None:
    from models.sentiment.schemas import SentimentRequest
    from service.engine.registry import loaded_handler
    from service.tasks import MODELS

    meta = export(tmp_path / "sentiment", *MODELS["sentiment"].checkpoint_paths)
    assert all(g["max_abs_diff"] < 1e-4 for g in meta["graphs"].values())
    handler = loaded_handler("sentiment", tmp_path / "sentiment")
    texts = ["This is a wonderful, moving film.", "I loved it.", "A dull, lifeless mess."]
    items = [item for t in texts for item in handler.decode(SentimentRequest(text=t))]
    labels = [int(probs[-1].argmax()) for _, probs in handler.predict(items)]
    assert labels[0] >= 3 and labels[1] >= 3 and labels[2] <= 1


def test_rntn_cells_batch_by_level_too() -> None:
    from models.sentiment.training.model import TreeLSTM, TreeLSTMConfig

    torch.manual_seed(0)
    model = TreeLSTM(TreeLSTMConfig(vocab=10, hidden=6, dropout=0.0, cell="rntn")).eval()
    trees = [parse_ptb(SST), parse_ptb("(1 (2 a) (1 b))")]
    ids = [[1, 2, 3, 4, 5], [6, 7]]
    with torch.no_grad():
        together = model.run(p := plan(trees, ids))
        alone = [model.run(q := plan([t], [w]))[q.order[0]] for t, w in zip(trees, ids, strict=True)]
    for k in range(2):
        torch.testing.assert_close(together[p.order[k]], alone[k])
