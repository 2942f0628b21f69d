"""The lifecycle picture: drawn from the table, and the committed copy in the README is current."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from spec import LIFECYCLE_PATH
from spec import lifecycle as lifecycle_module
from spec.diagram import lifecycle_svg, main

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "docs" / "img" / "lifecycle.svg"
SVG = "{http://www.w3.org/2000/svg}"


def _groups(svg: str, css_class: str) -> list[ET.Element]:
    return [g for g in ET.fromstring(svg).iter(f"{SVG}g") if css_class in g.get("class", "").split()]


def test_the_committed_picture_is_what_the_table_draws() -> None:
    drawn = lifecycle_svg(lifecycle_module.load())
    assert COMMITTED.read_text(encoding="utf-8") == drawn, (
        f"{COMMITTED.relative_to(ROOT)} is not what spec/lifecycle.yaml draws: run `make lifecycle-svg` and commit it"
    )


def test_every_state_and_every_edge_of_each_side_is_drawn_once() -> None:
    lifecycle = lifecycle_module.load()
    svg = lifecycle_svg(lifecycle)
    states = [g.get("data-state") for g in _groups(svg, "state")]
    assert sorted(states) == sorted(lifecycle.states)
    # Each edge is a curve and a label, both carrying the same data attributes.
    curves = [
        (g.get("data-from"), g.get("data-to"), g.get("data-side"))
        for g in _groups(svg, "edge")
        if g.find(f"{SVG}path") is not None
    ]
    assert sorted(curves) == sorted((t.source, t.target, t.side) for t in lifecycle.transitions)
    terminal = {g.get("data-state") for g in _groups(svg, "terminal")}
    assert terminal == set(lifecycle.terminal)


def test_the_drawing_follows_an_edited_table(tmp_path: Path) -> None:
    edited = tmp_path / "lifecycle.yaml"
    text = LIFECYCLE_PATH.read_text(encoding="utf-8")
    edited.write_text(
        text + "  - {from: DEFERRED.AWAITING-INFORMATION, to: CLEARED, side: TO, meaning: resolved while waiting}\n",
        encoding="utf-8",
    )
    svg = lifecycle_svg(lifecycle_module.load(edited))
    assert svg != lifecycle_svg(lifecycle_module.load())
    wanted = ("DEFERRED.AWAITING-INFORMATION", "CLEARED", "TO")
    added = [g for g in _groups(svg, "edge") if (g.get("data-from"), g.get("data-to"), g.get("data-side")) == wanted]
    assert len(added) == 2  # its curve and its label
    assert "resolved while waiting" in added[0].findtext(f"{SVG}title", "")


def test_drawing_twice_gives_the_same_bytes() -> None:
    assert lifecycle_svg(lifecycle_module.load()) == lifecycle_svg(lifecycle_module.load())


def test_the_command_writes_the_file_and_names_a_bad_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "site" / "img" / "lifecycle.svg"  # folders made as needed
    assert main(["--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == lifecycle_svg(lifecycle_module.load())
    bad = tmp_path / "bad.yaml"
    bad.write_text("initial: NOWHERE\nstates: {A: {}}\ntransitions: []\n", encoding="utf-8")
    assert main(["--lifecycle", str(bad)]) == 2
    assert "NOWHERE" in capsys.readouterr().err
