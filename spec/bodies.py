"""The contract's rules on request bodies that JSON Schema alone does not say.

A required field sent as `null` counts as missing, and missing fields are named with their
path (`attachments[1].name`) in the order of the schema's properties. The mock answers with
these names; the contract suite checks that a provider does.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import spec

_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def decode_base64(text: str) -> bytes | None:
    """Standard base64 with optional padding (CONTRACT.md); None when no encoder could have made it."""
    if not _BASE64_TEXT.fullmatch(text):
        return None
    unpadded = text.rstrip("=")
    padding = len(text) - len(unpadded)
    if len(unpadded) % 4 == 1 or (padding and padding != -len(unpadded) % 4):
        return None
    try:
        return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
    except binascii.Error:
        return None


def is_base64(text: str) -> bool:
    return decode_base64(text) is not None


def field_path(parts: list[str | int]) -> str:
    """`attachments[0].content` from ['attachments', 0, 'content']."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True)
class BodyShape:
    """What the required and unknown-field walks need of a body schema, computed once."""

    required: tuple[str, ...]  # in the order of the properties
    known: frozenset[str] | None  # declared property names; None when not an object schema
    children: tuple[tuple[str, BodyShape], ...]  # properties that hold objects or arrays
    items: BodyShape | None  # the shape of an array's items

    @classmethod
    def of(cls, schema: dict[str, Any]) -> BodyShape | None:
        """The shape of a schema, or None when it has no inner structure (a scalar)."""
        properties = schema.get("properties")
        items = schema.get("items")
        if properties is None and not isinstance(items, dict):
            return None
        children = tuple(
            (name, shape) for name, sub in (properties or {}).items() if (shape := cls.of(sub)) is not None
        )
        return cls(
            required=tuple(spec.required_in_order(schema)),
            known=frozenset(properties) if properties is not None else None,
            children=children,
            items=cls.of(items) if isinstance(items, dict) else None,
        )

    def missing(self, value: Any, path: list[str | int]) -> list[str]:
        """Names of required fields absent or null, depth first, each object's in schema order."""
        found: list[str] = []
        if isinstance(value, dict) and self.known is not None:
            found = [field_path([*path, name]) for name in self.required if value.get(name) is None]
            for name, child in self.children:
                if value.get(name) is not None:
                    found += child.missing(value[name], [*path, name])
        elif isinstance(value, list) and self.items is not None:
            for index, item in enumerate(value):
                found += self.items.missing(item, [*path, index])
        return found

    def unknown(self, value: Any, path: list[str | int]) -> list[str]:
        """Names present in `value` that the schema does not declare."""
        found: list[str] = []
        if isinstance(value, dict) and self.known is not None:
            found = [field_path([*path, name]) for name in value if name not in self.known]
            for name, child in self.children:
                if name in value:
                    found += child.unknown(value[name], [*path, name])
        elif isinstance(value, list) and self.items is not None:
            for index, item in enumerate(value):
                found += self.items.unknown(item, [*path, index])
        return found
