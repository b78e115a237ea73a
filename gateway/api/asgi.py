"""The application built from the environment, for servers that import it by name
(``lgsp serve --processes N``, or ``uvicorn --factory gateway.api.asgi:app_from_env``)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

from fastapi import FastAPI

from gateway.api.main import create_app
from gateway.core.logging import configure_logging
from gateway.core.runtime import Gateway
from gateway.core.settings import Settings

#: set by ``lgsp serve`` for its worker processes
RUN_WORKERS_ENV = "LGSP_SERVE_RUN_WORKERS"
#: set by ``lgsp serve --processes N`` to its own pid: its server processes end with it
SUPERVISOR_ENV = "LGSP_SERVE_SUPERVISOR_PID"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def exit_with_supervisor() -> None:
    """In a server process of ``lgsp serve --processes N`` (on Linux): SIGTERM, and so the
    graceful stop, when the supervising process dies, even by SIGKILL. Without it uvicorn's
    server processes outlive a killed supervisor, still holding the port and their leases."""
    supervisor = os.environ.get(SUPERVISOR_ENV)
    if supervisor is None or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if str(os.getppid()) != supervisor:  # it died before the line above took effect
        os.kill(os.getpid(), signal.SIGTERM)


def app_from_env() -> FastAPI:
    exit_with_supervisor()
    settings = Settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    run_workers = os.environ.get(RUN_WORKERS_ENV, "true").lower() != "false"
    return create_app(Gateway(settings), run_workers=run_workers)
