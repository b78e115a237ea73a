"""Identifiers used in authorisation decisions match their grammar exactly (issue 15): a trailing
newline or a look-alike letter is another identifier, refused, never trimmed into a valid one."""

from __future__ import annotations

import pytest

from gateway.core import events
from gateway.core.clients import create_client
from gateway.core.errors import InvalidInput
from gateway.core.log.exchange_log import is_officer_login
from gateway.core.runtime import Gateway

SNEAKY = ["case-system\n", "case-system\r\n", "case\u2010system", "c\u0430se-system", "CASE"]


@pytest.mark.parametrize("name", SNEAKY)
async def test_client_names_are_refused_unless_exact(gateway: Gateway, name: str) -> None:
    with pytest.raises(InvalidInput):
        await create_client(gateway.db, name=name, scopes=["dvcqg:read"])


@pytest.mark.parametrize("name", SNEAKY)
def test_subscription_names_and_event_types_are_refused_unless_exact(name: str) -> None:
    with pytest.raises(InvalidInput):
        events._check_subscription(name, "https://case.example/hook", ["payment.paid"], None)
    with pytest.raises(InvalidInput):
        events._check_subscription("case-system", "https://case.example/hook", [name + ".x"], None)


@pytest.mark.parametrize(
    ("login", "ok"),
    [
        ("canbo.001", True),
        ("canbo.001\n", False),
        ("canbo.00١", False),
        ("123456789012", False),  # an ID number is never a login
        ("c" * 64, True),
        ("c" * 65, False),
    ],
)
def test_officer_logins(login: str, ok: bool) -> None:
    assert is_officer_login(login) is ok
