"""The application built from the environment, for servers that import it by name
(``lgsp serve --processes N``, or ``uvicorn --factory gateway.api.asgi:app_from_env``)."""

from __future__ import annotations

import os

from fastapi import FastAPI

from gateway.api.main import create_app
from gateway.core.logging import configure_logging
from gateway.core.runtime import Gateway
from gateway.core.settings import Settings

#: set by ``lgsp serve`` for its worker processes
RUN_WORKERS_ENV = "LGSP_SERVE_RUN_WORKERS"


def app_from_env() -> FastAPI:
    settings = Settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    run_workers = os.environ.get(RUN_WORKERS_ENV, "true").lower() != "false"
    return create_app(Gateway(settings), run_workers=run_workers)
