"""The test PKI's public services: CRLs, the OCSP responder, the root to configure, and an
RFC 3161 timestamp authority.

``/pki/root.crl``, ``/pki/signing-ca.crl`` (DER), ``POST /pki/ocsp`` (RFC 6960 over HTTP
POST), ``/pki/root.pem``, ``POST /tsa`` (RFC 3161).
"""

from __future__ import annotations

from asn1crypto import keys, tsp
from asn1crypto import x509 as asn1_x509
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from connectors.esign.sandbox.state import EsignSimulator
from gateway.core.http.simulators import BodyTooLarge, read_body

__all__ = ["add_authority_routes"]

MAX_REQUEST_BYTES = 64 * 1024


def add_authority_routes(app: FastAPI, sim: EsignSimulator) -> None:
    pki = sim.pki
    tsa_cert = asn1_x509.Certificate.load(pki.tsa.der)
    stamper = DummyTimeStamper(
        tsa_cert=tsa_cert,
        tsa_key=keys.PrivateKeyInfo.load(pki.tsa.key_der),
        certs_to_embed=SimpleCertificateStore.from_certs([tsa_cert]),  # type: ignore[no-untyped-call]
    )

    def down(kind: str) -> bool:
        return sim.faults.revocation_down or (kind == "ocsp" and sim.faults.ocsp_down)

    @app.get("/pki/root.crl")
    async def root_crl() -> Response:
        if down("crl"):
            return Response(status_code=503)
        sim.stats.crl += 1
        return Response(pki.crl("root"), media_type="application/pkix-crl")

    @app.get("/pki/signing-ca.crl")
    async def signing_crl() -> Response:
        if down("crl"):
            return Response(status_code=503)
        sim.stats.crl += 1
        return Response(pki.crl("intermediate"), media_type="application/pkix-crl")

    @app.get("/pki/root.pem")
    async def root_pem() -> Response:
        return Response(pki.root.pem, media_type="application/x-pem-file")

    @app.post("/pki/ocsp")
    async def ocsp_responder(request: Request) -> Response:
        if down("ocsp"):
            return Response(status_code=503)
        try:
            body = await read_body(request, MAX_REQUEST_BYTES)
        except BodyTooLarge:
            return Response(status_code=413)
        sim.stats.ocsp += 1
        return Response(pki.ocsp_answer(body), media_type="application/ocsp-response")

    @app.post("/tsa")
    async def timestamp(request: Request) -> Response:
        if sim.faults.tsa_down:
            return Response(status_code=503)
        try:
            query = tsp.TimeStampReq.load(await read_body(request, MAX_REQUEST_BYTES))
            query.native  # noqa: B018 - parse it all now
        except BodyTooLarge:
            return Response(status_code=413)
        except ValueError:
            return Response(status_code=400)
        sim.stats.tsa += 1
        stamper.fixed_dt = sim.clock()  # the time it vouches for: the simulator's clock
        reply = await stamper.async_request_tsa_response(query)
        return Response(reply.dump(), media_type="application/timestamp-reply")
