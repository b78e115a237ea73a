"""API scopes: the core's own, and each connector's, declared in its ``SPEC`` (issue 16: the
core names no platform)."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.core import clients, registry
from gateway.core.clients import CORE_SCOPES, known_scopes
from gateway.core.errors import ConfigurationError


def test_known_scopes_are_the_cores_and_each_connectors() -> None:
    specs = registry.load_specs()
    declared = {scope for spec in specs.values() for scope in spec.scopes}
    assert set(known_scopes()) == set(CORE_SCOPES) | declared
    assert all(spec.scopes for spec in specs.values()), "every connector has routes to guard"
    assert all(allows for allows in known_scopes().values())


def test_the_core_declares_no_platforms_scope() -> None:
    slugs = set(registry.load_specs())
    assert not {scope.split(":")[0] for scope in CORE_SCOPES} & slugs


def test_a_scope_declared_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    specs = registry.load_specs()
    payment = specs["payment"]
    twin = dataclasses.replace(payment, slug="twin", scopes={"payment:read": "again"})
    monkeypatch.setattr(registry, "load_specs", lambda: {**specs, "twin": twin})
    with pytest.raises(ConfigurationError, match="payment:read"):
        clients.known_scopes()
