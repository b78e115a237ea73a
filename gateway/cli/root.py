"""The ``lgsp`` command tree, assembled from the registry: the core's commands (servers, the
database, clients, connectors, dead letters, the audit log, events) and each connector's
(``SPEC.cli_commands``), each under the group it names."""

from __future__ import annotations

from collections.abc import Mapping

import click

from gateway.cli import (
    audit,
    clients,
    db,
    dlq,
    events,
    maintenance,
    platforms,
    reports,
    servers,
)
from gateway.core.connector import ConnectorSpec
from gateway.core.registry import load_specs

__all__ = ["build_cli"]


@click.group("reconcile")
def reconcile() -> None:
    """Reconcile the gateway's records with a platform's statements."""


#: the core's commands; ``reconcile`` and ``report`` are the groups connectors add to
CORE_COMMANDS: tuple[click.Command, ...] = (
    servers.serve,
    servers.worker,
    servers.sandbox,
    servers.demo,
    db.db,
    clients.clients,
    platforms.connectors,
    dlq.dlq,
    maintenance.maintenance,
    audit.audit,
    events.events_group,
    reconcile,
    reports.report,
)


def _copy(group: click.Group) -> click.Group:
    """``group`` with its own table of commands (the module-level groups stay untouched)."""
    return click.Group(
        name=group.name,
        commands=dict(group.commands),
        callback=group.callback,
        params=list(group.params),
        help=group.help,
        short_help=group.short_help,
        invoke_without_command=group.invoke_without_command,
        no_args_is_help=group.no_args_is_help,
    )


def build_cli(specs: Mapping[str, ConnectorSpec] | None = None) -> click.Group:
    """The ``lgsp`` group with the core's commands and those of ``specs`` (default: every
    registered connector's)."""

    @click.group("lgsp")
    @click.version_option("0.1.0", prog_name="lgsp")
    def lgsp() -> None:
        """LGSP Gateway: the case system's one API to the national platforms."""

    for command in CORE_COMMANDS:
        lgsp.add_command(_copy(command) if isinstance(command, click.Group) else command)
    for spec in (specs if specs is not None else load_specs()).values():
        for path, command in spec.cli_commands() if spec.cli_commands is not None else ():
            group: click.Group = lgsp
            for name in path:
                sub = group.commands.get(name)
                if not isinstance(sub, click.Group):
                    raise RuntimeError(
                        f"connector {spec.slug}: no command group {' '.join(path)!r} to add "
                        f"{command.name!r} to"
                    )
                group = sub
            if command.name in group.commands:
                raise RuntimeError(
                    f"connector {spec.slug}: the command {command.name!r} exists already"
                )
            group.add_command(command)
    return lgsp
