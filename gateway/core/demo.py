"""The parts of ``lgsp demo``: what a connector contributes to the main job (``SPEC.demo_parts``)
and what every part holds.

The demo (:mod:`gateway.demo`) starts the simulators and the gateway, creates the case system's
client with the scopes the parts ask for, and plays every registered part in ``order`` against
the running gateway. A part sees the case system's client of the gateway (``api``), a client of
the sandbox server (``sim``) and the demo's checker (``check(ok, what)`` prints the line and
remembers a failure); parts hand each other what they make through :attr:`DemoContext.shared`
(by convention ``"applicants"``: the citizens of the simulated population, ``"dossiers"``: the
case system's dossiers, ``"reserved_procedures"``: procedure codes dossiers must not use).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

__all__ = ["Check", "DemoContext", "DemoPart", "Say", "sample_pdf"]

Check = Callable[[bool, str], bool]
Say = Callable[[str], None]


@dataclass
class DemoContext:
    """One run of the demo, as the parts see it."""

    api: httpx.AsyncClient
    sim: httpx.AsyncClient
    check: Check
    say: Say
    #: how many dossiers the run makes (``lgsp demo --dossiers``)
    size: int
    rng: random.Random
    shared: dict[str, Any] = field(default_factory=dict)


class DemoPart:
    """A part of the demo. Subclasses registered through ``SPEC.demo_parts`` set ``order`` (lower
    plays first), the API ``scopes`` they use, and implement :meth:`play`."""

    order: ClassVar[int] = 100
    scopes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, api: httpx.AsyncClient, sim: httpx.AsyncClient, check: Check) -> None:
        self.api = api
        self.sim = sim
        self.check = check

    async def play(self, ctx: DemoContext) -> None:
        """Play the part in a run of the demo."""
        raise NotImplementedError(f"{type(self).__name__} is not a playable demo part")


def sample_pdf(text: str = "KET QUA GIAI QUYET THU TUC HANH CHINH") -> bytes:
    """A valid one-page PDF 1.7 showing ``text`` (ASCII; other characters become ``?``): the
    result document the demo and the tests sign, store and send."""
    safe = text.encode("ascii", "replace").replace(b"\\", b"\\\\")
    safe = safe.replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 14 Tf 72 760 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)
