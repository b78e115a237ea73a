"""Loading the registered connectors, and building them from settings.

The list itself is :data:`connectors.REGISTRY` (adding a platform is one folder and one line
there); nothing is discovered implicitly. A connector
that fails to import or whose configuration is invalid stops the gateway at start-up, loudly,
naming the environment variable to fix.
"""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from gateway.core.connector import ConnectorSpec
from gateway.core.errors import ConfigurationError


def registered_packages() -> tuple[str, ...]:
    """The connector packages of :data:`connectors.REGISTRY`, in its order."""
    packages: tuple[str, ...] = importlib.import_module("connectors").REGISTRY
    return packages


#: names the core uses itself: the sandbox's LGSP simulator is mounted at ``/lgsp``
RESERVED_SLUGS = frozenset({"lgsp"})


def load_specs(packages: tuple[str, ...] | None = None) -> dict[str, ConnectorSpec]:
    """The ``SPEC`` of each package (default: the registered ones), by slug."""
    specs: dict[str, ConnectorSpec] = {}
    for name in packages if packages is not None else registered_packages():
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            raise ConfigurationError(f"connector package {name} failed to import: {exc}") from exc
        spec = getattr(module, "SPEC", None)
        if not isinstance(spec, ConnectorSpec):
            raise ConfigurationError(f"connector package {name} publishes no ConnectorSpec SPEC")
        if spec.slug in RESERVED_SLUGS:
            raise ConfigurationError(f"{name}: the slug {spec.slug!r} is the core's own")
        if spec.slug in specs:
            raise ConfigurationError(f"two connectors claim the slug {spec.slug!r}")
        if spec.tables is not None:
            importlib.import_module(spec.tables)
        specs[spec.slug] = spec
    return specs


def build_config(spec: ConnectorSpec, section: dict[str, Any], *, environment: str) -> BaseModel:
    """Validate a connector's settings section; refuse its placeholder secrets in production."""
    try:
        config = spec.config_model.model_validate(section)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "__".join(str(p).upper() for p in first["loc"])
        raise ConfigurationError(
            f"LGSP_CONNECTORS__{spec.slug.upper()}__{field}: {first['msg']}"
        ) from exc
    if environment == "production":
        for name, value in config:
            if (
                isinstance(value, SecretStr)
                and value.get_secret_value() in spec.placeholder_secrets
            ):
                raise ConfigurationError(
                    f"LGSP_CONNECTORS__{spec.slug.upper()}__{name.upper()} is a development "
                    "placeholder; set the real secret in production"
                )
        for name in spec.production_refusals(config) if spec.production_refusals else ():
            raise ConfigurationError(
                f"LGSP_CONNECTORS__{spec.slug.upper()}__{name.upper()} is a development-only "
                "setting; set the production value"
            )
    return config


def secret_values(config: BaseModel) -> list[str]:
    return [v.get_secret_value() for _, v in config if isinstance(v, SecretStr)]
