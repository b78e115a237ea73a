"""Turning pydantic validation failures into field-path errors.

Paths are written the way a reader of the packet would: ``data[0].NgayTiepNhan``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gateway.core.errors import FieldError, InvalidInput

M = TypeVar("M", bound=BaseModel)


def field_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(body)"


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    # input values are deliberately left out: they may hold personal data
    return [FieldError(field_path(tuple(e["loc"]), prefix), e["msg"]) for e in exc.errors()]


def validate_model(
    model: type[M], data: Mapping[str, Any] | Any, *, prefix: str = "", what: str = ""
) -> M:
    """Validate ``data`` as ``model`` or raise :class:`InvalidInput` naming every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc, prefix)
        raise InvalidInput(
            f"{what or model.__name__} failed validation: {errors[0].loc}: {errors[0].msg}",
            errors=errors,
        ) from exc
