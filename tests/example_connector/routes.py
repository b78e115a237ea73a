"""``POST /v1/example/notes``: a note accepted into the outbox (202), delivered later."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.core.clients import Principal
from gateway.core.web.deps import GatewayDep, require_scope
from gateway.core.web.intake import accept

router = APIRouter(prefix="/v1/example", tags=["example"])


class Note(BaseModel):
    subject: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=500)


@router.post("/notes", status_code=202, operation_id="example-note")
async def send_note(
    note: Note,
    request: Request,
    gw: GatewayDep,
    client: Annotated[Principal, Depends(require_scope("example:write"))],
) -> JSONResponse:
    """Send a note to the example platform (through the outbox)."""
    return await accept(
        request,
        gw,
        client,
        connector="example",
        operation="send_note",
        ordering_key=f"example:{note.subject}",
        payload=note.model_dump(),
    )
