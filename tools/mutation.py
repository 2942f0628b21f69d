"""`make mutation`: how many small realistic bugs in our own code the tests catch.

mutmut 3 writes each mutant into a copy of the project (`mutants/`), learns once which tests
call each function (cached in `mutants/mutmut-stats.json`) and runs, for a mutant, only those
tests, forked from a warm process. This script picks the mutants (the modules changed since the
merge base with `main`, or `--all`), a seeded sample of each module so that a run fits a 2-core
machine, runs mutmut on them within a wall-time budget, then scores each module, package and the
whole, leaving out the mutants `tools/mutation_equivalents.yaml` shows to be equivalent.

    python -m tools.mutation                    # modules changed since the merge base with main
    python -m tools.mutation --since v1 --per-module 0   # changed since v1, every mutant
    python -m tools.mutation --all              # every module, a sample of each
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("spec", "mockserver", "contracts")
EQUIVALENTS = Path(__file__).with_name("mutation_equivalents.yaml")
MUTANTS = ROOT / "mutants"
# mutmut's exit codes: a test failed (1, 3), or the mutant hung or crashed the tests (timeouts, signals).
KILLED = {1, 3, 24, -24, 152, 255, 36, -9, -11}
SURVIVED = {0, 5}
NO_TESTS = {33}
# The help texts of our command lines (argparse's and pytest's `help=`, `description=`, `epilog=`) are
# prose for people: a test that failed on "XXserve the mockXX" would pin words, not behaviour. Their
# mutants are left out of the score and counted apart (PIT, for one, leaves string constants alone).
# Messages a user acts on (error bodies, verdicts, reports) are not prose here: tests read what they name.
PROSE_KEYWORDS = {"help", "description", "epilog"}


@dataclass
class Tally:
    total: int = 0  # mutants of the module, sampled or not
    killed: int = 0
    survived: list[str] = field(default_factory=list)
    no_tests: list[str] = field(default_factory=list)
    equivalent: int = 0
    prose: int = 0
    unchecked: int = 0

    @property
    def checked(self) -> int:
        return self.killed + len(self.survived) + len(self.no_tests)

    @property
    def score(self) -> float | None:
        return self.killed / self.checked if self.checked else None


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def changed_modules(since: str | None) -> list[str]:
    """The package modules changed since `since` (default: the merge base with main), work tree included."""
    base = since or git("merge-base", "HEAD", "main").strip()
    names = git("diff", "--name-only", base, "--", *PACKAGES).split()
    names += git("ls-files", "--others", "--exclude-standard", "--", *PACKAGES).split()
    return sorted({n for n in names if n.endswith(".py") and (ROOT / n).exists()})


def all_modules() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def generate() -> None:
    """Write every module's mutants into mutants/ (mutmut's own steps; unchanged files are kept as they are)."""
    from mutmut import __main__ as mutmut_main

    os.chdir(ROOT)
    mutmut_main.set_mutant_under_test("mutant_generation")
    MUTANTS.mkdir(exist_ok=True)
    mutmut_main.copy_src_dir()
    mutmut_main.copy_also_copy_files()
    mutmut_main.setup_source_paths()
    mutmut_main.store_lines_covered_by_tests()
    mutmut_main.create_mutants(os.cpu_count() or 2)


def meta(module: str) -> dict:
    path = MUTANTS / f"{module}.meta"
    return json.loads(path.read_text()) if path.exists() else {"exit_code_by_key": {}}


def sample(names: list[str], size: int, seed: int) -> list[str]:
    """`size` mutants of a module, the same ones on every run with this seed (0: all of them)."""
    if size <= 0 or size >= len(names):
        return sorted(names)
    return sorted(names, key=lambda n: hashlib.sha256(f"{seed}:{n}".encode()).hexdigest())[:size]


# `mutmut run`, less one step: after collecting the stats of every test (which fails unless every test
# passes), mutmut runs the same tests once more to see them pass; with the stats reused it still does.
MUTMUT = """
import os

from mutmut import __main__ as mutmut_main

collected_all = []
collect = mutmut_main.run_stats_collection


def run_stats_collection(runner, tests=None):
    collect(runner, tests)
    if not tests:
        collected_all.append(True)


make_runner = mutmut_main.get_mutant_runner


def get_mutant_runner(*args, **kwargs):
    runner = make_runner(*args, **kwargs)
    clean = runner.run_clean_tests
    skip = collected_all or os.environ.get("MUTATION_NO_CLEAN_RUN") == "1"
    runner.run_clean_tests = lambda **kwargs: 0 if skip else clean(**kwargs)
    return runner


