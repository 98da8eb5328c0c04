"""python -m service: run the API with uvicorn, configured from SEQ2SERVE_* settings."""

from __future__ import annotations

import copy
import logging
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from service.app import create_app
from service.http import protocol
from service.middleware import RequestIdLogFilter
from service.settings import get_settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up, with the request id in its access and error lines."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"request_id": {"()": RequestIdLogFilter}}
    for handler in config["handlers"].values():
        handler["filters"] = ["request_id"]
    config["formatters"]["access"]["fmt"] += " request_id=%(request_id)s"
    config["formatters"]["default"]["fmt"] = "%(levelprefix)s [%(request_id)s] %(message)s"
    return config


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RequestIdLogFilter())
    # One process: the batcher is the unit of parallelism; several workers would split batches.
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        http=protocol(settings.http, settings.read_timeout_s),  # with a deadline for the headers
        loop=settings.loop,
        log_config=uvicorn_log_config(),
        timeout_graceful_shutdown=int(settings.drain_timeout_s),
    )


if __name__ == "__main__":
    main()
