"""The app in process, with its lifespan running, behind an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from models.caption.settings import CaptionSettings
from models.hull.settings import HullSettings
from models.ntm.settings import NTMSettings
from models.qa.settings import QASettings
from models.sentiment.settings import SentimentSettings
from models.speech.settings import SpeechSettings
from models.translate.settings import TranslateSettings
from service.app import create_app
from service.settings import ServerSettings, Settings


def make_settings(
    artifacts_dir: Path,
    translate: dict[str, object] | None = None,
    speech: dict[str, object] | None = None,
    caption: dict[str, object] | None = None,
    sentiment: dict[str, object] | None = None,
    ntm: dict[str, object] | None = None,
    qa: dict[str, object] | None = None,
    **hull: object,
) -> ServerSettings:
    """Hull on, the other models off unless their dict is given (`caption` applies to both caption models)."""
    cap = {"enabled": False, "max_wait_ms": 20, **(caption or {})}
    return Settings(
        artifacts_dir=artifacts_dir,
        hull=HullSettings(**{"max_wait_ms": 20, **hull}),  # type: ignore[arg-type]
        translate=TranslateSettings(**{"enabled": False, "max_wait_ms": 20, **(translate or {})}),  # type: ignore[arg-type]
        speech=SpeechSettings(**{"enabled": False, "max_wait_ms": 20, **(speech or {})}),  # type: ignore[arg-type]
        caption_photo=CaptionSettings(**cap),  # type: ignore[arg-type]
        caption_grounded=CaptionSettings(**cap),  # type: ignore[arg-type]
        sentiment=SentimentSettings(**{"enabled": False, "max_wait_ms": 20, **(sentiment or {})}),  # type: ignore[arg-type]
        ntm=NTMSettings(**{"enabled": False, "max_wait_ms": 20, **(ntm or {})}),  # type: ignore[arg-type]
        qa=QASettings(**{"enabled": False, "max_wait_ms": 20, **(qa or {})}),  # type: ignore[arg-type]
    )


def shipped_artifacts(root: Path, tiny: Path, name: str) -> Path:
    """An artifacts folder serving the shipped checkpoint of model `name` (small ones only: exported here, per
    test module) beside the tiny hull model that make_settings always serves."""
    from export.__main__ import exporter
    from service.tasks import MODELS

    (root / "hull").symlink_to(tiny / "hull")
    spec = MODELS[name]
    exporter(spec)(root / name, *spec.checkpoint_paths)
    return root


async def running_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
async def client(artifacts_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in running_client(create_app(make_settings(artifacts_dir))):
        yield c
