"""The ops team's console: server-rendered pages at ``/ops`` (issue 20).

One page per glance: every connector's state, error rate and latency over the last 5 minutes
and hour, queues, dead letters, last success and a sparkline of the hour; the dead letters, to
replay or skip with a reason; the connectors' alerts (officer governance) to acknowledge; the
maintenance windows and the exchange log's sealing and anchoring. Log in with an API key that
holds ``ops:read``; actions need ``ops:admin`` and are recorded in the exchange log with the
client and the reason, like the API's. Vietnamese and English labels. htmx (vendored in
``static/``, no CDN: the console works on a network with no internet) refreshes the connectors
and sends the actions without reloading the page; every form also works without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from gateway.api.console import views
from gateway.api.console.i18n import LABELS, LANGUAGES
from gateway.api.console.session import (
    COOKIE,
    LANG_COOKIE,
    LIFETIME_SECONDS,
    ConsoleSessions,
    Session,
    active_principal,
)
from gateway.core.clients import ClientAuthenticator, Principal
from gateway.core.delivery import outbox
from gateway.core.errors import GatewayError
from gateway.core.local_time import TZ as VN
from gateway.core.runtime import Gateway
from gateway.core.web.errors import record_refusal

HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/ops", include_in_schema=False)

#: what every console answer carries: no framing, no third-party anything, nothing cached
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
MAX_FORM_FIELDS = 10


def mount(app: FastAPI) -> None:
    """The console's routes and its vendored assets on ``app``."""
    app.mount("/ops/static", StaticFiles(directory=HERE / "static"), name="ops-static")
    app.include_router(router)


@dataclass
class Viewer:
    principal: Principal
    session: Session
    csrf: str
    lang: str

    @property
    def admin(self) -> bool:
        return self.principal.has("ops:admin")


def _gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


def _sessions(request: Request) -> ConsoleSessions:
    sessions: ConsoleSessions | None = getattr(request.app.state, "console_sessions", None)
    if sessions is None:
        sessions = ConsoleSessions(_gateway(request).settings.data_key_bytes())
        request.app.state.console_sessions = sessions
    return sessions


def _lang(request: Request) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "vi"
    return asked if asked in LANGUAGES else "vi"


async def _viewer(request: Request) -> Viewer | None:
    sessions = _sessions(request)
    session = sessions.read(request.cookies.get(COOKIE))
    if session is None:
        return None
    principal = await active_principal(_gateway(request).db, session.client)
    if principal is None or not principal.has("ops:read"):
        return None
    request.state.principal = principal  # the access line names the client
    return Viewer(principal, session, sessions.csrf(session), _lang(request))


def _secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def _finish(request: Request, response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            _lang(request),
            max_age=365 * 86400,
            path="/ops",
            samesite="strict",
            secure=_secure(request),
        )
    return response


def _render(request: Request, name: str, context: dict[str, Any], *, status: int = 200) -> Response:
    lang = context.get("lang") or _lang(request)
    response = TEMPLATES.TemplateResponse(
        request,
        name,
        {"t": LABELS[lang], "lang": lang, "local": _local, "ago": _ago, **context},
        status_code=status,
    )
    return _finish(request, response)


