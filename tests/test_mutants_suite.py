"""The suite's own checks at their edges, where mutation testing (make mutation) found no test holding them.

The faults (`tests/faults.py`) prove each check can fail a run; these hold what the faults of
this spec cannot reach: a 400 judged by the error-body check even where no schema describes it
(an adapted spec), and the reading of an error body that every check and the mock share.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from contracts import checks
from spec.contract import Contract

CONTRACT = Contract.load()
ERRORS = CONTRACT.errors
KEY = ERRORS.illegal_argument

GOOD = [{key: "a message"} for key in ERRORS.all]
BAD = [
    {KEY: "a message", "code": 400},  # a second key
    {KEY: "a message", ERRORS.remote: "another"},  # two exception keys
    {KEY: 400},  # not text
    {"error": "a message"},  # not one of the contract's keys
    {},
    ["a message"],
    "a message",
    None,
]


@pytest.mark.parametrize("answer", GOOD, ids=ERRORS.all)
def test_an_error_body_with_one_exception_key_gives_its_message(answer: dict[str, str]) -> None:
    assert ERRORS.message(answer) == "a message"


@pytest.mark.parametrize("answer", BAD, ids=lambda a: json.dumps(a))
def test_anything_else_is_not_an_error_body(answer: Any) -> None:
    assert ERRORS.message(answer) is None


@pytest.fixture
def contract_in_use() -> Any:
    checks.use_contract(CONTRACT)
    yield
    checks.use_contract(None)


def response(status: int, answer: Any) -> Any:
    """What the check reads of a Schemathesis response."""
    return SimpleNamespace(status_code=status, content=json.dumps(answer).encode())


@pytest.mark.parametrize("status", [400, 401, 404, 405, 413, 415, 499])
@pytest.mark.parametrize("answer", BAD, ids=lambda a: json.dumps(a))
def test_the_error_body_check_fails_every_4xx_that_is_not_an_error_body(
    contract_in_use: None, status: int, answer: Any
) -> None:
    """A 400 included: on a spec whose 400s have no schema, Schemathesis' own checks would say nothing."""
    with pytest.raises(AssertionError, match=f"A {status} body must be a JSON object with exactly one of"):
        checks.error_body_has_one_exception_key(None, response(status, answer), None)


@pytest.mark.parametrize(
    ("status", "answer"), [(400, GOOD[0]), (404, GOOD[-1]), (200, BAD[0]), (399, BAD[0]), (500, BAD[0])]
)
def test_the_error_body_check_passes_error_bodies_and_judges_only_4xx(
    contract_in_use: None, status: int, answer: Any
) -> None:
    assert checks.error_body_has_one_exception_key(None, response(status, answer), None) is None
