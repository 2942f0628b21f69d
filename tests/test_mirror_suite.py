"""The mirror suite's verdicts can be trusted, both ways (`tt-contracts run --mirror`).

- The reference TU mirror conforms, strictly, with two seeds, and every rule of the mirror's
  catalogue is checked by some rule of the suite or explained as not checkable from outside.
- Each deliberate mirror bug (tests/mirror_faults.py) fails the run (exit 1) in its layer, naming
  the rule it breaks; every layer has one.
- Without the TU hook the rules that need a mirror ticket are skipped, saying how to lift it.
- The command line gives the same exit codes as for a provider.

About 30 s in all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contracts.cli import main as tt_contracts
from contracts.config import MIRROR_LAYERS, RunConfig
from contracts.coverage import Coverage, summarize
from contracts.report import summary_lines, verdict
from contracts.results import RunResult, Status
from contracts.runner import run
from spec.catalogue import Catalogue
from spec.mirror import MirrorContract
from tests.mirror_faults import MIRROR_FAULTS, MirrorFault, correct_mirror
from tests.serving import served
from tests.support import SECRET, token

pytestmark = pytest.mark.slow
CATALOGUE = Catalogue.build(MirrorContract.load())


def run_mirror(app: object, **options: Any) -> RunResult:
    settings: dict[str, Any] = {
        "max_examples": 8,
        "seed": 20261129,
        "mirror": True,
        "tu_hook": True,
        "progress": False,
        "jwt_secret": SECRET,
        "layers": MIRROR_LAYERS,
    }
    settings.update(options)
    with served(app) as url:
        return run(RunConfig(base_url=url, token=token("TO"), **settings))


def describe(result: RunResult) -> str:
    broken = [
        f"{rule.layer}: {rule.title}: {v.breaks} ({v.source}, {'fails' if v.binding else 'warns'}): {v.message[:200]}"
        for rule in result.rules
        for v in rule.violations
    ]
    return "\n".join([*summary_lines(result), *broken])


@pytest.fixture(scope="module", params=[1, 2], ids=["seed-1", "seed-2"])
def correct_run(request: pytest.FixtureRequest) -> RunResult:
    return run_mirror(correct_mirror(), seed=request.param, strict=True)


@pytest.mark.mutation
def test_the_reference_mirror_conforms_strictly(correct_run: RunResult) -> None:
    assert correct_run.exit_code == 0, describe(correct_run)
    assert correct_run.failures == 0 and correct_run.warnings == 0
    assert {layer.name for layer in correct_run.layers} == {"provider", *MIRROR_LAYERS}


def test_every_rule_of_the_mirror_is_checked_or_explained(correct_run: RunResult) -> None:
    coverage = summarize(correct_run)
    unchecked = [
        f"{e.rule.id} ({e.status.value}: {'; '.join(e.reasons)})"
        for e in coverage.rules
        if not e.status.checked and e.status is not Coverage.NOT_CHECKABLE
    ]
    assert not unchecked, "mirror rules no check of the suite covers:\n" + "\n".join(unchecked)
    assert all(e.rule.why_not for e in coverage.rules if e.status is Coverage.NOT_CHECKABLE)
    assert {e.rule.id for e in coverage.rules} == {rule.id for rule in CATALOGUE}


@pytest.mark.mutation
@pytest.mark.parametrize("fault", MIRROR_FAULTS, ids=[fault.name for fault in MIRROR_FAULTS])
def test_each_mirror_fault_fails_the_run_in_its_layer_naming_the_rule(fault: MirrorFault) -> None:
    result = run_mirror(fault.build(), layers=(fault.layer,), **fault.options)
    assert result.exit_code == 1, f"{fault.bug}: the run did not fail\n{describe(result)}"
    named = {v.breaks for rule in result.layer(fault.layer).rules for v in rule.violations if v.binding}
    assert fault.breaks in named, f"{fault.bug}: {fault.layer} did not report {fault.breaks}\n{describe(result)}"


def test_the_faults_cover_every_layer_and_name_rules_of_the_mirror() -> None:
    assert len({fault.name for fault in MIRROR_FAULTS}) == len(MIRROR_FAULTS)
    assert {fault.layer for fault in MIRROR_FAULTS} == set(MIRROR_LAYERS)
    assert all(fault.breaks in CATALOGUE for fault in MIRROR_FAULTS)


def test_without_the_tu_hook_the_rules_needing_a_ticket_are_skipped_saying_how_to_lift_it() -> None:
    result = run_mirror(correct_mirror(), tu_hook=False, layers=("lifecycle", "auth", "protocol"))
    assert result.exit_code == 0, describe(result)
    skipped = [rule for rule in result.rules if rule.status is Status.SKIPPED]
    assert skipped and {rule.skip_remedy for rule in skipped} == {"add --tu-hook"}
    assert all(
        rule.status is not Status.SKIPPED for rule in result.layer("auth").rules if rule.covers[0] != "auth.expired"
    )
    assert "add --tu-hook" in verdict(result)


def test_the_command_line_exits_0_on_the_reference_and_1_on_a_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TT_TOKEN", token("TO"))
    monkeypatch.setenv("TT_JWT_SECRET", SECRET)
    for app, expected in ((correct_mirror(), 0), (MIRROR_FAULTS[0].build(), 1)):
        report = tmp_path / f"mirror-{expected}.md"
        with served(app) as url:
            code = tt_contracts(
                ["run", "--mirror", "--tu-hook", "--base-url", url, "--quiet", "--layer", "lifecycle",
                 "--max-examples", "5", "--report", str(report), "--junit-xml", str(tmp_path / "m.xml"),
                 "--html", str(tmp_path / "m.html")]
            )  # fmt: skip
        assert code == expected
        text = report.read_text()
        assert ("CONFORMS" in text) == (expected == 0) and "--mirror" in text
        page = (tmp_path / "m.html").read_text()
        assert 'data-side="TO"' in page and 'g.edge[data-side="TU"]' not in page  # the TU's edges are not its rules
