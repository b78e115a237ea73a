"""CRL and OCSP fetching for pyhanko-certvalidator, over the gateway's HTTP client.

The URLs come from the certificates being verified, which are input from outside: every fetch
is bounded (``http``/``https`` only, a timeout, a size bound, a number of fetches per
verification) and goes through the connector's client, so each one is an exchange-log entry and
tests reach the simulator's responder in-process. Issuer certificates are never fetched from
AIA ``caIssuers`` URLs: the chain is built from the certificates the signature carries.

A failed fetch raises certvalidator's own fetch errors, which its "hard-fail" revocation mode
turns into :class:`~pyhanko_certvalidator.errors.InsufficientRevinfoError` when neither OCSP nor
CRL answered; :mod:`connectors.esign.verify_chain` reports that as revocation ``unknown``.
Failures are also kept in :attr:`RevocationFetchers.failures` for the report's reasons.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping
from typing import Any, TypeAlias

import httpx
from asn1crypto import cms, crl, ocsp, pem, x509
from pyhanko_certvalidator import errors
from pyhanko_certvalidator.authority import Authority
from pyhanko_certvalidator.fetchers.api import (
    CertificateFetcher,
    CRLFetcher,
    Fetchers,
    OCSPFetcher,
)
from pyhanko_certvalidator.fetchers.common_utils import (
    enumerate_delivery_point_urls,
    format_ocsp_request,
    process_ocsp_response_data,
)
from pyhanko_certvalidator.util import get_ocsp_urls, get_relevant_crl_dps, issuer_serial

from gateway.core.http.recording import ResponseTooLarge

__all__ = ["RevocationFetchers"]

_Cert: TypeAlias = "x509.Certificate | cms.AttributeCertificateV2"


class RevocationFetchers:
    """One verification's fetchers (and their caches): build one per verification."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        timeout: float,
        max_bytes: int,
        max_fetches: int,
        mirrors: Mapping[str, str] | None = None,
    ) -> None:
        self._http = http
        self._mirrors = dict(mirrors or {})
        self._timeout = httpx.Timeout(timeout)
        self._max_bytes = max_bytes
        self._left = max_fetches
        #: "url: why" of every fetch that failed, in order
        self.failures: list[str] = []
        self.fetchers = Fetchers(
            ocsp_fetcher=_OCSPFetcher(self),
            crl_fetcher=_CRLFetcher(self),
            cert_fetcher=_NoIssuerFetcher(),
        )

    async def fetch(
        self, url: str, *, kind: str, body: bytes | None = None, content_type: str = ""
    ) -> bytes:
        """The answer's bytes, or ``OSError`` naming why (the callers convert it)."""
        for prefix, target in self._mirrors.items():
            if url.startswith(prefix):
                url = target + url[len(prefix) :]
                break
        if not url.startswith(("http://", "https://")):
            raise OSError(f"{url[:200]}: only http(s) URLs are fetched")
        if self._left <= 0:
            raise OSError(f"{url[:200]}: fetch limit reached")
        self._left -= 1
        try:
            response = await self._http.request(
                "POST" if body is not None else "GET",
                url,
                content=body,
                headers={"Content-Type": content_type} if content_type else None,
                timeout=self._timeout,
                extensions={
                    "lgsp_operation": f"esign.{kind}",
                    "lgsp_max_response_bytes": self._max_bytes,
                },
            )
        except ResponseTooLarge:
            raise self._failed(url, f"answer larger than {self._max_bytes} bytes") from None
        except httpx.HTTPError as exc:
            raise self._failed(url, type(exc).__name__) from None
        if response.status_code != 200:
            raise self._failed(url, f"HTTP {response.status_code}")
        return response.content

    def _failed(self, url: str, why: str) -> OSError:
        message = f"{kind_free(url)}: {why}"
        self.failures.append(message)
        return OSError(message)


def kind_free(url: str) -> str:
    """The URL without its query (what is safe to show in a report)."""
    return url.split("?", 1)[0][:200]


