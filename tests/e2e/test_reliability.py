"""The reliability harness (benchmarks/reliability.py) with short phases, against a real uvicorn process serving
the shipped hull model: the bounded part of the soak and overload checks that CI runs. No timing is asserted but
hang guards: the client shares the CPU with the server, and CI machines vary.

The shipped model, not a tiny one: an untrained model ends its decoding after a few steps whatever the input,
so it has no request slow enough to hold the batcher while queued requests are cancelled (phase e)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from benchmarks.reliability import Config, markdown, run_all, server_env
from benchmarks.server import running_server
from models.hull import export as hull_export

pytestmark = pytest.mark.e2e

SHORT = Config(
    capacity_s=3,
    soak_s=8,
    overload_s=6,
    recovery_s=4,  # baseline and recovery, each
    pool=128,
    max_queue=16,
    request_timeout_s=1.0,
    victims=16,
    blocker_s=1.0,
    rss_every_s=1,
    rss_tolerance_mib=1e6,  # eight seconds say nothing about leaks: the long soak checks RSS
)
# Reported by the harness, not asserted here: latencies (see above), and answers that differ from the warm-up
# answer to the same body ("changed": batch-dependent float rounding could flip a near-tie between beams; an
# answer meant for another request is "foreign", and that is asserted).
NOT_ASSERTED = {"overload p99 of admitted bounded", "recovery p99 back to baseline", "every answer equals the warm-up answer"}
SHIPPED = Path(__file__).resolve().parents[2] / "checkpoints" / "hull.safetensors"


@pytest.fixture(scope="module")
def hull_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped hull model's graphs, alone: the harness serves /hull only."""
    root = tmp_path_factory.mktemp("hull-artifacts")
    hull_export.export(root / "hull", SHIPPED)
    return root


async def test_soak_overload_recovery_and_disconnects(hull_artifacts: Path, tmp_path: Path) -> None:
    cfg = dataclasses.replace(SHORT, artifacts_dir=hull_artifacts)
    with running_server(server_env(cfg), tmp_path / "server.log", ready_timeout_s=60) as server:
        async with asyncio.timeout(240):  # hang guard only: the phases add up to about 35 s
            report = await run_all(cfg, server)
    print(markdown(report))  # shown when the test fails
    phases = {p["name"]: p for p in report["phases"]}
    failed = [c for c in report["checks"] if not c["ok"] and c["check"] not in NOT_ASSERTED]
    assert not failed, (failed, report["phases"], report["disconnect"])

    for p in phases.values():
        assert p["sent"] == sum(p["statuses"].values()) > 0  # every request accounted for
        assert p["lost"] == 0 and p["errors"] == 0, p["statuses"]  # only 200, 503 and 504
        assert p["id_mismatches"] == 0 and p["foreign"] == 0 and p["missing_retry_after"] == 0, p
        assert p["checked"] == p["statuses"].get("200", 0)  # every answer checked against its request
    assert phases["overload"]["statuses"].get("503", 0) > 0, phases["overload"]["statuses"]
    assert set(phases["recovery"]["statuses"]) == {"200"}, phases["recovery"]["statuses"]

    d = report["disconnect"]
    assert d["conclusive"] and d["queued_when_cancelled"] == d["victims"], d
    assert d["victims_computed"] == 0 and d["dropped_cancelled"] == d["victims"] == d["status_499"], d
    assert d["slow_request_status"] == 200
