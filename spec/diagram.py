"""The lifecycle as a picture: an SVG drawn from `lifecycle.yaml`, in pure Python.

The same drawing serves the README (`make lifecycle-svg`) and the mock's console, which
highlights a ticket's state and the edges open to it by toggling classes. Every state is a
`<g class="state" data-state=...>`, every edge a `<g class="edge side-TU|side-TO" data-from=...
data-to=... data-side=...>`, so a page can colour them without knowing the layout.

A page that explains the sides itself may crop the legend off: it starts at the root's
`data-legend-top`.

The output is deterministic (same file in, same bytes out): a test compares the committed
picture with a fresh drawing, so it cannot drift from the table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from spec import LIFECYCLE_PATH
from spec import lifecycle as lifecycle_module
from spec.lifecycle import Lifecycle, Transition

SIDE_COLOURS = {"TU": "#0969da", "TO": "#bc4c00"}
SIDE_NAMES = {
    "TU": "TU edge: the Territory User asks for it (PATCH)",
    "TO": "TO edge: the provider moves it (the mock: /_mock transition hook)",
}

FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace"
FONT_SIZE = 13
CHAR_WIDTH = 7.9  # a monospace character at FONT_SIZE: box widths need no font metrics
BOX_HEIGHT = 46
COLUMN_GAP = 150  # room between columns for the curves and their labels
ROW_PITCH = 100
MARGIN = 24
ENTRY = 44  # room left of the first column for the initial state's entry arrow


@dataclass(frozen=True)
class _Box:
    x: float  # centre
    y: float
    width: float
    column: int

    @property
    def left(self) -> float:
        return self.x - self.width / 2

    @property
    def right(self) -> float:
        return self.x + self.width / 2


def _n(value: float) -> str:
    """A coordinate as short, stable text."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _columns(lifecycle: Lifecycle) -> list[list[str]]:
    """States grouped by their distance from the initial state (unreachable ones last)."""
    depth = {lifecycle.initial: 0}
    frontier = [lifecycle.initial]
    while frontier:
        state = frontier.pop(0)
        for edge in lifecycle.transitions:
            if edge.source == state and edge.target not in depth:
                depth[edge.target] = depth[state] + 1
                frontier.append(edge.target)
    last = max(depth.values()) + 1
    for state in lifecycle.states:
        depth.setdefault(state, last)
    return [[s for s in lifecycle.states if depth[s] == d] for d in sorted(set(depth.values()))]


def _rows(lifecycle: Lifecycle, columns: list[list[str]]) -> dict[str, float]:
    """A row for each state: each column ordered and placed near the states that lead into it."""
    height = max(len(column) for column in columns)
    row: dict[str, float] = {}
    for index, column in enumerate(columns):
        if index == 0:
            top = (height - len(column)) / 2
            row.update({state: top + i for i, state in enumerate(column)})
            continue

        def wanted(state: str, position: int) -> float:
            sources = [row[t.source] for t in lifecycle.transitions if t.target == state and t.source in row]
            return sum(sources) / len(sources) if sources else float(position)

        ordered = sorted(enumerate(column), key=lambda item: (wanted(item[1], item[0]), item[0]))
        placed: list[float] = []
        for position, state in ordered:
            placed.append(max(wanted(state, position), placed[-1] + 1 if placed else 0.0))
        overflow = placed[-1] - (height - 1)
        if overflow > 0:
            placed = [p - overflow for p in placed]
            for i in range(len(placed) - 2, -1, -1):
                placed[i] = min(placed[i], placed[i + 1] - 1)
        row.update({state: placed[i] for i, (_, state) in enumerate(ordered)})
    return row


def _ports(lifecycle: Lifecycle, boxes: dict[str, _Box]) -> dict[tuple[Transition, str], tuple[float, float]]:
    """Where each edge leaves its source and enters its target.

    An edge leaves the side of its box that faces the other box (the right side within a
    column). The ends on one side are spread evenly along it, ordered by where their other
    end lies, so that edges fanning out of a state do not cross near it, and an edge and its
    reverse run side by side.
    """
    ends: dict[tuple[str, str], list[tuple[tuple[float, int, int], Transition, str]]] = {}
    for index, edge in enumerate(lifecycle.transitions):
        source, target = boxes[edge.source], boxes[edge.target]
        for role, box, other in (("source", source, target), ("target", target, source)):
            side = "left" if other.column < box.column else "right"
            # Forward edges above their reverse, so that a pair does not cross itself.
            backwards = int(source.column > target.column or (source.column == target.column and source.y > target.y))
            ends.setdefault((edge.source if role == "source" else edge.target, side), []).append(
                ((other.y, backwards, index), edge, role)
            )
    ports: dict[tuple[Transition, str], tuple[float, float]] = {}
    for (state, side), attached in ends.items():
        box = boxes[state]
        attached.sort(key=lambda item: item[0])
        spacing = BOX_HEIGHT / (len(attached) + 1)
        x = box.left if side == "left" else box.right
        for i, (_, edge, role) in enumerate(attached):
            ports[(edge, role)] = (x, box.y - BOX_HEIGHT / 2 + spacing * (i + 1))
    return ports


