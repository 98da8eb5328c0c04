"""GET /: the web page that tries every model and draws its attention (service/static/, no build step).

The page and its files are open without the API key (the page has a key field and sends the key with its
API calls), and every URL in it is relative, so it works behind a proxy that serves it under a path prefix.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parents[1] / "static"
UI_PREFIX = "/ui/"  # the page's scripts, styles and example images
router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC)


def is_page(path: str) -> bool:
    """The page and its files: open without the API key."""
    return path == "/" or path.startswith(UI_PREFIX)
