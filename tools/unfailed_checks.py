"""Which checks of the contract suite no fault of `tests/faults.py` ever fails.

A check no fault can fail is a check we cannot trust: it may have stopped checking anything.
This runs every fault against its layer (as `tests/test_contract_suite.py` does), records where
in `contracts/` each violation was found, and lists the checks (each `expect`, `expect_status`,
`expect_rejected`, `violate`, and each `raise` of a breach) that none of them reached. About as
long as the fault tests (a few minutes); `--layer NAME` for one layer. `--mirror` does the same
for the mirror suite (`contracts/mirror/`) and the faults of `tests/mirror_faults.py`.

    .venv/bin/python -m tools.unfailed_checks
    .venv/bin/python -m tools.unfailed_checks --mirror
"""

from __future__ import annotations

import argparse
import ast
import sys
import traceback
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "contracts"
CALLS = {"expect", "expect_status", "expect_rejected", "violate", "error_message"}
SKIP_FILES = {"results.py"}  # where the checks are defined, not made


def check_sites(files: list[Path]) -> dict[tuple[str, int], str]:
    """Every place in these files that can record a violation, with its source line."""
    sites: dict[tuple[str, int], str] = {}
    for path in files:
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            is_call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CALLS
            if is_call or (isinstance(node, ast.Raise) and node.exc is not None):
                sites[(str(path.relative_to(ROOT)), node.lineno)] = lines[node.lineno - 1].strip()
    return sites


def record_sites(hits: dict[tuple[str, int], set[str]], fault: str) -> None:
    """Mark the `contracts/` frames on the stack (and on the exception being handled) as failed by `fault`."""
    frames = traceback.extract_stack()[:-2]
    handled = sys.exc_info()[2]
    if handled is not None:
        frames += traceback.extract_tb(handled)
    for frame in frames:
        path = Path(frame.filename).resolve()
        if path.is_relative_to(CHECKS) and path.name not in SKIP_FILES:
            hits[(str(path.relative_to(ROOT)), frame.lineno or 0)].add(fault)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.unfailed_checks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--layer", action="append", default=[], help="only the faults of this layer (repeatable)")
    parser.add_argument("--mirror", action="store_true", help="the mirror suite and tests/mirror_faults.py")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from contracts.results import Rule

    if args.mirror:
        from tests.mirror_faults import MIRROR_FAULTS as FAULTS
        from tests.test_mirror_suite import run_mirror as run_suite
    else:
        from tests.faults import FAULTS  # type: ignore[assignment]
        from tests.test_contract_suite import run_suite  # type: ignore[assignment]

    hits: dict[tuple[str, int], set[str]] = defaultdict(set)
    current = {"fault": ""}
    violate = Rule.violate

    def recording(self: Rule, *a: object, **k: object) -> None:
        record_sites(hits, current["fault"])
        violate(self, *a, **k)  # type: ignore[arg-type]

    Rule.violate = recording  # type: ignore[method-assign]
    faults = [f for f in FAULTS if not args.layer or f.layer in args.layer]
    layers = sorted({f.layer for f in faults})
    for n, fault in enumerate(faults, 1):
        current["fault"] = fault.name
        print(f"[{n}/{len(faults)}] {fault.layer}: {fault.name}", file=sys.stderr, flush=True)
        run_suite(fault.build(), layers=(fault.layer,), **getattr(fault, "options", {}))

    if args.mirror:
        files = [CHECKS / "mirror" / "layers.py"]
    else:
        files = [CHECKS / "checks.py", CHECKS / "verdicts.py"] if "schema" in layers else []
        files += [CHECKS / "layers" / f"{layer}.py" for layer in layers]
    unfailed = {site: line for site, line in check_sites(files).items() if site not in hits}
    print(f"{len(unfailed)} checks of {', '.join(layers)} that no fault fails:")
    for (path, line), text in sorted(unfailed.items()):
        print(f"  {path}:{line}: {text[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
