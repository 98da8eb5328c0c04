"""Translation: tokenization, vocabulary, copy ids, search invariants on a tiny seeded model."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch

from models.tokens import EOS_ID, UNK_ID
from models.translate.handler import TranslateHandler
from models.translate.schemas import TranslateRequest
from models.translate.search import TranslateQuery, decode
from models.translate.subwords import WORD_START, join, words_of
from models.translate.training import scst
from models.translate.training.checkpoint import load_checkpoint, read_subwords
from models.translate.training.data import Batch, Example, make_batch, segmented
from models.translate.training.model import Seq2Seq, reverse_within_length
from models.translate.training.torch_search import translate_tokens
from models.translate.vocab import Vocab, detokenize, extend, tokenize
from tests.helpers import TRANSLATE_DE, TRANSLATE_EN, EagerGraphs, tiny_translate_checkpoint


class EagerTranslate(EagerGraphs):
    def __init__(self, checkpoint: Path) -> None:
        model, self.src, self.tgt = load_checkpoint(checkpoint)
        super().__init__(model.encoder, model.step)

    def query(self, text: str, **kw: object) -> TranslateQuery:
        tokens = text.split()
        ext, _ = extend(tokens, self.tgt)
        return TranslateQuery(self.src.ids(tokens), ext, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "lang"),
    [("Ein Mann fährt Fahrrad.", "de"), ("Zwei Hunde, ein Ball: „Spiel!“", "de"), ("Die Straße ist 3,5 km lang.", "de"),
     ("A man's bike (new) isn't red.", "en"), ('She says: "Hello, world!"', "en"), ("It costs $3.50 - or 4 €.", "en")],
)  # fmt: skip
def test_tokenization_round_trip(text: str, lang: str) -> None:
    assert detokenize(tokenize(text, lang), lang) == text


def test_vocab_is_deterministic_and_round_trips() -> None:
    sents = [["b", "a", "c"], ["a", "b"], ["a"]]
    v = Vocab.build(sents, min_freq=2)
    assert v.itos[4:] == ["a", "b"]  # by frequency, then alphabetical; "c" below min_freq
    assert Vocab.from_json(v.to_json()).itos == v.itos
    assert v.ids(["a", "zzz"]) == [4, UNK_ID]


def test_extended_ids_give_each_unknown_word_its_own_slot() -> None:
    tgt = Vocab.build([["a", "man"]], min_freq=1)
    ids, oovs = extend(["a", "Jürgen", "man", "Jürgen", "Zoë"], tgt)
    assert oovs == ["Jürgen", "Zoë"]
    assert ids == [tgt.stoi["a"], len(tgt), tgt.stoi["man"], len(tgt), len(tgt) + 1]


def test_copy_targets_in_a_batch() -> None:
    src = Vocab.build([["ein", "mann"]], 1)
    tgt = Vocab.build([["a", "man"]], 1)
    b = make_batch([Example(["ein", "Jürgen"], ["a", "Jürgen"])], src, tgt)
    # Neither source word is an English word: "ein" gets extended id V, "Jürgen" V + 1.
    assert b.src[0, 1] == UNK_ID and b.src_ext[0].tolist() == [len(tgt), len(tgt) + 1]
    assert b.tgt_in[0, 2] == UNK_ID  # the decoder reads it as <unk>...
    assert b.tgt_out[0, 1] == len(tgt) + 1 and b.tgt_out[0, 2] == EOS_ID  # ...but must produce the copy
    assert b.n_oov == 2


def test_reverse_within_length_keeps_padding_at_the_end() -> None:
    idx = reverse_within_length(torch.tensor([3, 1]), 4)
    assert idx.tolist() == [[2, 1, 0, 3], [0, 1, 2, 3]]


def test_beam_one_equals_greedy_and_nbest_is_sorted(translate_checkpoint: Path) -> None:
    g = EagerTranslate(translate_checkpoint)
    for text in ["ein mann fährt fahrrad .", "zwei hunde spielen im park ."]:
        greedy = decode(g, [g.query(text, max_length=12)], len(g.tgt))[0][0]
        beam1 = decode(g, [g.query(text, beam_size=1, max_length=12)], len(g.tgt))[0][0]
        assert greedy.ids == beam1.ids and greedy.log_prob == pytest.approx(beam1.log_prob)
        nbest = decode(g, [g.query(text, beam_size=4, n_best=4, max_length=12)], len(g.tgt))[0]
        assert 1 <= len(nbest) <= 4
        assert [h.score for h in nbest] == sorted((h.score for h in nbest), reverse=True)


@pytest.fixture(scope="module")
def deep_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_translate_checkpoint(tmp_path_factory.mktemp("deep") / "deep.safetensors", seed=1, enc_layers=3)


@pytest.mark.parametrize("which", ["one_layer", "three_layers"])
def test_batched_equals_single_and_alignment_shape(translate_checkpoint: Path, deep_checkpoint: Path, which: str) -> None:
    g = EagerTranslate(translate_checkpoint if which == "one_layer" else deep_checkpoint)
    qs = [g.query(t, beam_size=3, n_best=2, max_length=10, alpha=0.6, beta=0.2)
          for t in ["ein kind isst einen apfel .", "ein mann", "der mann liest ein buch im park ."]]  # fmt: skip
    together = decode(g, qs, len(g.tgt))
    for q, res in zip(qs, together, strict=True):
        alone = decode(g, [q], len(g.tgt))
        assert [h.ids for h in alone[0]] == [h.ids for h in res]
        for a, b in zip(alone[0], res, strict=True):
            assert a.score == pytest.approx(b.score, abs=1e-4)
            att = np.stack(b.attention)
            assert att.shape == (len(b.ids) + int(b.finished), len(q.src))
            np.testing.assert_allclose(att.sum(axis=1), 1.0, atol=1e-5)
            np.testing.assert_allclose(np.stack(a.attention), att, atol=1e-5)


class CopyingGraphs:
    """A fake decoder that always copies: p_gen = 0, attention on source position `step`."""

    def __init__(self, vocab_size: int) -> None:
        self.v = vocab_size

    def encode(self, src: np.ndarray, src_len: np.ndarray) -> list[np.ndarray]:
        b, s = src.shape
        return [np.zeros((b, s, 2), np.float32), np.zeros((b, s, 2), np.float32), np.zeros((b, 3), np.float32)]

    def step(
        self, y: np.ndarray, h: np.ndarray, ctx: np.ndarray, memory: np.ndarray, keys: np.ndarray, mask: np.ndarray
    ) -> list[np.ndarray]:
        n, s = mask.shape
        t = int(h[0, 0])  # the step counter rides in the hidden state
        attn = np.zeros((n, s), np.float32)
        attn[:, min(t, s - 1)] = 1.0
        logp = np.full((n, self.v), -30.0, np.float32)
        logp[:, EOS_ID] = 0.0
        p_gen = np.full(n, 1.0 if t >= s else 0.0, np.float32)  # past the source: generate </s>
        return [logp, attn, p_gen, h + 1, ctx]


def test_copy_mechanism_emits_out_of_vocabulary_names() -> None:
    tgt = Vocab.build([["a", "man"]], 1)
    tokens = ["Jürgen", "und", "Zoë"]
    ext, oovs = extend(tokens, tgt)
    q = TranslateQuery([UNK_ID] * 3, ext, beam_size=2, max_length=10)
    best = decode(CopyingGraphs(len(tgt)), [q], len(tgt))[0][0]
    words = tgt.itos + oovs
    assert [words[i] for i in best.ids] == tokens
    assert best.finished and best.copy_prob[:3] == [1.0, 1.0, 1.0]


def test_unseen_recall_counts_only_unknown_words_the_reference_keeps() -> None:
    from evaluation.translate import unseen_recall

    known = {"<pad>", "<unk>", "<s>", "</s>", "A", "man", "in", "."}
    sources = ["Ein Mann in Kuala Lumpur .", "Ein Mann namens Wojciech ."]
    refs = ["A man in Kuala Lumpur .", "A man called Wojciech ."]
    hyps = [["A", "man", "in", "Kuala", "."], ["A", "man", "."]]
    # wanted: {Kuala, Lumpur} and {Wojciech}; "Ein", "Mann", "namens" are unknown too but not in the references
    assert unseen_recall(known, sources, refs, hyps) == (1, 3)


def test_inject_names_swaps_shared_names_on_both_sides_only() -> None:
    from models.translate.training.data import inject_names

    pairs = [("Ein Mann aus London hat 3 Hunde .", "A man from London has 3 dogs ."), ("Ein Hund rennt .", "A dog runs .")]
    ex = [Example(de.split(" "), en.split(" ")) for de, en in pairs]
    out = inject_names(ex, prob=1.0, seed=0)
    assert out[1] is ex[1]  # nothing shared: untouched
    name, number = out[0].src[3], out[0].src[5]
    assert name != "London" and name[0].isupper() and number.isdigit() and number != "3"
    assert out[0].tgt == ["A", "man", "from", name, "has", number, "dogs", "."]
    assert inject_names(ex, prob=1.0, seed=0) == out and inject_names(ex, prob=0.0, seed=0) == ex


def test_inject_names_inserts_the_same_made_up_name_on_both_sides() -> None:
    from models.translate.training.data import inject_names

    ex = [Example(["Ein", "Hund", "rennt", "."], ["A", "dog", "runs", "."])]
    seen = set()
    for seed in range(40):
        (out,) = inject_names(ex, prob=0.0, seed=seed, append_prob=1.0)
        de, en = " ".join(out.src), " ".join(out.tgt)
        for de_phrase, en_phrase in [("Hund namens", "dog named"), ("Hund aus", "dog from"), ("rennt in", "runs in"),
                                     ("rennt mit der Nummer", "runs with the number")]:  # fmt: skip
            if de_phrase in de:
                name = de.split(de_phrase + " ", 1)[1].split(" rennt")[0].removesuffix(" .")
                assert f"{en_phrase} {name}" in en and all(w not in ex[0].src for w in name.split())
                seen.add(de_phrase)
        if out.src[0] != "Ein":  # the subject "Ein Hund" / "A dog" replaced by a name
            assert out.src[-2:] == ["rennt", "."] and out.tgt[-2:] == ["runs", "."] and out.src[:-2] == out.tgt[:-2]
            seen.add("subject")
    assert len(seen) == 5  # every pattern occurs


def test_block_unk_never_generates_unknown(translate_checkpoint: Path) -> None:
    g = EagerTranslate(translate_checkpoint)
    queries = [g.query("Jürgen liest ein buch .", beam_size=3, n_best=3, max_length=8, block_unk=True)]
    for hyp in decode(g, queries, len(g.tgt))[0]:
        assert UNK_ID not in hyp.ids


SHIPPED = Path(__file__).resolve().parents[2] / "checkpoints" / "translate.safetensors"


@pytest.mark.parametrize(
    ("german", "name"),
    [
        ("Ein Mann namens Wojciech spielt Gitarre .", "Wojciech"),
        ("Zwei Frauen aus Reykjavík sitzen auf einer Bank .", "Reykjavík"),
    ],
)
def test_shipped_model_copies_a_name_it_never_saw(german: str, name: str) -> None:
    g = EagerTranslate(SHIPPED)
    assert name not in g.src.stoi and name not in g.tgt.stoi  # unknown to both vocabularies
    (best,) = decode(g, [g.query(german, beam_size=5, max_length=30)], len(g.tgt))[0][:1]
    _, oovs = extend(german.split(), g.tgt)
    words = g.tgt.itos + oovs
    out = [words[i] for i in best.ids]
    assert name in out and best.ids[out.index(name)] >= len(g.tgt)  # emitted by copying
    assert out[0] in {"A", "Two"} and out[-1] == "."  # and the rest is an English sentence


def test_checkpoint_averaging_takes_the_mean_of_every_weight_and_refuses_other_shapes() -> None:
    from models.translate.training.average import average
    from models.translate.training.model import Seq2Seq, Seq2SeqConfig

    cfg = Seq2SeqConfig(src_vocab=12, tgt_vocab=10, emb=8, enc_hidden=8, dec_hidden=16, attn=8)
    models = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        models.append(Seq2Seq(cfg))
    mean = average(models)
    for name, w in mean.state_dict().items():
        assert torch.allclose(w, torch.stack([m.state_dict()[name] for m in models]).mean(0), atol=1e-6), name
    with pytest.raises(ValueError, match="different shapes"):
        average([models[0], Seq2Seq(Seq2SeqConfig(src_vocab=12, tgt_vocab=10, emb=8, enc_hidden=8, dec_hidden=32, attn=8))])


def tiny_scst_setup(tmp_path: Path) -> tuple[Seq2Seq, Vocab, list[Example], Batch]:
    model, _, tgt = load_checkpoint(tiny_translate_checkpoint(tmp_path / "t.safetensors"))
    src, _ = load_checkpoint(tmp_path / "t.safetensors")[1:]
    examples = [Example(d.split(), e.split()) for d, e in zip(TRANSLATE_DE, TRANSLATE_EN, strict=True)]
    examples.append(Example(["ein", "mann", "namens", "wojciech", "."], ["a", "man", "named", "wojciech", "."]))
    return model, tgt, examples, make_batch(examples, src, tgt)


def test_scst_rollout_ends_each_translation_and_keeps_to_the_length_limit(tmp_path: Path) -> None:
    model, tgt, examples, batch = tiny_scst_setup(tmp_path)
    torch.manual_seed(0)
    ids, logp = scst.rollout(model, batch, 3, greedy=False)
    assert ids.shape[0] == 18 and ids.shape[1] <= 2 * batch.src.shape[1] + 10 and logp.requires_grad
    assert bool((logp < 0).all())
    for i, row in enumerate(ids.tolist()):
        end = row.index(EOS_ID) if EOS_ID in row else len(row)
        assert end <= 2 * len(examples[i // 3].src) + 10 and all(t == EOS_ID for t in row[end:])
    texts = scst.to_text(ids, examples, tgt, 3)
    assert len(texts) == 18 and all(isinstance(t, str) for t in texts)
    # The made-up name can be sampled through the copy mechanism: it is in the last sentence's extended vocabulary.
    name = len(tgt) + extend(examples[-1].src, tgt)[1].index("wojciech")
    assert scst.to_text(torch.tensor([[name, EOS_ID]]), examples[-1:], tgt, 1) == ["wojciech"]


@pytest.mark.parametrize(("objective", "baseline"), [("scst", "greedy"), ("scst", "mean"), ("mrt", None)])
def test_sequence_level_training_raises_the_sentence_reward(tmp_path: Path, objective: str, baseline: str | None) -> None:
    """Steps of SCST or minimum risk training on a tiny untrained model: the sampled translations' chrF
    against the references goes up (fails if the sign, the baseline or the log-probabilities are wrong)."""
    model, tgt, examples, batch = tiny_scst_setup(tmp_path)
    args = argparse.Namespace(samples=6, baseline=baseline, objective=objective, mrt_alpha=0.05)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    torch.manual_seed(0)
    rewards = []
    for _ in range(40):
        loss, reward, _ = scst.policy_loss(model, examples, tgt, batch, scst.REWARDS["chrf"], args)
        opt.zero_grad()
        loss.backward()
        opt.step()
        rewards.append(reward)
    assert np.mean(rewards[-5:]) > 1.2 * np.mean(rewards[:5])  # (1.28-1.5x seen; a flipped sign falls)


def test_a_deeper_encoder_exports_and_one_layer_checkpoints_still_load(deep_checkpoint: Path, tmp_path: Path) -> None:
    from models.translate.export import export

    model, _, _ = load_checkpoint(deep_checkpoint)
    assert model.cfg.enc_layers == 3 and len(model.encoder.upper) == 2
    meta = export(tmp_path / "deep", deep_checkpoint)  # verifies the graphs in ONNX Runtime at another batch and length
    assert meta["graphs"]["encode"]["max_abs_diff"] < 1e-4
    state = {k: v for k, v in model.state_dict().items() if ".upper." not in k}  # what a one-layer checkpoint holds
    shallow = Seq2Seq(model.cfg.__class__(**{**model.cfg.to_dict(), "enc_layers": 1}))
    shallow.load_state_dict(state)  # strict: the first layer's names did not change


@pytest.fixture(scope="module")
def subword_handler(tmp_path_factory: pytest.TempPathFactory) -> TranslateHandler:
    pytest.importorskip("sentencepiece")
    from models.translate.export import export
    from service.engine.registry import loaded_handler

    root = tmp_path_factory.mktemp("bpe")
    export(root / "translate", tiny_translate_checkpoint(root / "bpe.safetensors", seed=2, subwords=45))
    handler = loaded_handler("translate", root / "translate")
    assert isinstance(handler, TranslateHandler) and handler.subwords is not None
    return handler


def test_a_subword_model_answers_in_words_with_word_alignments(subword_handler: TranslateHandler) -> None:
    req = TranslateRequest(text=["ein mann namens Wojciech liest .", "zwei hunde spielen ."], beam_size=3, n_best=2,
                           max_length=12, return_alignment=True, block_unk=True)  # fmt: skip
    items = subword_handler.decode(req)
    assert len(items[0].pieces) > len(items[0].tokens)  # "Wojciech" (and "namens") are cut into pieces
    results = subword_handler.encode(req, items, subword_handler.predict(items)).results
    for item, res in zip(items, results, strict=True):
        assert res.source_tokens == item.tokens
        for t in res.translations:
            assert len(t.copied) == len(t.tokens) and "".join(t.tokens) == "".join(t.tokens).replace(WORD_START, "")
            assert t.alignment is not None and len(t.alignment) == len(t.tokens) + int(t.finished)
            assert all(len(row) == len(item.tokens) and abs(sum(row) - 1) < 1e-4 for row in t.alignment)
    assert "Wojciech" in results[0].unknown_source_tokens  # its pieces are <unk> to this tiny model's encoder


def test_subword_training_batches_and_greedy_decoding_give_words(tmp_path: Path) -> None:
    pytest.importorskip("sentencepiece")
    path = tiny_translate_checkpoint(tmp_path / "bpe.safetensors", seed=3, subwords=45)
    model, src, tgt = load_checkpoint(path)
    bpe = read_subwords(path)
    assert bpe is not None
    examples = segmented([Example(d.split(), e.split()) for d, e in zip(TRANSLATE_DE, TRANSLATE_EN, strict=True)], bpe)
    assert all(join(e.src) == d.split() for e, d in zip(examples, TRANSLATE_DE, strict=True))
    b = make_batch(examples, src, tgt)
    loss = model(*[torch.from_numpy(a) for a in (b.src, b.src_len, b.src_ext, b.tgt_in, b.tgt_out)], b.n_oov, 0.1)
    assert torch.isfinite(loss)
    for words in (words_of(t, bpe) for t in translate_tokens(model, examples, src, tgt)):
        assert all(not w.startswith(WORD_START) for w in words)


def test_minimum_risk_counts_each_distinct_sample_once() -> None:
    from models.training.sequence_level import distinct, risk_loss

    ids = torch.tensor([[5, 3], [5, 3], [6, 3], [7, 3], [7, 3], [7, 3]])  # two inputs, three samples each
    keep = distinct(ids, 3)
    assert keep.tolist() == [True, False, True, True, False, False]
    rewards = torch.tensor([1.0, 1.0, 0.0, 0.5, 0.5, 0.5])
    logp = torch.zeros(6, requires_grad=True)
    # Q is uniform over the distinct samples: input 1 risks (0 + 1) / 2, input 2 risks 0.5 (one distinct sample)
    assert float(risk_loss(rewards, logp, keep, 3, 1.0).detach()) == pytest.approx((0.5 + 0.5) / 2)


def test_a_subword_model_refuses_giant_words_and_too_many_pieces_with_422(subword_handler: TranslateHandler) -> None:
    from service.errors import InvalidInput

    with pytest.raises(InvalidInput, match=r"text: a word of 61 characters is longer than this model's limit of 60"):
        subword_handler.decode(TranslateRequest(text="ein " + "x" * 61))
    many = " ".join(["Wojciech"] * subword_handler.settings.max_source_tokens)  # each cut into several pieces
    with pytest.raises(InvalidInput, match=r"text: \d+ subword pieces is more than this server's limit of 300"):
        subword_handler.decode(TranslateRequest(text=many))


def test_distilled_targets_replace_references_except_where_the_teacher_wrote_unk() -> None:
    from models.translate.training.data import with_targets
    from models.translate.training.distill import teacher_line

    pairs = [Example(["Ein", "Hund", "."], ["A", "dog", "."]), Example(["Zwei", "Männer"], ["Two", "men"])]
    lines = [teacher_line(["A", "dog", "runs", "."]), teacher_line(["Two", "<unk>"])]
    assert lines == ["A dog runs .", ""]
    out = with_targets(pairs, lines)
    assert [e.tgt for e in out] == [["A", "dog", "runs", "."], ["Two", "men"]]
    assert [e.src for e in out] == [e.src for e in pairs]
    with pytest.raises(ValueError, match="finish distill"):
        with_targets(pairs, lines[:1])
