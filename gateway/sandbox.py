"""One server for every connector's simulator, each under ``/<slug>``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from gateway.core.connector import ConnectorSpec
from gateway.core.registry import load_specs
from gateway.sandbox_lgsp import create_lgsp_app


def create_sandbox_app(specs: Mapping[str, ConnectorSpec] | None = None) -> Starlette:
    specs = specs if specs is not None else load_specs()
    mounted = {s: spec for s, spec in specs.items() if spec.sandbox_factory is not None}

    async def index(_request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "simulators": {
                    slug: {"title": spec.title, "path": f"/{slug}"}
                    for slug, spec in mounted.items()
                }
            }
        )

    routes: list[Route | Mount] = [Route("/", index)]
    apps: dict[str, Any] = {}
    for slug, spec in mounted.items():
        assert spec.sandbox_factory is not None
        apps[slug] = spec.sandbox_factory()
        routes.append(Mount(f"/{slug}", app=apps[slug]))
    # the provincial LGSP in front of them all: /lgsp/<slug>/... relays to /<slug>/...
    routes.append(Mount("/lgsp", app=create_lgsp_app(apps)))
    return Starlette(routes=routes)


class _QuietSimulatedDrops(logging.Filter):
    """The simulators drop connections on purpose; uvicorn reports each as an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (exc is not None and type(exc).__name__ == "SimulatedConnectionDrop")


def quiet_simulated_drops() -> None:
    logging.getLogger("uvicorn.error").addFilter(_QuietSimulatedDrops())