class _OCSPFetcher(OCSPFetcher):
    def __init__(self, owner: RevocationFetchers) -> None:
        self._owner = owner
        self._results: dict[Any, ocsp.OCSPResponse | Exception] = {}

    async def fetch(self, cert: _Cert, authority: Authority) -> ocsp.OCSPResponse:
        tag = (issuer_serial(cert), authority.hashable)
        if tag not in self._results:
            try:
                self._results[tag] = await self._fetch(cert, authority)
            except errors.OCSPFetchError as exc:
                self._results[tag] = exc
        result = self._results[tag]
        if isinstance(result, Exception):
            raise result
        return result

    async def _fetch(self, cert: _Cert, authority: Authority) -> ocsp.OCSPResponse:
        request = format_ocsp_request(cert, authority, certid_hash_algo="sha1", request_nonces=True)
        urls = get_ocsp_urls(cert)
        if not urls:
            raise errors.OCSPFetchError("no OCSP responder named")
        last = "no OCSP answer"
        for url in urls:
            try:
                data = await self._owner.fetch(
                    url, kind="ocsp", body=request.dump(), content_type="application/ocsp-request"
                )
                answer: ocsp.OCSPResponse = process_ocsp_response_data(
                    data, ocsp_request=request, ocsp_url=url
                )
                return answer
            except OSError as exc:
                last = str(exc)
            except errors.OCSPValidationError as exc:
                last = f"{kind_free(url)}: {exc}"
                self._owner.failures.append(last)
        raise errors.OCSPFetchError(last)

    def fetched_responses(self) -> Iterable[ocsp.OCSPResponse]:
        return [r for r in self._results.values() if not isinstance(r, Exception)]

    def fetched_responses_for_cert(self, cert: _Cert) -> Iterable[ocsp.OCSPResponse]:
        target = issuer_serial(cert)
        return [
            r
            for (serial, _), r in self._results.items()
            if serial == target and not isinstance(r, Exception)
        ]


class _CRLFetcher(CRLFetcher):
    def __init__(self, owner: RevocationFetchers) -> None:
        self._owner = owner
        self._by_cert: dict[bytes, list[crl.CertificateList]] = {}
        self._by_url: dict[str, crl.CertificateList | Exception] = {}

    async def fetch(self, cert: _Cert, *, use_deltas: Any = True) -> Iterable[crl.CertificateList]:
        key = issuer_serial(cert)
        if key in self._by_cert:
            return self._by_cert[key]
        found: list[crl.CertificateList] = []
        last: Exception | None = None
        for point in get_relevant_crl_dps(cert, use_deltas=bool(use_deltas)):
            for url in enumerate_delivery_point_urls(point):
                try:
                    found.append(await self._one(url))
                except errors.CRLFetchError as exc:
                    last = exc
        if not found and last is not None:
            raise last
        self._by_cert[key] = found
        return found

    async def _one(self, url: str) -> crl.CertificateList:
        if url not in self._by_url:
            try:
                data = await self._owner.fetch(url, kind="crl")
                if pem.detect(data):
                    _, _, data = pem.unarmor(data)
                parsed = crl.CertificateList.load(data)
                parsed.native  # noqa: B018 - parse now: a bad CRL fails here
                self._by_url[url] = parsed
            except (OSError, ValueError) as exc:
                self._by_url[url] = errors.CRLFetchError(str(exc))
        result = self._by_url[url]
        if isinstance(result, Exception):
            raise result
        return result

    def fetched_crls(self) -> Iterable[crl.CertificateList]:
        return [r for r in self._by_url.values() if not isinstance(r, Exception)]

    def fetched_crls_for_cert(self, cert: _Cert) -> Iterable[crl.CertificateList]:
        return self._by_cert[issuer_serial(cert)]


class _NoIssuerFetcher(CertificateFetcher):
    """Never fetches issuers (see the module docstring)."""

    async def fetch_cert_issuers(self, cert: _Cert) -> AsyncGenerator[x509.Certificate, None]:
        return
        yield  # an async generator that yields nothing

    async def fetch_crl_issuers(
        self, certificate_list: Any
    ) -> AsyncGenerator[x509.Certificate, None]:
        return
        yield

    def fetched_certs(self) -> Iterable[x509.Certificate]:
        return []
