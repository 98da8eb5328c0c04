"""POST /sentiment in process, on tiny seeded models: text and tree input, the node tree, batching, errors."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from tests.helpers import formed_a_batch
from tests.integration.conftest import make_settings, running_client


@pytest.fixture
async def tclient(artifacts_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    sentiment = {"enabled": True, "max_words": 12, "max_tree_depth": 20}
    async for c in running_client(create_app(make_settings(artifacts_dir, sentiment=sentiment))):
        yield c


def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack += n["children"]
    return out


async def test_text_gets_a_parsed_binary_tree_with_a_label_at_every_node(tclient: httpx.AsyncClient) -> None:
    r = await tclient.post("/sentiment", json={"text": "The film isn't good.", "return_svg": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tokens"] == ["The", "film", "is", "n't", "good", "."] and body["parsed"] is True
    assert body["unknown_words"] == ["n't"]  # not in the tiny model's vocabulary
    nodes = walk(body["tree"])
    assert len(nodes) == 2 * 6 - 1 and all(len(n["children"]) in (0, 2) for n in nodes)
    assert body["tree"]["phrase"] == "The film is n't good ." and body["label"] == body["tree"]["label"]
    for n in nodes:
        assert len(n["probs"]) == 5 and sum(n["probs"]) == pytest.approx(1, abs=1e-3)
        assert n["label"] == max(range(5), key=lambda k: n["probs"][k])
    assert body["tree_ptb"].startswith(f"({body['label']} ") and body["tree_ptb"].count("(") == 11
    svg = ET.fromstring(body["svg"])
    assert svg.tag.endswith("svg") and len(svg.findall("{http://www.w3.org/2000/svg}circle")) == 11


async def test_a_given_tree_is_used_as_is_after_binarizing(tclient: httpx.AsyncClient) -> None:
    r = await tclient.post("/sentiment", json={"tree": "(S (NP the film) (VP is (ADJP not good)) (. .))"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["parsed"] is False and body["tokens"] == ["the", "film", "is", "not", "good", "."]
    children = body["tree"]["children"]
    assert [c["phrase"] for c in children] == ["the film", "is not good ."]  # 3 children: right-branching
    assert body["svg"] is None


async def test_batched_equals_single(tclient: httpx.AsyncClient) -> None:
    texts = ["a good film .", "the film is bad", "not good", "the film is not a good film ."]
    single = [(await tclient.post("/sentiment", json={"text": t})).json() for t in texts]
    together = [r.json() for r in await asyncio.gather(*(tclient.post("/sentiment", json={"text": t}) for t in texts))]
    assert [b["tree_ptb"] for b in together] == [b["tree_ptb"] for b in single]
    for a, b in zip(together, single, strict=True):
        assert a["probs"] == pytest.approx(b["probs"], abs=1e-4)
    assert formed_a_batch((await tclient.get("/metrics")).text, "sentiment")  # "together" did batch


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "exactly one of"),
        ({"text": "good", "tree": "(2 good)"}, "exactly one of"),
        ({"text": " ,,, "[:0]}, "no words"),
        ({"text": " ".join(["good"] * 13)}, "13 words is more than this server's limit of 12"),
        ({"tree": "(S (NP the film) (VP rocks)"}, "never closed at character 27"),
        ({"tree": "(S (NP the film)) (VP rocks))"}, "after the end of the tree at character 18"),
        ({"tree": "(S ())"}, "empty brackets"),
        ({"tree": "the film"}, "expected '(' but found 'the' at character 0"),
        ({"tree": "(" * 30 + "x" + ")" * 30}, "deeper than 20"),
        ({"text": "good", "colour": "red"}, "colour"),
        ({"text": 7}, "text"),
    ],
)
async def test_bad_input_gets_a_clear_422(tclient: httpx.AsyncClient, body: dict[str, Any], fragment: str) -> None:
    r = await tclient.post("/sentiment", json=body)
    assert r.status_code == 422, r.text
    assert fragment in r.text


async def test_malformed_tree_error_points_at_the_position(tclient: httpx.AsyncClient) -> None:
    r = await tclient.post("/sentiment", json={"tree": "(S (NP the film)) oops"})
    assert r.status_code == 422
    assert r.json()["error"]["details"] == [{"loc": ["body", "tree"], "position": 18}]
