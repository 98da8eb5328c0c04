"""POST /translate in process, on a tiny seeded model: shapes, batching, limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service.app import create_app
from tests.integration.conftest import make_settings, running_client

SENTENCES = ["ein mann fährt fahrrad .", "zwei hunde spielen im park .", "Jürgen liest ein buch .", "ein kind"]


@pytest.fixture
async def tclient(artifacts_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(artifacts_dir, translate={"enabled": True, "max_source_tokens": 12, "max_texts": 4})
    async for c in running_client(create_app(settings)):
        yield c


async def test_translate_with_alignment_and_scores(tclient: httpx.AsyncClient) -> None:
    body = {"text": "Jürgen liest ein buch .", "beam_size": 3, "n_best": 2, "return_alignment": True, "return_scores": True}
    r = await tclient.post("/translate", json=body)
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    assert result["source_tokens"] == ["Jürgen", "liest", "ein", "buch", "."]
    assert result["unknown_source_tokens"] == ["Jürgen"]
    hyps = result["translations"]
    assert 1 <= len(hyps) <= 2 and hyps[0]["score"] >= hyps[-1]["score"]
    for h in hyps:
        rows = len(h["tokens"]) + int(h["finished"])
        assert len(h["alignment"]) == rows and all(len(row) == 5 for row in h["alignment"])
        assert all(abs(sum(row) - 1) < 1e-3 for row in h["alignment"])
        assert len(h["copied"]) == len(h["tokens"])


async def test_list_input_keeps_order_and_batching_matches_single(tclient: httpx.AsyncClient) -> None:
    together = await tclient.post("/translate", json={"text": SENTENCES, "beam_size": 2})
    assert together.status_code == 200
    batched = [r["translations"][0]["tokens"] for r in together.json()["results"]]
    concurrent = await asyncio.gather(*(tclient.post("/translate", json={"text": s, "beam_size": 2}) for s in SENTENCES))
    single = [(await tclient.post("/translate", json={"text": s, "beam_size": 2})).json() for s in SENTENCES]
    assert [r.json()["results"][0]["source"] for r in concurrent] == SENTENCES
    assert batched == [r.json()["results"][0]["translations"][0]["tokens"] for r in concurrent]
    assert batched == [s["results"][0]["translations"][0]["tokens"] for s in single]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"text": ""}, "empty text"),
        ({"text": "   "}, "empty text"),
        ({"text": ["ein mann", ""]}, "text.1: empty text"),
        ({"text": []}, "non-empty list"),
        ({"text": " ".join(["wort"] * 13)}, "split the text into sentences"),
        ({"text": ["a"] * 5}, "limit of 4 per request"),
        ({"text": "ein mann", "beam_size": 2, "n_best": 3}, "n_best"),
        ({"text": "ein mann", "beam_size": 0}, "beam_size"),
        ({"text": "ein mann", "beam_size": 99}, "limit of 16"),
        ({"text": "ein mann", "max_length": 5000}, "max_length"),
        ({"text": 42}, "text"),
        ({"text": ["ok", 3]}, "text"),
        ({"txt": "ein mann"}, "text"),
    ],
)
async def test_bad_input_gets_422(tclient: httpx.AsyncClient, body: dict, fragment: str) -> None:
    r = await tclient.post("/translate", json=body)
    assert r.status_code == 422, r.text
    assert fragment in r.json()["error"]["message"]


async def test_listed_in_models_and_can_be_turned_off(tclient: httpx.AsyncClient, artifacts_dir: Path) -> None:
    names = [m["name"] for m in (await tclient.get("/v1/models")).json()["models"]]
    assert names == ["hull", "translate"]
    async for c in running_client(create_app(make_settings(artifacts_dir))):
        r = await c.post("/translate", json={"text": "ein mann"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


async def test_a_request_over_the_work_limit_is_refused_at_once_on_both_protocols(artifacts_dir: Path) -> None:
    settings = make_settings(artifacts_dir, translate={"enabled": True, "max_request_work": 2000})
    app = create_app(settings)
    async for c in running_client(app):
        texts = ["ein mann fährt fahrrad ."] * 4  # 4 texts x beam 16 x (20 + 1) steps = 1,344: allowed
        assert (await c.post("/translate", json={"text": texts, "beam_size": 16, "max_length": 20})).status_code == 200
        r = await c.post("/translate", json={"text": texts * 2, "beam_size": 16, "max_length": 20})  # 2,688
        assert r.status_code == 422
        message = r.json()["error"]["message"]
        assert "2688" in message and "2000" in message and "SEQ2SERVE_TRANSLATE__MAX_REQUEST_WORK" in message
        v2 = {"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [30], "data": ["ein mann fährt fahrrad ."] * 30}]}
        r = await c.post("/v2/models/translate/infer", json=v2)  # 30 x beam 5 x (2 x 5 + 10 + 1) = 3,150
        assert r.status_code == 422 and "MAX_REQUEST_WORK" in r.json()["error"]


async def test_translate_is_served_with_its_int8_graphs_by_default(tclient: httpx.AsyncClient) -> None:
    models = {m["name"]: m for m in (await tclient.get("/v1/models")).json()["models"]}
    assert models["translate"]["precision"] == "int8" and models["hull"]["precision"] == "fp32"


@pytest.fixture(scope="module")
def ensemble_artifacts(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> dict[str, Path]:
    """Artifact folders serving two tiny translation models (other seeds, the same vocabularies) exported as
    one ensemble ("ensemble"), and the first of them alone ("single"), each beside the tiny hull."""
    from models.translate.export import export
    from tests.helpers import tiny_translate_checkpoint

    ckpt = tmp_path_factory.mktemp("ensemble-ckpt")
    members = [tiny_translate_checkpoint(ckpt / f"m{seed}.safetensors", seed=seed) for seed in (3, 4)]
    roots = {}
    for name, checkpoints in (("ensemble", members), ("single", members[:1])):
        roots[name] = tmp_path_factory.mktemp(f"{name}-artifacts")
        (roots[name] / "hull").symlink_to(artifacts_dir / "hull")
        export(roots[name] / "translate", *checkpoints)
    return roots


@pytest.mark.parametrize("batching", ["request", "step"])
async def test_an_exported_ensemble_is_served_as_one_model_and_v1_models_shows_its_members(
    ensemble_artifacts: dict[str, Path], batching: str
) -> None:
    body = {"text": SENTENCES[:2], "beam_size": 3, "n_best": 2, "return_scores": True, "return_alignment": True}
    scores = {}
    for name, root in ensemble_artifacts.items():
        settings = make_settings(root, translate={"enabled": True, "batching": batching})
        async for c in running_client(create_app(settings)):
            r = await c.post("/translate", json=body)
            assert r.status_code == 200, r.text
            results = r.json()["results"]
            assert all(abs(sum(row) - 1) < 1e-3 for res in results for h in res["translations"] for row in h["alignment"])
            scores[name] = [h["score"] for res in results for h in res["translations"]]
            models = {m["name"]: m for m in (await c.get("/v1/models")).json()["models"]}
            assert models["translate"]["members"] == (2 if name == "ensemble" else 1)
    assert scores["ensemble"] != scores["single"]  # the second member changes the scores: both are decoded


@pytest.mark.parametrize("batching", ["request", "step"])
async def test_members_setting_serves_the_first_member_of_an_ensemble_alone(
    ensemble_artifacts: dict[str, Path], batching: str
) -> None:
    body = {"text": SENTENCES[:2], "beam_size": 3, "n_best": 2, "return_scores": True}
    answers = {}
    for name, members in (("single", None), ("ensemble", 1)):
        settings = make_settings(ensemble_artifacts[name], translate={"enabled": True, "batching": batching, "members": members})
        async for c in running_client(create_app(settings)):
            r = await c.post("/translate", json=body)
            assert r.status_code == 200, r.text
            models = {m["name"]: m for m in (await c.get("/v1/models")).json()["models"]}
            answers[name] = (r.json()["results"], models["translate"]["members"], models["translate"]["version"])
    assert answers["ensemble"] == answers["single"]  # same translations, scores, member count (1) and version


async def test_members_beyond_the_ensemble_fail_the_model_load_with_the_reason(ensemble_artifacts: dict[str, Path]) -> None:
    settings = make_settings(ensemble_artifacts["ensemble"], translate={"enabled": True, "members": 3})
    async for c in running_client(create_app(settings)):
        r = await c.post("/translate", json={"text": SENTENCES[:1]})
        assert r.status_code == 503 and "members=3" in r.json()["error"]["message"], r.text


def test_the_fused_ensemble_graphs_answer_as_the_members_side_by_side(
    ensemble_artifacts: dict[str, Path], tmp_path: Path
) -> None:
    """With every member served, an ensemble export serves its fused graphs (one ONNX call per step); without
    them (an older export), the members side by side. The answers agree: best words, and scores within 1e-4."""
    import json
    import shutil

    from models.translate.schemas import TranslateRequest
    from service.engine.registry import loaded_handler
    from service.engine.runtimes import EnsembleRuntime, OnnxRuntime

    fused_dir, side_dir = ensemble_artifacts["ensemble"] / "translate", tmp_path / "translate"
    shutil.copytree(fused_dir, side_dir)
    meta = json.loads((side_dir / "meta.json").read_text())
    del meta["graphs"]
    (side_dir / "meta.json").write_text(json.dumps(meta))
    req = TranslateRequest(text=SENTENCES, beam_size=3, n_best=2, return_scores=True)
    answers = []
    for folder, runtime in ((fused_dir, OnnxRuntime), (side_dir, EnsembleRuntime)):
        handler = loaded_handler("translate", folder, precision="fp32")
        assert isinstance(handler.runtime, runtime) and handler.members == 2
        items = handler.decode(req)
        answers.append([t for res in handler.encode(req, items, handler.predict(items)).results for t in res.translations])
    fused, side = answers
    # the best of each; an untrained model's runners-up can tie to 1e-9, and float rounding orders ties
    assert [t.tokens for t in fused[::2]] == [t.tokens for t in side[::2]]
    assert [t.score for t in fused] == pytest.approx([t.score for t in side], abs=1e-4)
