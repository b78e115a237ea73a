"""The payment connector's wire profiles: the one module that reads ``profile`` (see
:mod:`connectors.payment.config`).

Both public senders build INIT with the same fields and the same checksum; they differ in the
JSON types of two receipt values:

=======  =====================================================================================
paseto   every value a JSON string: ``MaDichVu`` "2", ``PhiLePhi[].SoTien`` "50000" (PASETO
         ``Infrastructure/DvcPayment/InitDvcPaymentRequest.cs``: ``string`` properties,
         ``MaDichVu = "2"``): the default
opencps  ``MaDichVu`` the number 2 (``schema.getInt(MADICHVU)``) and ``PhiLePhi[].SoTien`` a
         number (``paymentFile.getServiceAmount()``, a long), OpenCPS rc-3.0
         ``PayGateIntegrationActionImpl.createReceiptInfo`` L1471-1565
=======  =====================================================================================

``SoTien`` of the packet and of ``DSKhoanNop`` is a JSON string in both (OpenCPS L1429 and
L825 ``String.valueOf``); no checksummed value depends on the profile.
"""

from __future__ import annotations

from typing import Any

from connectors.payment.config import Profile
from schemas import payment as wire

__all__ = ["init_body"]


def init_body(packet: wire.InitRequest, profile: Profile) -> dict[str, Any]:
    """The JSON body of ``packet`` as the profile types it."""
    body: dict[str, Any] = packet.model_dump(mode="json")
    if profile == "opencps":
        receipt = body["ThongTinBienLai"]
        receipt["MaDichVu"] = int(receipt["MaDichVu"])
        for line in receipt["PhiLePhi"]:
            line["SoTien"] = int(line["SoTien"])
    return body