_STYLE = """
.lifecycle text { font-family: %(font)s; font-size: %(size)spx; fill: #1f2328; }
.lifecycle .state rect { fill: #f6f8fa; stroke: #57606a; stroke-width: 1.2; }
.lifecycle .state.terminal rect.outer { fill: #eaeef2; }
.lifecycle .state.terminal rect.inner { fill: none; }
.lifecycle .edge path { fill: none; stroke-width: 1.6; }
.lifecycle .edge text { font-size: 11px; font-weight: bold; fill: #ffffff; }
.lifecycle .side-TU path { stroke: %(tu)s; }
.lifecycle .side-TO path { stroke: %(to)s; }
.lifecycle .side-TU rect { fill: %(tu)s; }
.lifecycle .side-TO rect { fill: %(to)s; }
.lifecycle .note { font-size: 11.5px; fill: #57606a; }
.lifecycle.has-current .state, .lifecycle.has-current .edge { opacity: 0.35; }
.lifecycle.has-current .state.current, .lifecycle.has-current .state.reachable,
.lifecycle.has-current .edge.available { opacity: 1; }
.lifecycle .state.current rect.outer { fill: #fff8c5; stroke: #9a6700; stroke-width: 3; }
.lifecycle .edge.available path { stroke-width: 3; }
"""


