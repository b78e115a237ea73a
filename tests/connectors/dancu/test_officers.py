"""The officer registry: who may query the population database (seed 004, Điều 8)."""

from __future__ import annotations

import json
import logging
import re

import pytest
import structlog
from pydantic import SecretStr
from sqlalchemy import select, update

from connectors.dancu import officers
from connectors.dancu.tables import Officer, OfficerEvent
from gateway.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from gateway.core.logging import configure_logging
from gateway.core.runtime import Gateway
from tests.officer_factories import (
    UNIT_B,
    id_number,
    officer_fields,
    password,
    register_officer,
)


async def test_register_stores_the_id_number_and_credential_sealed(gateway: Gateway) -> None:
    view = await register_officer(gateway, 1)
    assert view.tai_khoan == "canbo.001"
    assert view.so_dinh_danh == "001******001"
    assert view.status == "active"
    assert [(e.kind, e.actor) for e in view.history] == [("registered", "test")]
    assert "platform" not in json.dumps(view.as_dict(history=True))

    async with gateway.db.sessions() as session:
        row = await session.scalar(select(Officer).where(Officer.tai_khoan == "canbo.001"))
    assert row is not None
    values = [getattr(row, c.name) for c in Officer.__table__.columns]
    stored = b"|".join(v if isinstance(v, bytes) else str(v).encode() for v in values)
    for clear in (id_number(1), password(1), "user001"):
        assert clear.encode() not in stored
    assert row.so_dinh_danh_masked == "001******001"
    # sealed to this officer and field: readable with its own binding only
    aad = b"officer:canbo.001:so_dinh_danh"
    assert gateway.cipher.decrypt(row.so_dinh_danh_sealed, aad) == id_number(1).encode()
    with pytest.raises(Exception, match="failed authentication"):
        gateway.cipher.decrypt(row.so_dinh_danh_sealed, b"officer:canbo.002:so_dinh_danh")


async def test_authorize_returns_the_active_officer_with_the_credential(gateway: Gateway) -> None:
    await register_officer(gateway, 1, don_vi=UNIT_B)
    officer = await officers.authorize(gateway.db, gateway.cipher, tai_khoan=" canbo.001 ")
    assert officer == officers.ActiveOfficer(
        tai_khoan="canbo.001",
        ma_can_bo="CB0001",
        ho_ten="Nguyễn Văn An",
        don_vi=UNIT_B,
        platform_username="user001",
        platform_password=SecretStr(password(1)),
    )
    assert officer.platform_password.get_secret_value() == password(1)
    assert password(1) not in repr(officer)


@pytest.mark.parametrize(
    ("login", "detail"),
    [
        (None, "must name the registered officer"),
        ("   ", "must name the registered officer"),
        ("canbo.999", "officer canbo.999 is not registered"),
    ],
)
async def test_authorize_refuses_absent_and_unknown_officers(
    gateway: Gateway, login: str | None, detail: str
) -> None:
    await register_officer(gateway, 1)
    with pytest.raises(Forbidden, match=detail) as caught:
        await officers.authorize(gateway.db, gateway.cipher, tai_khoan=login)
    assert [e.loc for e in caught.value.errors] == ["X-Officer-Id"]


async def test_authorize_refuses_a_locked_officer_until_unlocked(gateway: Gateway) -> None:
    await register_officer(gateway, 1)
    locked = await officers.lock(
        db=gateway.db, tai_khoan="canbo.001", reason="chuyển công tác", actor="admin"
    )
    assert (locked.status, locked.status_reason) == ("locked", "chuyển công tác")
    with pytest.raises(Forbidden, match=re.escape("officer canbo.001 is locked: chuyển công tác")):
        await officers.authorize(gateway.db, gateway.cipher, tai_khoan="canbo.001")

    unlocked = await officers.unlock(
        db=gateway.db, tai_khoan="canbo.001", reason="nhận lại nhiệm vụ", actor="admin"
    )
    assert unlocked.status == "active"
    assert unlocked.status_reason is None
    assert unlocked.active_since > locked.active_since
    assert [(e.kind, e.reason) for e in unlocked.history] == [
        ("registered", None),
        ("locked", "chuyển công tác"),
        ("unlocked", "nhận lại nhiệm vụ"),
    ]
    assert (await officers.authorize(gateway.db, gateway.cipher, tai_khoan="canbo.001")).ma_can_bo


