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
from gateway.core.settings import Settings


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


def config_problems(
    spec: ConnectorSpec, section: dict[str, Any], *, environment: str
) -> tuple[BaseModel | None, list[str]]:
    """A connector's settings section validated: the config (None when invalid) and every
    problem, one line each, naming the variable (never its value): invalid values, and in
    production its placeholder secrets and development-only settings."""
    prefix = f"LGSP_CONNECTORS__{spec.slug.upper()}__"
    try:
        config = spec.config_model.model_validate(section)
    except ValidationError as exc:
        return None, [
            f"{prefix}{'__'.join(str(p).upper() for p in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        ]
    problems: list[str] = []
    if environment == "production":
        problems += [
            f"{prefix}{name.upper()} is a development placeholder; set the real secret in "
            "production"
            for name, value in config
            if isinstance(value, SecretStr) and value.get_secret_value() in spec.placeholder_secrets
        ]
        problems += [
            f"{prefix}{name.upper()} is a development-only setting; set the production value"
            for name in (spec.production_refusals(config) if spec.production_refusals else ())
        ]
    return config, problems


def build_config(spec: ConnectorSpec, section: dict[str, Any], *, environment: str) -> BaseModel:
    """Validate a connector's settings section; refuse its placeholder secrets in production
    (every problem named, in one error)."""
    config, problems = config_problems(spec, section, environment=environment)
    if problems or config is None:
        raise ConfigurationError("; ".join(problems))
    return config


def configuration_problems(settings: Settings, specs: dict[str, ConnectorSpec]) -> list[str]:
    """Everything in ``settings`` that stops the gateway, one line each, all at once: the
    development keys and LGSP credentials in production, and every connector's section."""
    problems = settings.production_problems()
    for name, read in (
        ("LGSP_DATA_KEY", settings.data_key_bytes),
        ("LGSP_SIGNING_KEY", settings.signing_key_bytes),
    ):
        try:
            read()
        except ConfigurationError as exc:
            problems.append(exc.detail if exc.detail.startswith(name) else f"{name}: {exc}")
    known = ", ".join(sorted(specs))
    problems += [
        f"LGSP_CONNECTORS__{slug.upper()}: no connector {slug!r} (registered: {known})"
        for slug in sorted(set(settings.connectors) - set(specs))
    ]
    if unknown_off := sorted(set(settings.connectors_off) - set(specs)):
        problems.append(f"LGSP_CONNECTORS_OFF: no connector {unknown_off} (registered: {known})")
    unknown_windows = {w.connector for w in settings.maintenance.windows} - set(specs)
    if unknown_windows:
        problems.append(f"LGSP_MAINTENANCE__WINDOWS: no connector {sorted(unknown_windows)}")
    for name in ("sign_outbound", "verify_inbound"):
        if unknown := set(getattr(settings.packet_signing, name)) - set(specs):
            problems.append(f"LGSP_PACKET_SIGNING__{name.upper()}: no connector {sorted(unknown)}")
    through_lgsp = any(
        str(section.get("transport", "direct")).strip().lower() == "lgsp"
        for section in settings.connectors.values()
    )
    if settings.environment == "production" and through_lgsp:
        problems += [
            f"{name} is a development placeholder; set the LGSP's real credential"
            for name in settings.lgsp.placeholders_in_use()
        ]
    for slug, spec in specs.items():
        if slug in settings.connectors_off:
            continue  # left out until connected: its section and placeholders are not looked at
        section = dict(settings.connectors.get(slug, {}))
        problems += config_problems(spec, section, environment=settings.environment)[1]
    return problems


def secret_values(config: BaseModel) -> list[str]:
    return [v.get_secret_value() for _, v in config if isinstance(v, SecretStr)]
