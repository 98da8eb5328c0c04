"""Memory network pieces: bAbI parsing and splits, text handling, arrays newest first, position encoding,
random noise, and the exported graph at other sizes than its example."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from models.qa.text import Vocab, Vocabularies, words
from models.qa.training import per_task, train
from models.qa.training.data import Example, arrays, parse, splits, vocabularies
from models.qa.training.model import MemN2N, MemN2NConfig, position_weights
from models.qa.training.train import with_noise
from models.training.paths import default_data_dir

STORY = """1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary?\tbathroom\t1
4 Daniel went back to the hallway.
5 Where is Daniel?\thallway\t4
1 Sandra journeyed to the garden.
2 Where is Sandra?\tgarden\t1
"""


def test_parse_keeps_statements_only_and_restarts_at_each_story(tmp_path: Path) -> None:
    path = tmp_path / "qa1_single-supporting-fact_train.txt"
    path.write_text(STORY)
    ex = parse(path, 1)
    assert [e.answer for e in ex] == ["bathroom", "hallway", "garden"]
    assert ex[1].story == [words("Mary moved to the bathroom."), words("John went to the hallway."),
                           words("Daniel went back to the hallway.")]  # fmt: skip
    assert ex[2].story == [["sandra", "journeyed", "to", "the", "garden"]] and ex[2].question == ["where", "is", "sandra"]


def test_arrays_hold_the_most_recent_sentences_newest_first() -> None:
    vocab = Vocabularies(Vocab(["<pad>", "<unk>", "a", "b", "c"]), ["a", "c"])
    ex = Example(1, [["a"], ["b"], ["c", "zzz"]], ["a", "b"], "c")
    got = arrays([ex], vocab, memory=2, sentence=3)
    assert got["story"][0].tolist() == [[4, 1, 0], [3, 0, 0]]  # "c zzz" (zzz unknown), then "b"; "a" dropped
    assert got["question"][0].tolist() == [2, 3, 0] and got["answer"].tolist() == [1]


def test_position_weights_follow_the_paper_and_ignore_padding() -> None:
    ids = torch.tensor([[5, 6, 7, 0]])
    weights = position_weights(ids, dim=4)[0]
    J, d = 3, 4
    for j in range(1, 4):
        for k in range(1, 5):
            assert float(weights[j - 1, k - 1]) == pytest.approx((1 - j / J) - (k / d) * (1 - 2 * j / J), abs=1e-6)
    assert torch.all(weights[3] == 0)


def test_random_noise_inserts_empty_memories_and_keeps_the_order() -> None:
    story = np.zeros((1, 12, 2), dtype=np.int64)
    story[0, :10, 0] = np.arange(1, 11)
    out = with_noise(story, 0.1, random.Random(0))[0]
    present = [int(r[0]) for r in out if r.any()]
    assert present == list(range(1, 11)) and len([r for r in out[:11] if not r.any()]) == 1


def test_padding_slots_get_no_attention_and_the_answer_does_not_depend_on_them() -> None:
    torch.manual_seed(0)
    model = MemN2N(MemN2NConfig(vocab=10, answers=4, dim=8, hops=3, memory=6)).eval()
    story = torch.tensor([[[2, 3, 0], [4, 5, 6], [0, 0, 0]]])
    question = torch.tensor([[7, 8, 0]])
    logits, hops = model(story, question)
    assert hops.shape == (1, 3, 3) and torch.all(hops[0, :, 2] == 0)
    assert torch.allclose(hops.sum(-1), torch.ones(1, 3))
    wider, _ = model(torch.nn.functional.pad(story, (0, 2)), torch.nn.functional.pad(question, (0, 2)))
    assert torch.allclose(logits, wider, atol=1e-6)  # padding words change nothing


@pytest.mark.skipif(not (default_data_dir() / "babi").exists(), reason="bAbI not present (see models/qa/MODEL_CARD.md)")
def test_splits_hold_out_a_tenth_of_each_task_and_the_vocabulary_is_train_only() -> None:
    data = splits(default_data_dir())
    assert len(data["train"]) == 18_000 and len(data["val"]) == 2_000 and len(data["test"]) == 20_000
    assert all(sum(e.task == t for e in data["val"]) == 100 for t in range(1, 21))
    vocab = vocabularies(data["train"])
    assert vocab.words.itos[:2] == ["<pad>", "<unk>"] and "n,w" in vocab.answers and "apple,football" in vocab.answers


def test_an_ensemble_averages_its_members_answers_and_attention_and_survives_checkpoint_and_export(tmp_path: Path) -> None:
    import onnxruntime as ort

    from models.qa.export import export
    from models.qa.training.checkpoint import load_checkpoint, save_checkpoint
    from models.qa.training.model import MemN2NEnsemble

    cfg = MemN2NConfig(vocab=10, answers=4, dim=8, hops=3, memory=6)
    members = []  # a plain member, a gated one and a bag-of-words one of another width: they may differ so
    for seed, other in ((0, {}), (1, {"gated": True}), (2, {"encoding": "bow", "dim": 6})):
        torch.manual_seed(seed)
        members.append(MemN2N(MemN2NConfig(**{**cfg.to_dict(), **other})).eval())
    ensemble = MemN2NEnsemble(members).eval()
    story, question = torch.tensor([[[2, 3, 0], [4, 5, 6], [0, 0, 0]]]), torch.tensor([[7, 8, 0]])
    with torch.no_grad():
        logits, hops = ensemble(story, question)
        outs = [m(story, question) for m in members]
    assert torch.allclose(torch.softmax(logits, -1), torch.stack([torch.softmax(lg, -1) for lg, _ in outs]).mean(0), atol=1e-6)
    assert torch.allclose(hops, torch.stack([h for _, h in outs]).mean(0)) and torch.all(hops[0, :, 2] == 0)
    vocab = Vocabularies(Vocab(["<pad>", "<unk>", *"abcdefgh"]), list("wxyz"))
    save_checkpoint(ensemble, vocab, tmp_path / "qa.safetensors", {"epoch": 3})
    loaded, _ = load_checkpoint(tmp_path / "qa.safetensors")
    assert isinstance(loaded, MemN2NEnsemble) and [m.cfg for m in loaded.members] == [m.cfg for m in members]
    assert torch.allclose(loaded(story, question)[0], logits)
    meta = export(tmp_path / "out", tmp_path / "qa.safetensors")
    assert meta["config"]["members"] == 3
    probs, onnx_hops = ort.InferenceSession(str(tmp_path / "out" / "answer.onnx")).run(
        None, {"story": story.numpy(), "question": question.numpy()}
    )
    assert np.allclose(probs, torch.softmax(logits, -1).numpy(), atol=1e-5) and np.allclose(onnx_hops, hops.numpy(), atol=1e-5)


def test_ensemble_selection_adds_members_only_while_validation_improves() -> None:
    from models.qa.training.ensemble import select

    torch.manual_seed(0)
    models = {n: MemN2N(MemN2NConfig(vocab=10, answers=4, dim=8, hops=1, memory=6)) for n in "abc"}
    # A made-up validation score: a wants company of b only; c spoils any ensemble.
    table = {("a",): 10.0, ("b",): 12.0, ("c",): 11.0, ("a", "b"): 8.0, ("a", "c"): 13.0, ("a", "b", "c"): 9.0}

    def score(m: torch.nn.Module) -> dict:
        members = getattr(m, "members", [m])
        key = tuple(sorted(n for n, x in models.items() if any(x is y for y in members)))
        return {"mean_error": table[key], "failed": 0, "loss": 1.0, "errors": {}}

    chosen, record = select(models, score)
    assert chosen == ["a", "b"] and [s["mean_error"] for s in record["steps"]] == [10.0, 8.0]
    assert record["rounds"][1] == {"to": ["a", "b"], "tried": {"c": {"mean_error": 9.0, "failed": 0}}}  # tried, rejected
    assert record["candidates"]["c"]["mean_error"] == 11.0
    # A gated run joins a plain one (same inputs and hops), but a run with other hops is scored alone only.
    models["b"] = MemN2N(MemN2NConfig(vocab=10, answers=4, dim=8, hops=1, memory=6, gated=True))
    assert select(models, score)[0] == ["a", "b"]
    models["b"] = MemN2N(MemN2NConfig(vocab=10, answers=4, dim=8, hops=2, memory=6))
    chosen, record = select(models, score)
    assert chosen == ["a"] and set(record["candidates"]) == {"a", "b", "c"}


@pytest.mark.parametrize("options", [{"gated": True}, {"encoding": "bow"}])
def test_the_gmemn2n_and_bag_of_words_variants_export_and_ignore_padding(tmp_path: Path, options: dict) -> None:
    import onnxruntime as ort

    from models.qa.export import export
    from models.qa.training.checkpoint import load_checkpoint, save_checkpoint

    torch.manual_seed(0)
    model = MemN2N(MemN2NConfig(vocab=10, answers=4, dim=8, hops=3, memory=6, **options)).eval()
    story, question = torch.tensor([[[2, 3, 0], [4, 5, 6], [0, 0, 0]]]), torch.tensor([[7, 8, 0]])
    with torch.no_grad():
        logits, hops = model(story, question)
        wider, _ = model(torch.nn.functional.pad(story, (0, 2)), torch.nn.functional.pad(question, (0, 2)))
        torch.manual_seed(0)  # the same embeddings and answer layer (gates are made last)
        plain, _ = MemN2N(MemN2NConfig(vocab=10, answers=4, dim=8, hops=3, memory=6)).eval()(story, question)
    assert torch.allclose(logits, wider, atol=1e-6) and torch.all(hops[0, :, 2] == 0)
    vocab = Vocabularies(Vocab(["<pad>", "<unk>", *"abcdefgh"]), list("wxyz"))
    save_checkpoint(model, vocab, tmp_path / "qa.safetensors", {"epoch": 1})
    assert load_checkpoint(tmp_path / "qa.safetensors")[0].cfg == model.cfg
    export(tmp_path / "out", tmp_path / "qa.safetensors")
    probs, _ = ort.InferenceSession(str(tmp_path / "out" / "answer.onnx")).run(
        None, {"story": story.numpy(), "question": question.numpy()}
    )
    assert np.allclose(probs, torch.softmax(logits, -1).numpy(), atol=1e-5)
    assert not torch.allclose(logits, plain, atol=1e-4)  # same weights otherwise: the option alone changes the answer


def test_a_per_task_run_trains_and_validates_on_its_task_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = default_data_dir().resolve()
    monkeypatch.chdir(tmp_path)
    train.main(["--tasks", "1", "--name", "t1", "--epochs", "10", "--ls-epochs", "2", "--dim", "20", "--lr", "0.01",
                "--data-dir", str(data_dir)])  # fmt: skip
    best = json.loads((tmp_path / "runs/qa/t1/best.json").read_text())
    assert list(best["errors"]) == ["1"] and best["mean_error"] == best["errors"]["1"] < 50  # learns from 900 questions
    with pytest.raises(SystemExit):
        train.parse_args(["--tasks", "21"])
    with pytest.raises(SystemExit, match="sets --tasks"):
        per_task.main(["--tasks", "2"])
