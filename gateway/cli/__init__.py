"""The ``lgsp`` command: a thin layer over the same service functions the API uses, one module
per command group (:mod:`gateway.cli.root` assembles them with the connectors')."""

from __future__ import annotations

import contextlib

from gateway.cli.root import build_cli

__all__ = ["build_cli", "main"]

main = build_cli()

if __name__ == "__main__":  # pragma: no cover
    with contextlib.suppress(KeyboardInterrupt):
        main()
