"""Reading a request body, JSON or multipart, into the ticket fields and attached files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import Request, g
from werkzeug.exceptions import RequestEntityTooLarge

from mockserver.errors import IllegalArgument, PayloadTooLarge, RequiredFieldsMissing, UnsupportedMediaType
from mockserver.store import Attachment
from mockserver.validation import OperationRules
from spec import JSON, MULTIPART

# The contract rules (spec.catalogue ids) a body that cannot be read breaks.
MALFORMED_JSON_RULE = "http.malformed-json"
TOO_DEEP_RULE = "body.other-invalid-data"


@dataclass
class ParsedBody:
    body: dict[str, Any]
    files: list[Attachment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_body(request: Request, rules: OperationRules, *, max_bytes: int) -> ParsedBody:
    """Parse and check the body in the contract's order: media type, size, syntax, schema."""
    mimetype = request.mimetype
    if mimetype not in (JSON, MULTIPART):
        sent = request.content_type or "no Content-Type"
        raise UnsupportedMediaType(f"{sent} is not accepted: send {JSON} or {MULTIPART}")
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"the body is {request.content_length} bytes; this server accepts at most {max_bytes}")
    if request.content_length is None:
        # A chunked body: Werkzeug cuts it at the limit without a word, so read one byte more to tell.
        request.max_content_length = max_bytes + 1
        if len(request.get_data(cache=True)) > max_bytes:
            raise PayloadTooLarge(f"the body is larger than this server accepts ({max_bytes} bytes)")
    try:
        parsed = _read_json(request) if mimetype == JSON else _read_multipart(request, rules)
    except RequestEntityTooLarge:
        # The body's size is checked above, so what Werkzeug refuses here is the number of parts.
        parts = request.max_form_parts
        raise PayloadTooLarge(
            f"the multipart body has more than {parts} parts; this server accepts at most {parts}"
        ) from None
    parsed.body = rules.body.check(parsed.body)
    ignored = rules.body.unknown_fields(parsed.body)
    if ignored:
        parsed.warnings.append("ignored unknown fields: " + ", ".join(ignored))
    g.warnings = parsed.warnings
    return parsed


def _read_json(request: Request) -> ParsedBody:
    raw = request.get_data(cache=True)
    g.request_body = raw
    return ParsedBody(body=parse_json(raw, what="the body"))


def _read_multipart(request: Request, rules: OperationRules) -> ParsedBody:
    data_name, file_name = rules.multipart_data_part, rules.multipart_file_part
    form, files = request.form, request.files
    if data_name in form:
        data: str | bytes = form[data_name]
    elif data_name in files:
        data = files[data_name].read()
    else:
        raise RequiredFieldsMissing([data_name])
    attached = [
        Attachment(name=part.filename or f"{file_name}-{index}", mime_type=part.mimetype or None, content=part.read())
        for index, part in enumerate(files.getlist(file_name), start=1)
    ]
    parts = [*form.keys(), *files.keys()]
    g.request_body = {"multipart": parts, data_name: data if isinstance(data, str) else data.decode("utf-8", "replace")}
    warnings = [
        f"ignored multipart part {name!r} (this operation takes {data_name!r} and {file_name!r})"
        for name in dict.fromkeys(parts)
        if name not in (data_name, file_name)
    ]
    body = parse_json(data, what=f"the {data_name!r} part")
    if body is None:  # a required part sent as null counts as missing, like a field
        raise RequiredFieldsMissing([data_name])
    return ParsedBody(body=body, files=attached, warnings=warnings)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_json(raw: str | bytes, *, what: str) -> Any:
    """Parse strict JSON (no NaN or Infinity, no unpaired surrogates) or raise IllegalArgument."""
    if isinstance(raw, bytes):
        # json.loads would decode bytes with "surrogatepass", letting UTF-8-encoded surrogates
        # (ED A0 80) through as text that no store or answer can encode: JSON text is UTF-8.
        try:
            raw = raw.decode("utf-8-sig")  # strict; a byte order mark is dropped, as json.loads did
        except UnicodeDecodeError as exc:
            raise IllegalArgument(
                f"{what} is not valid JSON: not UTF-8 text ({exc.reason} at byte {exc.start})",
                rules=(MALFORMED_JSON_RULE,),
            ) from None
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise IllegalArgument(f"{what} is nested too deeply to be a trouble ticket", rules=(TOO_DEEP_RULE,)) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise IllegalArgument(f"{what} is not valid JSON: {exc}", rules=(MALFORMED_JSON_RULE,)) from None
    if "\\u" in raw:
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise IllegalArgument(
                f"{what} holds an unpaired UTF-16 surrogate escape: not Unicode text", rules=(MALFORMED_JSON_RULE,)
            ) from None
    return value