mutmut_main.run_stats_collection = run_stats_collection
mutmut_main.get_mutant_runner = get_mutant_runner
mutmut_main.cli()
"""


def run_mutmut(names: list[str], budget_s: float, children: int, clean_run: bool = True) -> bool:
    """`mutmut run` on these mutants; at the budget it is interrupted (its results so far are kept). True if done."""
    command = [sys.executable, "-c", MUTMUT, "run", "--max-children", str(children)]
    env = {**os.environ, "MUTATION_NO_CLEAN_RUN": "0" if clean_run else "1"}
    process = subprocess.Popen([*command, *names], cwd=ROOT, start_new_session=True, env=env)
    try:
        process.wait(timeout=budget_s)
        if process.returncode != 0:
            print(f"\nmutmut stopped with exit code {process.returncode} (its output is above)", flush=True)
        return process.returncode == 0
    except subprocess.TimeoutExpired:
        print(f"\nwall-time budget of {budget_s / 60:.0f} min reached: stopping mutmut", flush=True)
        # mutmut keeps each result as it comes; it may not stop on an interrupt while mutants run.
        for stop, grace in ((signal.SIGINT, 20), (signal.SIGTERM, 20), (signal.SIGKILL, None)):
            os.killpg(process.pid, stop)
            try:
                process.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        return False


def diff_of(name: str, module: str) -> str:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    os.chdir(ROOT)
    return get_diff_for_mutant(name, path=module)


def changed_line(diff: str) -> str:
    """The mutated line, as the equivalents file names it."""
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return added[0] if added else ""


def function_of(name: str) -> str:
    return name.rsplit("__mutmut_", 1)[0]


def prose_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where a module's help texts are: (line, column) of the start and end of each `help=` value."""
    return [
        ((k.value.lineno, k.value.col_offset), (k.value.end_lineno or 0, k.value.end_col_offset or 0))
        for k in ast.walk(ast.parse(source))
        if isinstance(k, ast.keyword) and k.arg in PROSE_KEYWORDS
    ]


