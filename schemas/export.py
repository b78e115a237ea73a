"""Export the national platforms' packets as JSON Schema files (``python -m schemas.export``).

The files in ``schemas/json/`` are committed so reviewers and partner teams can read the wire
contract without running Python; a test re-exports them and compares, so they cannot drift
from the models. Output is deterministic: sorted keys, two-space indent, trailing newline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from schemas import dkdn, dvcqg, emc, esign, payment, postal, qlvb

__all__ = [
    "DEFAULT_OUT_DIR",
    "EXPORTED",
    "EXPORTED_MODELS",
    "export_json_schemas",
    "main",
    "render_schema",
]

DEFAULT_OUT_DIR = Path(__file__).resolve().parent / "json"

EXPORTED_MODELS: tuple[type[BaseModel], ...] = (
    dvcqg.HoSoMC,
    dvcqg.QuaTrinhXuLy,
    dvcqg.AuthRequest,
    dvcqg.AuthAnswer,
    dvcqg.DongBoHoSoMCRequest,
    dvcqg.CapNhatTienDoHoSoMCRequest,
    dvcqg.TraCuuHoSoRequest,
    dvcqg.LayDanhSachTTHCRequest,
    dvcqg.LayThuTucRequest,
    dvcqg.ServiceAnswer,
    dvcqg.TraCuuHoSoAnswer,
    dvcqg.LayDanhSachTTHCAnswer,
    dvcqg.LayThuTucAnswer,
    dvcqg.HoSoTrucTuyen,
    dvcqg.GuiHoSoTrucTuyen,
    dvcqg.LayDanhSachHoSoTrucTuyenRequest,
    dvcqg.LayDanhSachHoSoTrucTuyenAnswer,
    dvcqg.XacNhanHoSoTrucTuyenRequest,
    dvcqg.GuiPhanAnhKienNghi,
    dvcqg.GuiDanhGia,
    dvcqg.GuiHoiDap,
    dvcqg.LayDanhSachMucMoiRequest,
    dvcqg.XacNhanMucRequest,
    dvcqg.DongBoTraLoiPhanAnhRequest,
    dvcqg.DongBoHoiDapRequest,
    dvcqg.DongBoKetQuaKhoRequest,
)
"""Top-level DVCQG packets: what travels on the wire as a whole body or a ``data`` item."""

EXPORTED: dict[str, tuple[type[BaseModel], ...]] = {
    "dvcqg": EXPORTED_MODELS,
    "payment": (
        payment.InitRequest,
        payment.InitAnswer,
        payment.QueryRequest,
        payment.QueryAnswer,
        payment.Callback,
        payment.Statement,
        payment.BillRequest,
        payment.BillAnswer,
    ),
    "postal": (
        postal.TokenRequest,
        postal.TokenAnswer,
        postal.CreateOrder,
        postal.OrderAnswer,
        postal.CancelRequest,
        postal.CancelAnswer,
        postal.QuoteRequest,
        postal.QuoteAnswer,
        postal.TrackingAnswer,
        postal.StatusWebhook,
        postal.Statement,
    ),
    "esign": (
        esign.SignRequest,
        esign.SignResult,
        esign.SignAccepted,
        esign.VerifyRequest,
        esign.VerificationReport,
        esign.CscSignHashRequest,
        esign.CscSignHashAnswer,
        esign.HashSignRequest,
        esign.HashSignAnswer,
        esign.HashTransaction,
    ),
    "dkdn": (
        dkdn.NgspTokenAnswer,
        dkdn.NgspAnswer,
        dkdn.EntCertAnswer,
        dkdn.HcmAnswer,
    ),
    "emc": (
        emc.TrackingMCDT,
        emc.TrackingUser,
        emc.MonthlyAggregate,
        emc.AggregateAnswer,
    ),
    "qlvb": (
        qlvb.EdocPackage,
        qlvb.StatusPackage,
        qlvb.ServiceHeader,
        qlvb.SendAnswer,
        qlvb.KnobstickList,
        qlvb.UpdateStatus,
    ),
}
"""Every platform's packets, by the file-name prefix they are written under."""


def render_schema(model: type[BaseModel]) -> str:
    """The exact text written for ``model`` (UTF-8: Vietnamese descriptions stay readable)."""
    schema = model.model_json_schema(mode="validation")
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def export_json_schemas(out_dir: Path = DEFAULT_OUT_DIR) -> list[Path]:
    """Write ``<platform>.<ModelName>.json`` for each of :data:`EXPORTED` into ``out_dir``.

    Creates ``out_dir`` if needed, overwrites existing files, and returns the written paths
    in :data:`EXPORTED` order. Other files in ``out_dir`` are left alone.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for prefix, models in EXPORTED.items():
        for model in models:
            path = out_dir / f"{prefix}.{model.__name__}.json"
            path.write_text(render_schema(model), encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Regenerate the committed schemas (or into the directory given as first argument)."""
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else DEFAULT_OUT_DIR
    for path in export_json_schemas(out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
