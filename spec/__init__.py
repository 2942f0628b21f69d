"""The contract as data: the OpenAPI document and the lifecycle table, and their readers.

Both the mock and the contract suite read every limit, required field, enum and lifecycle
edge from here, so that `openapi.yaml` and `lifecycle.yaml` stay the single source of truth.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

SPEC_DIR = Path(__file__).resolve().parent
OPENAPI_PATH = SPEC_DIR / "openapi.yaml"
LIFECYCLE_PATH = SPEC_DIR / "lifecycle.yaml"
RULES_PATH = SPEC_DIR / "rules.yaml"
# The TU's mirror endpoint, on which the TO reports its moves: a spec of its own, derived from
# openapi.yaml (spec/mirror.py reads it), with the rules no schema keyword states.
MIRROR_PATH = SPEC_DIR / "mirror.yaml"
# What the mock's TO does on its own, and when (mockserver/scenarios.py reads it with the lifecycle).
SCENARIOS_PATH = SPEC_DIR / "scenarios.yaml"

JSON = "application/json"
MULTIPART = "multipart/form-data"


def load_openapi(path: str | Path = OPENAPI_PATH) -> dict[str, Any]:
    """Return the OpenAPI document at `path` as plain data (a fresh copy each call)."""
    return copy.deepcopy(_load_yaml(str(path)))


@functools.lru_cache(maxsize=8)
def _load_yaml(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, dict) or "paths" not in document:
        raise ValueError(f"{path}: not an OpenAPI document (no 'paths')")
    return document


def lifecycle_path_of(document: dict[str, Any], spec_path: str | Path) -> Path:
    """The lifecycle file a spec names (`info.x-lifecycle`, beside the spec), else the shipped one."""
    name = document.get("info", {}).get("x-lifecycle")
    return Path(spec_path).resolve().parent / name if name else LIFECYCLE_PATH


def rules_path_of(document: dict[str, Any], spec_path: str | Path) -> Path | None:
    """The file of the contract's own rules a spec names (`x-rules`, beside the spec), if any."""
    name = document.get("x-rules")
    return Path(spec_path).resolve().parent / name if name else None


def resolve(node: Any, document: dict[str, Any], _seen: tuple[str, ...] = ()) -> Any:
    """Return `node` with every local `$ref` replaced by a copy of its target."""
    if isinstance(node, list):
        return [resolve(item, document, _seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are supported, not {ref!r}")
        if ref in _seen:
            raise ValueError(f"recursive reference {ref!r} cannot be inlined")
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return resolve({**target, **siblings}, document, (*_seen, ref))
    return {key: resolve(value, document, _seen) for key, value in node.items()}


def operation(document: dict[str, Any], operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """Return (path, method, operation) for an operationId."""
    for path, method, op in iter_operations(document):
        if op.get("operationId") == operation_id:
            return path, method, op
    raise KeyError(f"no operation {operation_id!r} in the spec")


def iter_operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield (path, METHOD, operation) for every operation in the document."""
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method in {"get", "put", "post", "patch", "delete", "head", "options", "trace"}:
                yield path, method.upper(), op


def request_schema(document: dict[str, Any], operation_id: str, media_type: str) -> dict[str, Any]:
    """The resolved request body schema of an operation for one media type."""
    _, _, op = operation(document, operation_id)
    content = op["requestBody"]["content"]
    return resolve(content[media_type]["schema"], document)


def response_schema(document: dict[str, Any], operation_id: str, status: str) -> dict[str, Any]:
    """The resolved JSON response schema of an operation for one status code."""
    _, _, op = operation(document, operation_id)
    response = resolve(op["responses"][status], document)
    return response["content"][JSON]["schema"]


def required_in_order(schema: dict[str, Any]) -> list[str]:
    """The schema's required names in the order of its properties (the order error messages use)."""
    required = set(schema.get("required", ()))
    ordered = [name for name in schema.get("properties", {}) if name in required]
    return ordered + sorted(required.difference(ordered))


def allowed_methods(document: dict[str, Any]) -> dict[str, list[str]]:
    """Map each spec path to the methods it declares."""
    methods: dict[str, list[str]] = {}
    for path, method, _ in iter_operations(document):
        methods.setdefault(path, []).append(method)
    return methods


def example(document: dict[str, Any], operation_id: str, name: str = "seed") -> dict[str, Any]:
    """A named JSON request example of an operation (the seed page's own examples), as a copy."""
    _, _, op = operation(document, operation_id)
    return copy.deepcopy(op["requestBody"]["content"][JSON]["examples"][name]["value"])
