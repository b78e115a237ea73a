"""Configuration of the EMC connector (section ``LGSP_CONNECTORS__EMC__*``).

EMC identifies a province by its ``SiteId`` (an integer EMC issues) and takes no credential on
``TrackingMCDT`` (PASETO ``EMCService.cs`` sends none; ``Host/Configurations/emc.json`` holds
``ApiUrl``, ``SiteId`` and ``MaTinh``). As in PASETO, tracking is off while ``site_id`` is
unset. The aggregate endpoint is this project's own profile: off unless ``aggregate_url`` is
set, with an optional bearer token.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator

from connectors.emc.codes import MucDo
from gateway.core.connector import ConnectorConfig

__all__ = [
    "PLACEHOLDER_AGENCY",
    "PLACEHOLDER_PROVINCE",
    "PRODUCTION_TRACKING_URL",
    "EmcConfig",
    "production_refusals",
]

#: PASETO's default ``ApiUrl`` (``EMCService.cs``)
PRODUCTION_TRACKING_URL = "https://f-emc.ngsp.gov.vn/TrackingMCDT"
#: development defaults that name no real province nor agency; refused in production once
#: tracking is on (an event sent with them would be counted for nobody)
PLACEHOLDER_PROVINCE = "00"
PLACEHOLDER_AGENCY = "000.00.00.H00"


def _url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


class EmcConfig(ConnectorConfig):
    """Where EMC is, who the province is there, and how the gateway computes its events."""

    model_config = ConfigDict(extra="forbid")

    profile: Literal["emc-tracking"] = Field(
        "emc-tracking",
        description="wire profile of the dossier event: emc-tracking (POST TrackingMCDT, as "
        "PASETO EMCRequestBody.cs / EMCService.cs send it)",
    )
    tracking_url: str = Field(
        "http://127.0.0.1:9000/emc/TrackingMCDT",
        description=f"the TrackingMCDT endpoint (production: {PRODUCTION_TRACKING_URL}); "
        "the default is the local simulator",
    )
    site_id: int | None = Field(
        None,
        ge=1,
        description="SiteId EMC issued to the province; unset: tracking is off (PASETO's switch)",
    )
    ma_tinh: str = Field(
        PLACEHOLDER_PROVINCE,
        min_length=1,
        max_length=10,
        description="province code sent as User.LOCATION (PASETO MaTinh)",
    )
    ma_don_vi: str = Field(
        PLACEHOLDER_AGENCY,
        min_length=1,
        max_length=64,
        description="agency code of the monthly report (MaDonVi of our aggregate profile)",
    )
    aggregate_url: str | None = Field(
        None,
        description="OUR PROFILE (no public source): where the monthly aggregate is POSTed; "
        "unset: the report is computed but cannot be submitted",
    )
    aggregate_token: SecretStr = Field(
        SecretStr(""),
        json_schema_extra={"writeOnly": True, "format": "password"},
        description="bearer token of the aggregate endpoint (our profile); empty: none sent",
    )
    procedure_levels: dict[str, MucDo] = Field(
        default_factory=dict,
        description="level of service per procedure code (ma_tthc -> truc_tiep_mot_phan, "
        "truc_tiep_toan_trinh, truc_tuyen_mot_phan, truc_tuyen_toan_trinh)",
    )
    default_level: MucDo = Field(
        MucDo.truc_tuyen_mot_phan,
        description="level of a procedure not in procedure_levels (PASETO sends online, "
        "partial, for procedures below level 3)",
    )
    track_dossier_syncs: bool = Field(
        True,
        description="turn delivered DVCQG dossier syncs into EMC events (the periodic scan)",
    )
    scan_interval_seconds: float = Field(
        30.0, gt=0, le=86_400, description="how often the scan of delivered dossier syncs runs"
    )
    scan_batch_size: int = Field(
        200, ge=1, le=10_000, description="delivered syncs turned into events per scan round"
    )
    settle_seconds: float = Field(
        120.0,
        ge=0,
        le=86_400,
        description="the scan's cursor never passes syncs younger than this (a transaction "
        "that took an id earlier may still commit)",
    )
    report_day: int | None = Field(
        None,
        ge=1,
        le=28,
        description="day of the month (local time) on which last month's report is queued "
        "for submission; unset (default): only on request",
    )
    report_check_seconds: float = Field(
        3600.0, gt=0, le=86_400, description="how often the monthly submission job looks"
    )
    timeout_seconds: float = Field(15.0, gt=0, le=300, description="timeout of one call")
    max_answer_bytes: int = Field(
        64 * 1024, ge=1024, le=16 * 1024 * 1024, description="bound on an answer's size"
    )

    @field_validator("tracking_url", "aggregate_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return _url(value)

    @property
    def enabled(self) -> bool:
        """Tracking is on (a ``SiteId`` is configured)."""
        return self.site_id is not None

    def level_of(self, ma_tthc: str) -> MucDo:
        return self.procedure_levels.get(ma_tthc, self.default_level)


def production_refusals(config: EmcConfig) -> list[str]:
    """The development placeholders still set while tracking is on (refused in production)."""
    if not config.enabled:
        return []
    return [
        name
        for name, value, placeholder in (
            ("ma_tinh", config.ma_tinh, PLACEHOLDER_PROVINCE),
            ("ma_don_vi", config.ma_don_vi, PLACEHOLDER_AGENCY),
        )
        if value == placeholder
    ]