def _local(value: Any) -> str:
    """A time as Việt Nam reads it (UTC+7)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return str(value.astimezone(VN).strftime("%Y-%m-%d %H:%M:%S"))


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _to_login(request: Request) -> Response:
    target = "/ops/login?next=" + quote(request.url.path, safe="/")
    if request.headers.get("hx-request"):
        # an htmx fragment: the whole page goes to the login
        return _finish(request, Response(status_code=401, headers={"HX-Redirect": target}))
    return _finish(request, RedirectResponse(target, status_code=303))


async def _form(request: Request) -> dict[str, str]:
    raw = getattr(request.state, "raw_body", None)
    if raw is None:
        raw = await request.body()
    try:
        parsed = parse_qs(
            raw.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in parsed.items() if v}


# --- logging in ------------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request) -> Response:
    return _render(request, "login.html", {"next": _next(request), "failed": False})


def _next(request: Request) -> str:
    target = request.query_params.get("next", "/ops")
    # only a path of the console: never an open redirect
    return target if target.startswith("/ops") and "//" not in target else "/ops"


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    # the key is never kept, not even in the refusal's encrypted body
    request.state.raw_body = b""
    await request.app.state.rate_limiter.check(f"ops-login:{_client_ip(request)}")
    authenticator: ClientAuthenticator = request.app.state.authenticator
    try:
        principal = await authenticator.authenticate(form.get("key", "").strip() or None)
        if not principal.has("ops:read"):
            raise PermissionError(principal.name)
    except (GatewayError, PermissionError) as exc:
        await record_refusal(
            request, 401, "unauthenticated", f"ops console login refused: {type(exc).__name__}"
        )
        return _render(request, "login.html", {"next": _next(request), "failed": True}, status=401)
    token = _sessions(request).issue(principal.name)
    target = form.get("next") or "/ops"
    target = target if target.startswith("/ops") and "//" not in target else "/ops"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=LIFETIME_SECONDS,
        path="/ops",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    request.state.principal = principal
    return _finish(request, response)


def _client_ip(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


@router.post("/logout")
async def logout(request: Request) -> Response:
    response = RedirectResponse("/ops/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ops")
    return _finish(request, response)


# --- the pages -------------------------------------------------------------------------------


@router.get("")
async def overview(request: Request) -> Response:
    viewer = await _viewer(request)
    if viewer is None:
        return _to_login(request)
    gw = _gateway(request)
    return _render(
        request,
        "overview.html",
        {
            "viewer": viewer,
            "connectors": await views.connectors(gw),
            "audit": await views.audit_status(gw),
            "alerts_open": await _open_alerts(gw),
            "page": "overview",
        },
    )


@router.get("/fragments/connectors")
async def connectors_fragment(request: Request) -> Response:
    viewer = await _viewer(request)
    if viewer is None:
        return _to_login(request)
    return _render(
        request,
        "_connectors.html",
        {"viewer": viewer, "connectors": await views.connectors(_gateway(request))},
    )


@router.get("/dlq")
async def dead_letters(request: Request) -> Response:
    viewer = await _viewer(request)
    if viewer is None:
        return _to_login(request)
    gw = _gateway(request)
    connector = request.query_params.get("connector") or None
    dossier = (request.query_params.get("dossier") or "").strip()[:64] or None
    if connector is not None and connector not in gw.connectors:
        connector = None
    items = await outbox.list_dead(gw.db, connector=connector, ma_ho_so=dossier, limit=500)
    return _render(
        request,
        "dlq.html",
        {
            "viewer": viewer,
            "items": items,
            "connector": connector,
            "dossier": dossier or "",
            "slugs": list(gw.connectors),
            "done": request.query_params.get("done"),
            "page": "dlq",
        },
    )


async def _action(request: Request) -> tuple[Viewer | None, dict[str, str], Response | None]:
    """The viewer and form of an action, or the answer that refuses it (login, 403)."""
    viewer = await _viewer(request)
    if viewer is None:
        return None, {}, _to_login(request)
    form = await _form(request)
    if not _sessions(request).csrf_ok(viewer.session, form.get("csrf")):
        await record_refusal(request, 403, "forbidden", "ops console: missing or wrong CSRF token")
        return viewer, form, _error(request, viewer, 403, "CSRF")
    if not viewer.admin:
        await record_refusal(
            request, 403, "forbidden", f"client {viewer.principal.name} lacks the scope ops:admin"
        )
        return viewer, form, _error(request, viewer, 403, LABELS[viewer.lang]["needs_admin"])
    return viewer, form, None


def _error(request: Request, viewer: Viewer, status: int, message: str) -> Response:
    return _render(
        request,
        "_error.html",
        {"viewer": viewer, "message": message, "status": status},
        status=status,
    )


def _reason(form: dict[str, str]) -> str | None:
    reason = " ".join(form.get("reason", "").split())
    return reason if 3 <= len(reason) <= 500 else None


async def _dlq_action(request: Request, ref: str, verb: str) -> Response:
    viewer, form, refused = await _action(request)
    if refused is not None or viewer is None:
        return refused or _to_login(request)
    reason = _reason(form)
    if reason is None:
        await record_refusal(request, 422, "invalid-input", "reason: 3 to 500 characters")
        return _error(request, viewer, 422, f"{LABELS[viewer.lang]['reason']}: 3-500")
    gw = _gateway(request)
    actor = f"console:{viewer.principal.name}"
    try:
        if verb == "replay":
            view = await outbox.replay(gw.db, ref, log=gw.log, actor=actor, reason=reason)
        else:
            view = await outbox.skip(gw.db, ref, reason=reason, log=gw.log, actor=actor)
    except GatewayError as exc:
        return _error(request, viewer, exc.status, exc.detail)
    gw.wakeup.set()
    done = "replayed" if verb == "replay" else "skipped"
    if request.headers.get("hx-request"):
        return _render(request, "_dlq_row.html", {"viewer": viewer, "item": view, "row_done": done})
    return _finish(request, RedirectResponse(f"/ops/dlq?done={done}", status_code=303))


@router.post("/dlq/{ref}/replay")
async def replay(request: Request, ref: str) -> Response:
    return await _dlq_action(request, ref, "replay")


@router.post("/dlq/{ref}/skip")
async def skip(request: Request, ref: str) -> Response:
    return await _dlq_action(request, ref, "skip")


async def _open_alerts(gw: Gateway) -> int:
    count = 0
    for spec in gw.specs.values():
        if spec.console_alerts is not None:
            alerts = await spec.console_alerts.list(gw)
            count += sum(1 for a in alerts if a.acknowledged_at is None)
    return count


@router.get("/alerts")
async def alerts(request: Request) -> Response:
    viewer = await _viewer(request)
    if viewer is None:
        return _to_login(request)
    gw = _gateway(request)
    sections = [
        {
            "slug": slug,
            "title": spec.console_alerts.title_vi
            if viewer.lang == "vi"
            else spec.console_alerts.title_en,
            "alerts": await spec.console_alerts.list(gw),
        }
        for slug, spec in gw.specs.items()
        if spec.console_alerts is not None
    ]
    return _render(
        request, "alerts.html", {"viewer": viewer, "sections": sections, "page": "alerts"}
    )


@router.post("/alerts/{slug}/{ref}/ack")
async def acknowledge(request: Request, slug: str, ref: str) -> Response:
    viewer, form, refused = await _action(request)
    if refused is not None or viewer is None:
        return refused or _to_login(request)
    gw = _gateway(request)
    spec = gw.specs.get(slug)
    if spec is None or spec.console_alerts is None:
        return _error(request, viewer, 404, f"no alerts of {slug!r}")
    note = " ".join(form.get("note", "").split())[:500] or None
    try:
        await spec.console_alerts.acknowledge(gw, ref, f"console:{viewer.principal.name}", note)
    except GatewayError as exc:
        return _error(request, viewer, exc.status, exc.detail)
    return _finish(request, RedirectResponse("/ops/alerts", status_code=303))


@router.get("/", response_class=HTMLResponse)
async def overview_slash(request: Request) -> Response:
    return _finish(request, RedirectResponse("/ops", status_code=307))
