"""The eSign simulator as one ASGI app (mounted under ``/esign``): a simulated VNPT SmartCA
(:mod:`.smartca`), a CSC-style signing service (:mod:`.csc`), and the test PKI's CRLs, OCSP
responder and timestamp authority (:mod:`.authority`).

Not part of the platforms, under ``/_sandbox``: ``GET /transactions`` (SmartCA's, with what
was asked), ``POST /transactions/{id}/approve|deny|expire`` (the holder's answer on their
phone; answers the webhook body SmartCA would POST to the provider), ``GET|PUT /faults``
(:class:`FaultConfig`: responder down, TSA down, services down, wrong signatures, manual
approval), ``POST /reset``, ``GET /stats``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from connectors.esign.sandbox.accounts import (
    CSC_PASSWORD,
    CSC_PIN,
    CSC_USERNAME,
    SP_ID,
    SP_PASSWORD,
)
from connectors.esign.sandbox.authority import add_authority_routes
from connectors.esign.sandbox.csc import add_csc_routes
from connectors.esign.sandbox.pki import SANDBOX_BASE, sandbox_pki
from connectors.esign.sandbox.smartca import add_smartca_routes, approve, webhook_body
from connectors.esign.sandbox.state import EsignSimulator, FaultConfig, Transaction
from gateway.core.http.simulators import add_control_routes

__all__ = ["create_app", "get_simulator"]


def get_simulator(app: FastAPI) -> EsignSimulator:
    sim = getattr(app.state, "sim", None)
    if not isinstance(sim, EsignSimulator):
        raise TypeError("app.state.sim is not an EsignSimulator")
    return sim


def create_app(
    *,
    pki_base: str = SANDBOX_BASE,
    username: str = CSC_USERNAME,
    password: str = CSC_PASSWORD,
    pin: str = CSC_PIN,
    sp_id: str = SP_ID,
    sp_password: str = SP_PASSWORD,
) -> FastAPI:
    """The simulator app; its state is ``app.state.sim`` (an :class:`EsignSimulator`)."""
    sim = EsignSimulator(
        pki=sandbox_pki(pki_base),
        username=username,
        password=password,
        pin=pin,
        sp_id=sp_id,
        sp_password=sp_password,
    )
    app = FastAPI(title="eSign simulator", docs_url=None, redoc_url=None)
    app.state.sim = sim
    add_smartca_routes(app, sim)
    add_csc_routes(app, sim)
    add_authority_routes(app, sim)

    def listed(t: Transaction) -> dict[str, Any]:
        return {
            "transaction_id": t.id,
            "tran_code": t.tran_code,
            "user_id": t.user_id,
            "serial_number": t.serial_number,
            "state": t.state,
            "description": t.description,
            "sign_files": [{"doc_id": f.doc_id, "file_type": f.file_type} for f in t.files],
        }

    @app.get("/_sandbox/transactions")
    async def list_transactions() -> list[dict[str, Any]]:
        return [listed(t) for t in sim.transactions.values()]

    @app.post("/_sandbox/transactions/{transaction_id}/{action}")
    async def decide(transaction_id: str, action: str) -> JSONResponse:
        t = sim.transactions.get(transaction_id)
        if t is None or action not in ("approve", "deny", "expire"):
            return JSONResponse({"detail": "no such transaction or action"}, status_code=404)
        if t.state == "pending":
            if action == "approve":
                approve(sim, t)
            else:
                t.state = "denied" if action == "deny" else "expired"
        return JSONResponse({"state": t.state, "webhook": webhook_body(sim, t)})

    add_control_routes(app, sim, FaultConfig)
    return app