def lifecycle_svg(lifecycle: Lifecycle) -> str:
    """The lifecycle drawn as a standalone SVG document."""
    columns = _columns(lifecycle)
    rows = _rows(lifecycle, columns)
    width = max(len(s) + (1 if s in lifecycle.requires_on_entry else 0) for s in lifecycle.states) * CHAR_WIDTH + 28
    column_of = {state: c for c, column in enumerate(columns) for state in column}
    boxes = {
        state: _Box(
            x=MARGIN + ENTRY + width / 2 + column_of[state] * (width + COLUMN_GAP),
            y=MARGIN + 20 + BOX_HEIGHT / 2 + rows[state] * ROW_PITCH,
            width=width,
            column=column_of[state],
        )
        for state in lifecycle.states
    }
    diagram_width = MARGIN * 2 + ENTRY + len(columns) * width + (len(columns) - 1) * COLUMN_GAP
    diagram_bottom = max(box.y for box in boxes.values()) + BOX_HEIGHT / 2 + 28

    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="lifecycle" role="img" '
        f'aria-labelledby="lifecycle-title" viewBox="0 0 {_n(diagram_width)} %(height)s" '
        f'width="{_n(diagram_width)}" height="%(height)s" data-legend-top="{_n(diagram_bottom - 20)}">',
        '<title id="lifecycle-title">Trouble ticket lifecycle: states, and the edges each side (TU, TO) may take'
        "</title>",
        "<style>"
        + _STYLE % {"font": FONT, "size": FONT_SIZE, "tu": SIDE_COLOURS["TU"], "to": SIDE_COLOURS["TO"]}
        + "</style>",
        "<defs>",
    ]
    for side, colour in SIDE_COLOURS.items():
        out.append(
            f'<marker id="lifecycle-arrow-{side}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        )
    out.append(
        '<marker id="lifecycle-arrow-entry" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1f2328"/></marker>'
    )
    out.append("</defs>")
    out.append('<rect class="background" x="0" y="0" width="100%" height="100%" fill="#ffffff"/>')

    ports = _ports(lifecycle, boxes)
    labels: list[str] = []
    taken: list[tuple[float, float]] = []
    for edge in lifecycle.transitions:
        out.append(_edge(edge, ports, taken, labels))
    out.extend(labels)  # drawn after every curve, so no curve crosses a label

    initial = boxes[lifecycle.initial]
    dot_x = initial.x - initial.width / 2 - ENTRY + 8
    out.append(
        f'<g class="entry"><circle cx="{_n(dot_x)}" cy="{_n(initial.y)}" r="5" fill="#1f2328"/>'
        f'<path d="M{_n(dot_x + 5)},{_n(initial.y)} H{_n(initial.x - initial.width / 2 - 2)}" stroke="#1f2328" '
        'stroke-width="1.6" marker-end="url(#lifecycle-arrow-entry)"/></g>'
    )
    for state in lifecycle.states:
        out.append(_state(state, boxes[state], lifecycle))

    notes = _notes(lifecycle)
    y = diagram_bottom
    for side in ("TU", "TO"):
        colour = SIDE_COLOURS[side]
        out.append(
            f'<g class="legend side-{side}"><path d="M{MARGIN},{_n(y - 4)} h34" stroke="{colour}" stroke-width="2" '
            f'marker-end="url(#lifecycle-arrow-{side})"/><text class="note" x="{MARGIN + 44}" y="{_n(y)}">'
            f"{escape(SIDE_NAMES[side])}</text></g>"
        )
        y += 20
    for note in notes:
        out.append(f'<text class="note" x="{MARGIN}" y="{_n(y)}">{escape(note)}</text>')
        y += 20
    height = _n(y - 6 + MARGIN / 2)
    out.append("</svg>")
    return "\n".join(out).replace("%(height)s", height) + "\n"


_LABEL_WIDTH, _LABEL_HEIGHT = 26, 18
# Where along its curve an edge's label may sit, in order of preference: a third of the way,
# nearer the source, so that an edge and its reverse label apart; further on when taken.
_LABEL_AT = (0.3, 0.5, 0.65, 0.2, 0.8)


def _edge(
    edge: Transition,
    ports: dict[tuple[Transition, str], tuple[float, float]],
    taken: list[tuple[float, float]],
    labels: list[str],
) -> str:
    x0, y0 = ports[(edge, "source")]
    x1, y1 = ports[(edge, "target")]
    if x0 == x1:  # within one column: bow out to the right
        c0x, c1x, end_x = x0 + 70, x1 + 70, x1 + 2
    else:  # horizontal tangents at both ends
        direction = 1 if x1 > x0 else -1
        reach = abs(x1 - x0) / 2
        c0x, c1x, end_x = x0 + direction * reach, x1 - direction * reach, x1 - direction * 2
    curve = ((x0, y0), (c0x, y0), (c1x, y1), (end_x, y1))
    label_x, label_y = _free_spot(curve, taken)
    taken.append((label_x, label_y))
    attrs = (
        f'class="edge side-{edge.side}" data-from={quoteattr(edge.source)} data-to={quoteattr(edge.target)} '
        f'data-side="{edge.side}"'
    )
    title = f"{edge.source} \u2192 {edge.target} ({edge.side})" + (f": {edge.meaning}" if edge.meaning else "")
    labels.append(
        f"<g {attrs}><title>{escape(title)}</title>"
        f'<rect x="{_n(label_x - _LABEL_WIDTH / 2)}" y="{_n(label_y - _LABEL_HEIGHT / 2)}" width="{_LABEL_WIDTH}" '
        f'height="{_LABEL_HEIGHT}" rx="9"/>'
        f'<text x="{_n(label_x)}" y="{_n(label_y + 4)}" text-anchor="middle">{edge.side}</text></g>'
    )
    return (
        f"<g {attrs}><title>{escape(title)}</title>"
        f'<path d="M{_n(x0)},{_n(y0)} C{_n(c0x)},{_n(y0)} {_n(c1x)},{_n(y1)} {_n(end_x)},{_n(y1)}" '
        f'marker-end="url(#lifecycle-arrow-{edge.side})"/></g>'
    )


def _free_spot(curve: tuple[tuple[float, float], ...], taken: list[tuple[float, float]]) -> tuple[float, float]:
    """The first point of `_LABEL_AT` along the cubic `curve` where a label overlaps no other."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = curve
    spots = []
    for t in _LABEL_AT:
        a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
        spots.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    for x, y in spots:
        if all(abs(x - ox) > _LABEL_WIDTH + 2 or abs(y - oy) > _LABEL_HEIGHT + 2 for ox, oy in taken):
            return x, y
    return spots[0]


def _state(state: str, box: _Box, lifecycle: Lifecycle) -> str:
    classes = ["state"]
    if state == lifecycle.initial:
        classes.append("initial")
    if lifecycle.is_terminal(state):
        classes.append("terminal")
    left, top = box.x - box.width / 2, box.y - BOX_HEIGHT / 2
    shapes = [
        f'<rect class="outer" x="{_n(left)}" y="{_n(top)}" width="{_n(box.width)}" height="{BOX_HEIGHT}" rx="6"/>'
    ]
    if lifecycle.is_terminal(state):
        shapes.append(
            f'<rect class="inner" x="{_n(left + 4)}" y="{_n(top + 4)}" width="{_n(box.width - 8)}" '
            f'height="{BOX_HEIGHT - 8}" rx="4"/>'
        )
    name = state + ("*" if state in lifecycle.requires_on_entry else "")
    title = state + (" (terminal: accepts no update)" if lifecycle.is_terminal(state) else "")
    return (
        f'<g class="{" ".join(classes)}" data-state={quoteattr(state)}><title>{escape(title)}</title>'
        + "".join(shapes)
        + f'<text x="{_n(box.x)}" y="{_n(box.y + 4.5)}" text-anchor="middle">{escape(name)}</text></g>'
    )


def _notes(lifecycle: Lifecycle) -> list[str]:
    notes = [
        f"{state}*: entering it needs {', '.join(fields)}" for state, fields in lifecycle.requires_on_entry.items()
    ]
    if lifecycle.terminal:
        notes.append(f"Double border: terminal ({', '.join(sorted(lifecycle.terminal))}): no update at all.")
    notes.append("Either side may stay in a non-terminal state (a dialog, attachments); such loops are not drawn.")
    return notes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spec.diagram", description="Draw the lifecycle table as SVG.")
    parser.add_argument("--lifecycle", type=Path, default=LIFECYCLE_PATH, help="lifecycle table to draw")
    parser.add_argument("--output", type=Path, default=None, help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    try:
        svg = lifecycle_svg(lifecycle_module.load(args.lifecycle))
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.output is None:
        sys.stdout.write(svg)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(svg, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
