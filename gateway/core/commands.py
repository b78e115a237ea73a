"""Running a command against the gateway: what every ``lgsp`` command shares, the core's and the
connectors' (``SPEC.cli_commands``) alike. A command builds the runtime from the environment,
runs one coroutine with it and closes it; a :class:`GatewayError` or an unusable database ends
it with exit code 2 and a clear line on stderr, never a traceback."""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from gateway.core.errors import GatewayError, InvalidInput, SchemaNotCurrent
from gateway.core.local_time import parse_day
from gateway.core.logging import configure_logging
from gateway.core.registry import configuration_problems, load_specs
from gateway.core.runtime import Gateway
from gateway.core.settings import Settings, unknown_variables

__all__ = ["DatabaseUnreachable", "actor", "day_option", "require_database", "run", "settings"]

T = TypeVar("T")


def settings() -> Settings:
    """The settings from the environment, logging configured by them. Every problem of the
    configuration is reported at once, one line each (the variable, why; never its value),
    and the command stops with exit code 2."""
    problems = unknown_variables(os.environ)
    loaded: Settings | None = None
    try:
        loaded = Settings()
    except ValidationError as exc:
        named = {line.split(":", 1)[0] for line in problems}
        for error in exc.errors():
            line = _problem_line(error)
            if line.split(":", 1)[0] not in named:  # an unknown name, already said
                problems.append(line)
    if loaded is not None:
        # every connector's section and, in production, every placeholder: all at once
        problems += configuration_problems(loaded, load_specs())
    if problems or loaded is None:
        click.echo("error: the configuration cannot be used:", err=True)
        for line in problems:
            click.echo(f"  {line}", err=True)
        sys.exit(2)
    configure_logging(loaded.log_level, json_lines=loaded.log_json)
    return loaded


def _problem_line(error: Mapping[str, Any]) -> str:
    """``LGSP_DELIVERY__WORKERS: Input should be ...`` (pydantic's message; the value given,
    which may be a secret, is never shown)."""
    loc = [str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if not loc:
        return message
    name = "LGSP_" + "__".join(part.upper() for part in loc)
    return f"{name}: {message}"


class DatabaseUnreachable(Exception):
    """The configured database does not answer (said in one line, naming the variable)."""


async def require_database(gw: Gateway) -> None:
    """Connect once, or raise :class:`DatabaseUnreachable` with one line: the variable, the
    URL without its password, why (never a driver's traceback)."""
    try:
        async with gw.db.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
    except (OSError, DBAPIError) as exc:
        url = gw.db.engine.url.render_as_string(hide_password=True)
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        raise DatabaseUnreachable(
            f"the database of LGSP_DATABASE_URL ({url}) cannot be reached: "
            f"{type(cause).__name__}: {str(cause).splitlines()[0][:200] if str(cause) else ''}"
        ) from None


async def require_schema(gw: Gateway) -> None:
    """Raise :class:`SchemaNotCurrent` (one line, naming the revisions) when the database's
    schema is not the one this gateway needs: only ``lgsp db upgrade`` (and
    ``serve`` on the embedded SQLite) migrates."""
    from gateway.core.store import migrate

    problem = await migrate.schema_problem(gw.db.engine)
    if problem is not None:
        raise SchemaNotCurrent(problem)


def run(factory: Callable[[Gateway], Awaitable[T]], *, check_schema: bool = True) -> T:
    """Build the runtime, run ``factory`` with it, close it; GatewayErrors exit 2 clearly.
    The command never migrates: with ``check_schema`` a schema that is behind (or missing)
    stops it with one line saying to run ``lgsp db upgrade``."""

    async def main() -> T:
        gw = Gateway(settings())
        try:
            await require_database(gw)
            if check_schema:
                await require_schema(gw)
            return await factory(gw)
        finally:
            await gw.aclose()

    try:
        return asyncio.run(main())
    except DatabaseUnreachable as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except GatewayError as exc:
        click.echo(f"error: {exc.detail}", err=True)
        for e in exc.errors:
            click.echo(f"  {e.loc}: {e.msg}", err=True)
        sys.exit(2)
    except DBAPIError as exc:
        # exit 2, not 1: "the database could not be read" is not "the chain is broken"
        click.echo(
            "error: the database could not be used (is it reachable, and at the latest "
            f"schema? `lgsp db upgrade`): {type(exc.orig).__name__}",
            err=True,
        )
        sys.exit(2)


def day_option(_ctx: click.Context, _param: click.Parameter, value: str) -> date:
    """A click callback: ``--date YYYY-MM-DD`` within the range reports are made for."""
    try:
        return parse_day(value)
    except InvalidInput as exc:
        raise click.BadParameter(f"{exc.errors[0].msg} (YYYY-MM-DD, {value!r} given)") from None


def actor() -> str:
    """Who runs the command, as the records name them: ``cli:<operating-system user>``."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        user = "unknown"
    return f"cli:{user}"
