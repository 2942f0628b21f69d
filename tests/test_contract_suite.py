"""The contract suite's verdicts can be trusted, both ways.

- The correct mock conforms, strictly (even the mock's own choices hold), and every contract
  rule is covered by a check of the suite or explained as not checkable from outside.
- Each correct provider that chose differently where the page is silent (`tests/variants.py`)
  conforms on the default run: a red verdict is never a provider's legitimate choice.
- Each deliberate bug (`tests/faults.py`) fails the run, reported in its layer as a breach of
  the contract rule it is about; and every class of the page's and the standards' rules has a
  fault that proves the suite can fail it.
"""

from __future__ import annotations

import re

import pytest

from contracts.config import LAYERS, RunConfig
from contracts.coverage import Coverage, summarize
from contracts.report import summary_lines, verdict
from contracts.results import RunResult, Status
from contracts.runner import run
from spec.catalogue import Catalogue
from spec.contract import Contract
from tests.faults import FAULTS, Fault, correct_mock
from tests.serving import served
from tests.support import SECRET, token
from tests.variants import VARIANTS, Variant

pytestmark = pytest.mark.slow
CATALOGUE = Catalogue.build(Contract.load())


def run_suite(app: object, **options: object) -> RunResult:
    """A run as a CI job with every means would make it: the TO hook, a second tenant, a test secret."""
    settings: dict[str, object] = {
        "max_examples": 8,
        "seed": 20261127,
        "to_hook": True,
        "progress": False,
        "jwt_secret": SECRET,
    }
    settings.update(options)
    with served(app) as url:
        return run(RunConfig(base_url=url, token=token("TU-A"), token_b=token("TU-B"), **settings))  # type: ignore[arg-type]


def describe(result: RunResult) -> str:
    broken = [
        f"{rule.layer}: {rule.title}: {v.breaks} ({v.source}, {'fails' if v.binding else 'warns'}): {v.message[:200]}"
        for rule in result.rules
        for v in rule.violations
    ]
    return "\n".join([*summary_lines(result), *broken])


# The tests of the correct mock share its two runs: kept on one worker when the tests run in parallel.
correct_mock_group = pytest.mark.xdist_group("correct-mock")


@pytest.fixture(scope="module", params=[1, 2], ids=["seed-1", "seed-2"])
def correct_run(request: pytest.FixtureRequest) -> RunResult:
    return run_suite(correct_mock(), seed=request.param, strict=True)


@pytest.mark.mutation
@correct_mock_group
def test_the_correct_mock_conforms_strictly(correct_run: RunResult) -> None:
    assert correct_run.exit_code == 0, describe(correct_run)
    assert correct_run.failures == 0 and correct_run.warnings == 0


@correct_mock_group
def test_every_contract_rule_is_checked_or_explained(correct_run: RunResult) -> None:
    """With every means given, each rule of the catalogue is checked; the rest say why they cannot be."""
    coverage = summarize(correct_run)
    unchecked = [
        f"{e.rule.id} ({e.status.value}: {'; '.join(e.reasons)})"
        for e in coverage.rules
        if not e.status.checked and e.status is not Coverage.NOT_CHECKABLE
    ]
    assert not unchecked, "contract rules no check of the suite covers:\n" + "\n".join(unchecked)
    assert all(e.rule.why_not for e in coverage.rules if e.status is Coverage.NOT_CHECKABLE)
    assert coverage.percent == 100.0


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("variant", VARIANTS, ids=[variant.name for variant in VARIANTS])
def test_each_correct_variant_conforms(variant: Variant, seed: int) -> None:
    result = run_suite(variant.build(), seed=seed)
    assert result.exit_code == 0, f"{variant.name}: {variant.choice}\n{describe(result)}"


def test_the_variants_are_a_dozen_or_more_each_with_its_reason() -> None:
    assert len(VARIANTS) >= 12 and len({v.name for v in VARIANTS}) == len(VARIANTS)
    assert all(v.choice and v.why for v in VARIANTS)


@pytest.mark.mutation
@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_each_fault_fails_the_run_in_its_layer_naming_the_rule(fault: Fault) -> None:
    result = run_suite(fault.build(), layers=(fault.layer,), **fault.options)
    assert result.exit_code == 1, f"{fault.bug}: the run did not fail\n{describe(result)}"
    layer = result.layer(fault.layer)
    named = {v.breaks for rule in layer.rules for v in rule.violations if v.binding}
    assert fault.breaks in named, f"{fault.bug}: {fault.layer} did not report {fault.breaks}\n{describe(result)}"


def rule_class(rule_id: str) -> str:
    """A rule's kind: each field limit of one keyword, each answer part, or the rule itself."""
    parts = rule_id.split(".")
    if parts[0] in ("create", "read", "update"):
        if parts[1] == "multipart":
            return "multipart"
        if parts[1].isdigit():
            part = parts[2] if len(parts) > 2 else "status"
            return f"answer {part if part in ('status', 'body', 'required') else 'field'}"
        return f"request {parts[-1]}"
    return re.sub(r"\..*", ".*", rule_id) if parts[0] == "lifecycle" else rule_id


def test_faults_cover_every_layer_and_every_class_of_binding_rules_from_the_page_and_the_standards() -> None:
    assert len({fault.name for fault in FAULTS}) == len(FAULTS)
    assert {fault.layer for fault in FAULTS} == set(LAYERS)
    assert all(fault.breaks in CATALOGUE for fault in FAULTS)
    classes = {
        rule_class(rule.id) for rule in CATALOGUE if rule.source.value in ("page", "standard") and rule.checkable
    }
    proven = {rule_class(fault.breaks) for fault in FAULTS} | {rule_class("http.server-survives")}  # test_providers
    assert classes <= proven, f"classes of page and standard rules no fault proves: {sorted(classes - proven)}"


def test_a_skipped_rule_is_never_a_pass() -> None:
    """Without the hook or a second tenant, their rules are skipped with how to lift it, and say so in the verdict."""
    with served(correct_mock()) as url:
        result = run(
            RunConfig(base_url=url, token=token("TU-A"), layers=("lifecycle", "auth"), max_examples=5, progress=False)
        )
    skipped = [rule for rule in result.rules if rule.status is Status.SKIPPED]
    assert skipped and all(rule.skip_remedy for rule in skipped)
    assert result.exit_code == 0
    assert "add --to-hook" in verdict(result)
