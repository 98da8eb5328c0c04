"""POST /ntm and its v2 model in process, on the shipped NTM (small enough to export per test session): the
copy is exact, the weights have the documented shapes, batching changes nothing, and bad input is a 422."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from service.app import create_app
from tests.helpers import formed_a_batch
from tests.integration.conftest import make_settings, running_client, shipped_artifacts


@pytest.fixture(scope="module")
def shipped_ntm(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> Path:
    return shipped_artifacts(tmp_path_factory.mktemp("ntm-artifacts"), artifacts_dir, "ntm")


@pytest.fixture
async def nclient(shipped_ntm: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in running_client(create_app(make_settings(shipped_ntm, ntm={"enabled": True, "max_length": 100}))):
        yield c


def random_bits(seed: int, length: int) -> list[list[int]]:
    return np.random.default_rng(seed).integers(0, 2, size=(length, 8)).tolist()


async def test_a_sequence_is_copied_with_the_heads_weights(nclient: httpx.AsyncClient) -> None:
    bits = random_bits(1, 20)
    r = await nclient.post("/ntm", json={"task": "copy", "input": bits})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["bits"] == bits and body["errors"] == 0 and body["length"] == 20
    assert all(0 <= p <= 1 for row in body["output"] for p in row) and len(body["output"]) == 20
    n = body["memory_rows"]
    for name in ("write_weights", "read_weights"):
        w = np.asarray(body[name])
        assert w.shape == (20, n) and np.allclose(w.sum(axis=1), 1, atol=1e-2), name
    # a learned copy: each head's focus walks the memory one row per step, in one direction (the diagonal)
    for name in ("write_weights", "read_weights"):
        peaks = [int(np.argmax(row)) for row in body[name]]
        assert {(b - a) % n for a, b in itertools.pairwise(peaks[1:])} in ({1}, {n - 1}), (name, peaks)


async def test_batched_requests_of_different_lengths_get_their_own_copies(nclient: httpx.AsyncClient) -> None:
    inputs = [random_bits(seed, length) for seed, length in enumerate([1, 7, 20, 33, 5, 12])]
    alone = [(await nclient.post("/ntm", json={"input": x})).json()["output"] for x in inputs]
    answers = await asyncio.gather(*(nclient.post("/ntm", json={"input": x}) for x in inputs))
    for answer, want in zip(answers, alone, strict=True):
        np.testing.assert_allclose(answer.json()["output"], want, atol=1e-4)
    assert formed_a_batch((await nclient.get("/metrics")).text, "ntm")


@pytest.mark.parametrize(
    ("body", "where"),
    [({"input": [[0, 1, 0, 1, 0, 1, 0, 2]]}, "input.0.7"), ({"input": [[0, 1, 0, 1, 0, 1, 0, 0.5]]}, "input.0.7"),
     ({"input": [[True, 1, 0, 1, 0, 1, 0, 1]]}, "input.0.0"), ({"input": [[0, 1, 0, 1]]}, "input.0"),
     ({"input": []}, "input"), ({"task": "recall", "input": [[0] * 8]}, "task")],
)  # fmt: skip
async def test_values_other_than_0_and_1_and_other_shapes_are_refused(nclient: httpx.AsyncClient, body: dict[str, object],
                                                                      where: str) -> None:  # fmt: skip
    r = await nclient.post("/ntm", json=body)
    assert r.status_code == 422, r.text
    assert where in r.text


async def test_a_sequence_longer_than_the_limit_is_refused_with_the_limit(nclient: httpx.AsyncClient) -> None:
    r = await nclient.post("/ntm", json={"input": random_bits(0, 101)})
    assert r.status_code == 422 and "101 vectors is more than this server's limit of 100" in r.text


async def test_v2_infer_copies_too(nclient: httpx.AsyncClient) -> None:
    flat = np.asarray(random_bits(3, 9)).reshape(-1).tolist()
    body = {"inputs": [{"name": "INPUT", "datatype": "INT64", "shape": [9, 8], "data": flat}]}
    r = await nclient.post("/v2/models/ntm/infer", json=body)
    assert r.status_code == 200, r.text
    out = {o["name"]: o for o in r.json()["outputs"]}
    assert out["BITS"]["shape"] == [9, 8] and out["BITS"]["data"] == flat