async def test_lock_and_unlock_need_a_reason_and_a_change(gateway: Gateway) -> None:
    await register_officer(gateway, 1)
    with pytest.raises(InvalidInput) as caught:
        await officers.lock(db=gateway.db, tai_khoan="canbo.001", reason=" ", actor="admin")
    assert caught.value.errors[0].loc == "reason"
    with pytest.raises(Conflict, match="already active"):
        await officers.unlock(db=gateway.db, tai_khoan="canbo.001", reason="again", actor="a")
    await officers.lock(db=gateway.db, tai_khoan="canbo.001", reason="nghỉ hưu", actor="a")
    with pytest.raises(Conflict, match="already locked"):
        await officers.lock(db=gateway.db, tai_khoan="canbo.001", reason="nghỉ hưu", actor="a")
    for action in (officers.lock, officers.unlock):
        with pytest.raises(NotFound, match=re.escape("no officer with login 'canbo.404'")):
            await action(db=gateway.db, tai_khoan="canbo.404", reason="none here", actor="a")
    with pytest.raises(NotFound):
        await officers.get(db=gateway.db, tai_khoan="canbo.404")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tai_khoan", "Canbo A"),
        ("tai_khoan", "001090000001"),  # an ID number is no login: logins are logged in clear
        ("tai_khoan", "x"),
        ("ma_can_bo", ""),
        ("ma_can_bo", "C" * 65),
        ("ho_ten", " "),
        ("ho_ten", "Nguyễn\nVăn An"),
        ("so_dinh_danh", "00109000000"),  # 11 digits
        ("so_dinh_danh", "003090000001"),  # 003: no province
        ("so_dinh_danh", "001990000001"),  # born 2099
        ("don_vi", "U"),
        ("muc_dich", "xem"),
        ("platform_username", "user:001"),
        ("platform_username", ""),
        ("platform_password", ""),
    ],
)
async def test_register_names_the_invalid_field(gateway: Gateway, field: str, value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await officers.register(
            db=gateway.db,
            cipher=gateway.cipher,
            actor="test",
            **officer_fields(1, **{field: value}),
        )
    assert [e.loc for e in caught.value.errors] == [field]
    assert await officers.list_officers(db=gateway.db) == []


async def test_register_reports_every_invalid_field_at_once(gateway: Gateway) -> None:
    with pytest.raises(InvalidInput) as caught:
        await officers.register(
            db=gateway.db,
            cipher=gateway.cipher,
            actor="test",
            **officer_fields(1, so_dinh_danh="123", don_vi="", platform_username="a:b"),
        )
    assert [e.loc for e in caught.value.errors] == ["so_dinh_danh", "don_vi", "platform_username"]


async def test_duplicate_login_or_code_is_a_conflict(gateway: Gateway) -> None:
    await register_officer(gateway, 1)
    with pytest.raises(Conflict) as by_login:
        await register_officer(gateway, 2, tai_khoan="canbo.001")
    assert [e.loc for e in by_login.value.errors] == ["tai_khoan"]
    with pytest.raises(Conflict) as by_code:
        await register_officer(gateway, 2, ma_can_bo="CB0001")
    assert [e.loc for e in by_code.value.errors] == ["ma_can_bo"]
    assert [v.tai_khoan for v in await officers.list_officers(db=gateway.db)] == ["canbo.001"]


async def test_update_changes_the_given_fields_with_a_reason(gateway: Gateway) -> None:
    await register_officer(gateway, 1)
    await register_officer(gateway, 2)
    view = await officers.update(
        db=gateway.db,
        cipher=gateway.cipher,
        tai_khoan="canbo.001",
        actor="admin",
        reason="điều chuyển công tác",
        don_vi=UNIT_B,
        so_dinh_danh=id_number(77),
        ho_ten="Nguyễn Văn An",  # unchanged: not listed as a change
    )
    assert view.don_vi == UNIT_B
    assert view.so_dinh_danh == "001******077"
    assert (view.history[-1].kind, view.history[-1].changes) == (
        "updated",
        ("don_vi", "so_dinh_danh"),
    )
    assert view.history[-1].reason == "điều chuyển công tác"
    with pytest.raises(Conflict):
        await officers.update(
            db=gateway.db,
            cipher=gateway.cipher,
            tai_khoan="canbo.001",
            actor="admin",
            reason="đổi mã",
            ma_can_bo="CB0002",
        )
    with pytest.raises(InvalidInput, match="nothing to change"):
        await officers.update(
            db=gateway.db, cipher=gateway.cipher, tai_khoan="canbo.001", actor="a", reason="why"
        )
    with pytest.raises(InvalidInput) as bad:
        await officers.update(
            db=gateway.db,
            cipher=gateway.cipher,
            tai_khoan="canbo.001",
            actor="a",
            reason="why",
            so_dinh_danh="999090000001",
        )
    assert bad.value.errors[0].loc == "so_dinh_danh"


async def test_update_credential_replaces_what_look_ups_use(gateway: Gateway) -> None:
    await register_officer(gateway, 1)
    view = await officers.update_credential(
        db=gateway.db,
        cipher=gateway.cipher,
        tai_khoan="canbo.001",
        platform_username="newuser",
        platform_password=SecretStr("Brand-new-pass-99"),
        actor="admin",
    )
    assert view.history[-1].kind == "credential_changed"
    officer = await officers.authorize(gateway.db, gateway.cipher, tai_khoan="canbo.001")
    assert officer.platform_username == "newuser"
    assert officer.platform_password.get_secret_value() == "Brand-new-pass-99"
    with pytest.raises(NotFound):
        await officers.update_credential(
            db=gateway.db,
            cipher=gateway.cipher,
            tai_khoan="canbo.404",
            platform_username="u",
            platform_password="p",
            actor="admin",
        )


async def test_list_filters_by_status_and_unit(gateway: Gateway) -> None:
    await register_officer(gateway, 1)
    await register_officer(gateway, 2, don_vi=UNIT_B)
    await register_officer(gateway, 3, don_vi=UNIT_B)
    await officers.lock(db=gateway.db, tai_khoan="canbo.003", reason="thôi việc", actor="a")

    def logins(views: list[officers.OfficerView]) -> list[str]:
        return [v.tai_khoan for v in views]

    # by unit, then login
    assert logins(await officers.list_officers(db=gateway.db)) == [
        "canbo.002",
        "canbo.003",
        "canbo.001",
    ]
    assert logins(await officers.list_officers(db=gateway.db, status="locked")) == ["canbo.003"]
    assert logins(await officers.list_officers(db=gateway.db, unit=UNIT_B, status="active")) == [
        "canbo.002"
    ]
    with pytest.raises(InvalidInput):
        await officers.list_officers(db=gateway.db, status="deleted")


async def test_history_is_kept_in_order_with_actors(gateway: Gateway) -> None:
    await register_officer(gateway, 1)
    await officers.lock(db=gateway.db, tai_khoan="canbo.001", reason="tạm đình chỉ", actor="a1")
    await officers.unlock(db=gateway.db, tai_khoan="canbo.001", reason="hết đình chỉ", actor="a2")
    view = await officers.get(db=gateway.db, tai_khoan="canbo.001")
    assert [(e.kind, e.actor) for e in view.history] == [
        ("registered", "test"),
        ("locked", "a1"),
        ("unlocked", "a2"),
    ]
    async with gateway.db.sessions() as session:
        assert len((await session.scalars(select(OfficerEvent))).all()) == 3


async def test_free_text_is_masked_before_it_is_stored(gateway: Gateway) -> None:
    await register_officer(gateway, 1, muc_dich=f"Tra cứu theo hồ sơ của {id_number(5)}")
    view = await officers.lock(
        db=gateway.db, tai_khoan="canbo.001", reason=f"nhầm số {id_number(6)}", actor="a"
    )
    assert id_number(5) not in view.muc_dich
    assert view.status_reason == "nhầm số 001******006"


async def test_nothing_personal_or_secret_in_log_lines(
    gateway: Gateway,
    restore_logging: None,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure_logging("DEBUG", json_lines=True)
    caplog.set_level(logging.DEBUG)
    structlog.get_logger("tests").info("start")
    await register_officer(gateway, 1)
    await officers.update_credential(
        db=gateway.db,
        cipher=gateway.cipher,
        tai_khoan="canbo.001",
        platform_username="user001",
        platform_password="Second-pass-000",
        actor="a",
    )
    await officers.authorize(gateway.db, gateway.cipher, tai_khoan="canbo.001")
    await officers.lock(db=gateway.db, tai_khoan="canbo.001", reason="kiểm tra", actor="a")
    with pytest.raises(InvalidInput):
        await register_officer(gateway, 2, so_dinh_danh="003090000002")
    captured = capfd.readouterr()
    logs = captured.err + captured.out + caplog.text
    assert "officer_registered" in logs  # the events were logged: the check means something
    assert "officer_locked" in logs
    for clear in (id_number(1), "003090000002", password(1), "Second-pass-000"):
        assert clear not in logs


async def test_a_sealed_value_moved_to_another_officer_does_not_open(gateway: Gateway) -> None:
    await register_officer(gateway, 1)
    await register_officer(gateway, 2)
    async with gateway.db.transaction() as session:
        first = await session.scalar(select(Officer).where(Officer.tai_khoan == "canbo.001"))
        assert first is not None
        await session.execute(
            update(Officer)
            .where(Officer.tai_khoan == "canbo.002")
            .values(credential_sealed=first.credential_sealed)
        )
    with pytest.raises(Exception, match="failed authentication"):
        await officers.authorize(gateway.db, gateway.cipher, tai_khoan="canbo.002")


async def test_authorisation_is_reused_briefly_and_dropped_on_change(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change made elsewhere (another process) is seen within the TTL; one made through
    the registry at once."""
    await register_officer(gateway, 7)
    clock = [1000.0]
    monkeypatch.setattr(officers.time, "monotonic", lambda: clock[0])
    await officers.authorize(gateway.db, gateway.cipher, tai_khoan="canbo.007")
    async with gateway.db.transaction() as session:  # as another process would
        await session.execute(
            update(Officer).where(Officer.tai_khoan == "canbo.007").values(status="locked")
        )
    await officers.authorize(gateway.db, gateway.cipher, tai_khoan="canbo.007")  # cached
    clock[0] += officers.AUTHORIZATION_TTL_SECONDS + 0.1
    with pytest.raises(Forbidden):
        await officers.authorize(gateway.db, gateway.cipher, tai_khoan="canbo.007")

    await register_officer(gateway, 8)
    await officers.authorize(gateway.db, gateway.cipher, tai_khoan="canbo.008")
    await officers.lock(db=gateway.db, tai_khoan="canbo.008", reason="Chuyển công tác", actor="t")
    with pytest.raises(Forbidden):  # same clock: the registry dropped the cached grant
        await officers.authorize(gateway.db, gateway.cipher, tai_khoan="canbo.008")
