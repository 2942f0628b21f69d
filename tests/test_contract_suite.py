"""The contract suite has teeth: each deliberate provider bug is reported, in the layer it belongs to,
and the correct mock gets a clean verdict."""

from __future__ import annotations

import pytest
from flask import Flask

from contracts.config import LAYERS, RunConfig
from contracts.report import summary_lines
from contracts.runner import RunResult, run
from tests.faults import FAULTS, Fault, correct_mock
from tests.serving import served
from tests.support import token

pytestmark = pytest.mark.slow


def run_suite(app: Flask, **options: object) -> RunResult:
    settings: dict[str, object] = {"max_examples": 8, "seed": 20261127, "to_hook": True, "progress": False}
    settings.update(options)
    with served(app) as url:
        return run(RunConfig(base_url=url, token=token("TU-A"), token_b=token("TU-B"), **settings))  # type: ignore[arg-type]


def describe(result: RunResult) -> str:
    failed = [
        f"{rule.layer}: {rule.title}: {rule.violations[0].message[:200] if rule.violations else ''}"
        for layer in result.layers
        for rule in layer.rules
        if rule.status == "failed"
    ]
    return "\n".join([*summary_lines(result), *failed])


@pytest.mark.parametrize("seed", [1, 2])
def test_the_correct_mock_conforms(seed: int) -> None:
    result = run_suite(correct_mock(), seed=seed)
    assert result.conforms, describe(result)
    assert result.violations == 0


def test_the_faults_cover_every_layer_with_twenty_bugs_or_more() -> None:
    assert len(FAULTS) >= 20
    assert len({fault.name for fault in FAULTS}) == len(FAULTS)
    assert {fault.layer for fault in FAULTS} == set(LAYERS)


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_each_fault_is_reported_in_its_layer(fault: Fault) -> None:
    result = run_suite(fault.build())
    assert not result.conforms
    assert result.layer(fault.layer).violations > 0, f"{fault.bug}: not reported by {fault.layer}\n{describe(result)}"
