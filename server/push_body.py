"""Reading a push request's body fast, with exactly the rules of `server.app.PushIn`.

A first push of a whole street is hundreds of pages of 500 changes; pydantic spent more time on
them than the merge itself. msgspec checks the same bounds about ten times faster. It is at least
as strict as pydantic (no string for a number, no float for an integer): a body it refuses is read
again the slow way, by the pydantic model and with FastAPI's own steps, so every refusal (and every
body pydantic's lax rules would still take) gets exactly the answer it got before."""

from __future__ import annotations

import email.message
import json
from typing import Annotated, Any

import msgspec
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

BIG = 2**62  # as server.app.BIG: every integer a client sends must fit a 64-bit column
MAX_CHANGES = 2000

_Seq = Annotated[int, msgspec.Meta(ge=1, le=BIG)]
_Count = Annotated[int, msgspec.Meta(ge=0, le=BIG)]


class _Change(msgspec.Struct):
    """The fields, order, bounds and defaults of server.app.Change."""

    seq: _Seq
    table: Annotated[str, msgspec.Meta(max_length=32)]
    id: Annotated[str, msgspec.Meta(max_length=36)]
    op: Annotated[str, msgspec.Meta(max_length=1)]
    fields: dict[str, list[Any]]
    known: _Count = 0
    at: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    by: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    prev: _Count | None = None


class _Push(msgspec.Struct):
    changes: Annotated[list[_Change], msgspec.Meta(max_length=MAX_CHANGES)]


_DECODER = msgspec.json.Decoder(_Push)


def _is_json(content_type: str | None) -> bool:
    """FastAPI's test of whether a body is JSON (its default strict_content_type: a body without
    a Content-Type is not)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def changes_of(raw: bytes, content_type: str | None, model: type[BaseModel]) -> list[dict[str, Any]]:
    """The changes of a push body as dicts (model_dump's keys and order), or the refusal FastAPI
    gives for a body declared as `model`: RequestValidationError (422) or HTTPException (400)."""
    if raw and _is_json(content_type):
        try:
            body = _DECODER.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            pass  # answered below, exactly as before
        else:
            return [msgspec.structs.asdict(c) for c in body.changes]
    return [c.model_dump() for c in _slow(raw, content_type, model).changes]  # type: ignore[attr-defined]  # `model` is a push body


def _slow(raw: bytes, content_type: str | None, model: type[BaseModel]) -> BaseModel:
    """FastAPI's own reading of a body declared as `model` (fastapi.routing's request handler)."""
    body: Any = None
    if raw:
        if _is_json(content_type):
            try:
                body = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise RequestValidationError([{"type": "json_invalid", "loc": ("body", exc.pos),
                                               "msg": "JSON decode error", "input": {},
                                               "ctx": {"error": exc.msg}}]) from exc
            except UnicodeDecodeError as exc:
                raise HTTPException(400, "There was an error parsing the body") from exc
        else:
            body = raw
    if body is None:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from exc


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema with its $defs inlined, for a route's openapi_extra (the fuzz tests and
    the API docs still see the body's shape)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.rsplit("/", 1)[1]])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)