def _common(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def is_prose(diff: str, source: str) -> bool:
    """True when all a mutant changes lies inside one help text of the module (see PROSE_KEYWORDS)."""
    removed = [line[1:].strip() for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    if not removed or not added:
        return False
    start = _common(removed[0], added[0])
    # What the last lines share at their end is unchanged too (on one line, not overlapping the start).
    room = min(len(removed[-1]), len(added[-1])) - (start if len(removed) == len(added) == 1 else 0)
    unchanged_end = min(_common(removed[-1][::-1], added[-1][::-1]), room)
    lines = source.splitlines()
    spans = prose_spans(source)
    for number, line in enumerate(lines, 1):
        if [text.strip() for text in lines[number - 1 : number - 1 + len(removed)]] != removed:
            continue
        last = lines[number + len(removed) - 2]
        begin = (number, len(line) - len(line.lstrip()) + start)
        end = (number + len(removed) - 1, len(last.rstrip()) - unchanged_end)
        if any(low <= begin and end <= high for low, high in spans):
            return True
    return False


def load_equivalents() -> list[dict]:
    return yaml.safe_load(EQUIVALENTS.read_text()) or [] if EQUIVALENTS.exists() else []


def is_equivalent(name: str, diff: str, equivalents: list[dict]) -> dict | None:
    for entry in equivalents:
        if entry["function"] == function_of(name) and entry["mutated"] == changed_line(diff):
            return entry
    return None


def prose_mutants(chosen: dict[str, list[str]]) -> set[str]:
    """The mutants of help texts among those chosen: neither run nor scored."""
    return {
        name
        for module, names in chosen.items()
        for source in [(ROOT / module).read_text()]
        for name in names
        if is_prose(diff_of(name, module), source)
    }


def tally(
    modules: list[str], chosen: dict[str, list[str]], equivalents: list[dict], prose: set[str]
) -> dict[str, Tally]:
    result: dict[str, Tally] = {}
    for module in modules:
        codes = meta(module)["exit_code_by_key"]
        t = result[module] = Tally(total=len(codes))
        for name in chosen.get(module, []):
            code = codes.get(name)
            if name in prose:
                t.prose += 1
            elif code is None:
                t.unchecked += 1
            elif code in KILLED:
                t.killed += 1
            elif (code in SURVIVED or code in NO_TESTS) and is_equivalent(name, diff_of(name, module), equivalents):
                t.equivalent += 1
            elif code in NO_TESTS:
                t.no_tests.append(name)
            else:
                t.survived.append(name)
    return result


def weighted(tallies: list[Tally]) -> tuple[float | None, float]:
    """A score over all the mutants of these modules: each module's sampled score weighs as its mutant count.

    Returns the score and the half-width of its 95% interval (stratified sampling; 0 when nothing was sampled).
    """
    scored = [t for t in tallies if t.score is not None]
    weight = sum(t.total for t in scored)
    if not weight:
        return None, 0.0
    score = sum(t.total * t.score for t in scored) / weight  # type: ignore[operator]
    variance = sum(
        (t.total / weight) ** 2 * t.score * (1 - t.score) / t.checked * (1 - t.checked / t.total)  # type: ignore[operator]
        for t in scored
        if t.total > 1
    )
    return score, 1.96 * math.sqrt(variance)


def percent(score: float | None) -> str:
    return "   -  " if score is None else f"{100 * score:5.1f}%"


def report(tallies: dict[str, Tally], equivalents: list[dict], show_diffs: bool) -> float | None:
    print(
        f"\n{'module':<34} {'mutants':>7} {'sampled':>7} {'killed':>6} {'surv.':>5} {'no test':>7} {'equiv.':>6}  score"
    )
    for module, t in tallies.items():
        sampled = t.checked + t.equivalent + t.prose + t.unchecked
        print(
            f"{module:<34} {t.total:>7} {sampled:>7} {t.killed:>6} {len(t.survived):>5} {len(t.no_tests):>7}"
            f" {t.equivalent:>6}  {percent(t.score)}"
        )
    print()
    for package in PACKAGES:
        group = [t for m, t in tallies.items() if m.split("/")[0] == package]
        if group:
            score, half = weighted(group)
            print(f"{package:<12} {percent(score)} killed (±{100 * half:.1f}), {sum(t.checked for t in group)} checked")
    overall, half = weighted(list(tallies.values()))
    checked = sum(t.checked for t in tallies.values())
    unchecked = sum(t.unchecked for t in tallies.values())
    print(f"{'overall':<12} {percent(overall)} killed (±{100 * half:.1f}), {checked} mutants checked", end="")
    print(f", {unchecked} not reached within the budget" if unchecked else "")
    equivalent = sum(t.equivalent for t in tallies.values())
    print(
        f"equivalent mutants left out: {equivalent} of those sampled ({len(equivalents)} listed in {EQUIVALENTS.name})"
    )
    print(f"help texts left out: {sum(t.prose for t in tallies.values())} of those sampled (see PROSE_KEYWORDS)")

    survivors = [(m, n, "survived") for m, t in tallies.items() for n in t.survived]
    survivors += [(m, n, "no test reaches it") for m, t in tallies.items() for n in t.no_tests]
    if survivors:
        print(f"\nsurvivors ({len(survivors)}; `.venv/bin/mutmut show NAME` shows one):")
        for module, name, why in survivors:
            diff = diff_of(name, module)
            print(f"  {name}  [{why}]  {changed_line(diff)[:100]}")
            if show_diffs:
                print("\n".join("      " + line for line in diff.splitlines()[2:]))
    return overall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every module of spec/, mockserver/ and contracts/")
    which.add_argument(
        "--since", metavar="REF", help="modules changed since this git ref (default: merge base with main)"
    )
    which.add_argument("--module", action="append", default=[], help="this module (a path; repeatable)")
    parser.add_argument(
        "--per-module",
        type=int,
        default=None,
        help="mutants sampled per module, 0 for all (default: 0 for changed modules, 12 with --all)",
    )
    parser.add_argument("--seed", type=int, default=14, help="which mutants the sample takes (default 14)")
    parser.add_argument("--budget", type=float, default=45, help="wall-time minutes for running mutants (default 45)")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2, help="mutants run at once")
    parser.add_argument("--report-only", action="store_true", help="score the last run's results, run nothing")
    parser.add_argument(
        "--rerun",
        action="store_true",
        help="run the killed mutants again too (by default a mutant killed stays killed until its function changes)",
    )
    parser.add_argument("--diffs", action="store_true", help="show each survivor's diff")
    parser.add_argument(
        "--no-clean-run",
        action="store_true",
        help="skip mutmut's run of the tests on the unchanged code when it reuses their stats (a quarter "
        "of an hour here): only when those tests were just seen to pass (make test)",
    )
    parser.add_argument(
        "--min-score", type=float, default=None, help="exit 1 when the overall score is below (e.g. 90)"
    )
    args = parser.parse_args(argv)

    modules = args.module or (all_modules() if args.all else changed_modules(args.since))
    if not modules:
        print(
            "no module of spec/, mockserver/ or contracts/ changed since the merge base with main: nothing to do "
            "(--all for every module, --since REF for another base)"
        )
        return 0
    per_module = args.per_module if args.per_module is not None else (12 if args.all else 0)

    started = time.monotonic()
    if not args.report_only:
        print(
            f"generating mutants (every module; unchanged ones are reused) for {len(modules)} module(s)...", flush=True
        )
        generate()
    chosen = {m: sample(list(meta(m)["exit_code_by_key"]), per_module, args.seed) for m in modules}
    prose = prose_mutants(chosen)
    names = [
        n
        for m in modules
        for n in chosen[m]
        if n not in prose and (args.rerun or meta(m)["exit_code_by_key"].get(n) not in KILLED)
    ]
    if not args.report_only and names:
        print(
            f"running {len(names)} mutants ({'all' if not per_module else f'up to {per_module}'} per module"
            f"{'' if args.rerun else ', those killed before left as they are'})",
            flush=True,
        )
        run_mutmut(names, args.budget * 60, args.children, clean_run=not args.no_clean_run)
    equivalents = load_equivalents()
    overall = report(tally(modules, chosen, equivalents, prose), equivalents, args.diffs)
    print(f"\nwall time: {(time.monotonic() - started) / 60:.1f} min")
    if args.min_score is not None and (overall is None or 100 * overall < args.min_score):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
