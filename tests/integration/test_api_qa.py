"""POST /qa and its v2 model in process, on the shipped memory network (tiny: exported per test session):
answers bAbI stories, hop attention in the request's order, the memory limit, unknown words, batching, 422s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service.app import create_app
from tests.helpers import formed_a_batch
from tests.integration.conftest import make_settings, running_client, shipped_artifacts

STORY = ["Mary moved to the bathroom.", "John went to the hallway.", "Daniel went back to the hallway.",
         "Sandra moved to the garden."]  # fmt: skip


@pytest.fixture(scope="module")
def shipped_qa(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> Path:
    return shipped_artifacts(tmp_path_factory.mktemp("qa-artifacts"), artifacts_dir, "qa")


@pytest.fixture
async def qclient(shipped_qa: Path) -> AsyncIterator[httpx.AsyncClient]:
    qa = {"enabled": True, "memory": 50, "max_sentences": 60, "max_words": 12}
    async for c in running_client(create_app(make_settings(shipped_qa, qa=qa))):
        yield c


async def test_a_babi_story_is_answered_with_each_hop_s_attention(qclient: httpx.AsyncClient) -> None:
    r = await qclient.post("/qa", json={"story": STORY, "question": "Where is Mary?"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answer"] == "bathroom" and body["candidates"][0] == {"answer": "bathroom", "prob": body["candidates"][0]["prob"]}
    assert len(body["candidates"]) == 5 and body["candidates"][0]["prob"] > 0.5
    assert len(body["hops"]) == 3 and all(len(h["weights"]) == 4 for h in body["hops"])
    assert all(sum(h["weights"]) == pytest.approx(1, abs=1e-3) for h in body["hops"])
    assert max(range(4), key=lambda i: max(h["weights"][i] for h in body["hops"])) == 0  # it looked at Mary's sentence
    assert body["sentences_used"] == 4 and body["sentences_dropped"] == 0 and body["unknown_words"] == []
    r = await qclient.post("/qa", json={"story": STORY, "question": "Where is Sandra?"})
    assert r.json()["answer"] == "garden"


async def test_older_sentences_past_the_memory_are_dropped_and_said_so(qclient: httpx.AsyncClient) -> None:
    story = ["Mary went to the kitchen."] + ["John went to the hallway."] * 54 + ["Mary moved to the bathroom."]
    body = (await qclient.post("/qa", json={"story": story, "question": "Where is Mary?"})).json()
    assert body["sentences_used"] == 50 and body["sentences_dropped"] == 6
    assert all(len(h["weights"]) == 56 and h["weights"][:6] == [0.0] * 6 for h in body["hops"])
    assert body["answer"] == "bathroom"


async def test_unknown_words_are_listed(qclient: httpx.AsyncClient) -> None:
    body = (await qclient.post("/qa", json={"story": ["Zorblax moved to the bathroom."], "question": "Where is Zorblax?"})).json()
    assert body["unknown_words"] == ["zorblax"]


async def test_batched_requests_get_their_own_answers(qclient: httpx.AsyncClient) -> None:
    questions = ["Where is Mary?", "Where is John?", "Where is Daniel?", "Where is Sandra?"] * 3
    alone = [(await qclient.post("/qa", json={"story": STORY, "question": q})).json() for q in questions]
    together = await asyncio.gather(*(qclient.post("/qa", json={"story": STORY[: 1 + i % 4], "question": q})
                                      for i, q in enumerate(questions)))  # fmt: skip
    again = await asyncio.gather(*(qclient.post("/qa", json={"story": STORY, "question": q}) for q in questions))
    assert [a.json()["candidates"] for a in again] == [a["candidates"] for a in alone]
    assert all(r.status_code == 200 for r in together)
    assert formed_a_batch((await qclient.get("/metrics")).text, "qa")


@pytest.mark.parametrize(
    ("body", "message"),
    [({"story": ["Mary moved to the bathroom."] * 61, "question": "Where is Mary?"}, "story: 61 sentences is more than"),
     ({"story": ["Mary moved to the bathroom.", "..."], "question": "Where is Mary?"}, "story.1: no words"),
     ({"story": ["Mary " * 13], "question": "Where is Mary?"}, "story.0: 13 words is more than this server's limit of 12"),
     ({"story": ["Mary moved to the bathroom."], "question": "?"}, "question: no words"),
     ({"story": [], "question": "Where is Mary?"}, "story"), ({"story": ["a"], "question": "b", "hops": 2}, "hops")],
)  # fmt: skip
async def test_bad_requests_are_422_naming_the_problem(qclient: httpx.AsyncClient, body: dict[str, object], message: str) -> None:
    r = await qclient.post("/qa", json=body)
    assert r.status_code == 422 and message in r.text, r.text


async def test_v2_infer_answers_too(qclient: httpx.AsyncClient) -> None:
    body = {"inputs": [{"name": "STORY", "datatype": "BYTES", "shape": [4], "data": STORY},
                       {"name": "QUESTION", "datatype": "BYTES", "shape": [1], "data": ["Where is John?"]}]}  # fmt: skip
    r = await qclient.post("/v2/models/qa/infer", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["data"] == ["hallway"]


async def test_v1_models_shows_how_many_trained_models_the_shipped_checkpoint_averages(qclient: httpx.AsyncClient) -> None:
    from models.training.checkpoints import read_metadata

    shipped = int(read_metadata(Path("checkpoints/qa.safetensors")).get("members", "1"))
    models = {m["name"]: m for m in (await qclient.get("/v1/models")).json()["models"]}
    assert models["qa"]["members"] == shipped
