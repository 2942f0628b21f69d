"""The mock's clock: real time by default, faster by a scale, advanced at will, shared by every worker.

    mock time = anchor_mock + (wall time - anchor_wall) * scale

Advancing it moves `anchor_mock` forward; changing the scale re-anchors at the current mock time,
so that the mock's time never jumps back while it serves. The anchors and the scale are one row of
the store (`mock_clock`), read on every use, so that every worker tells the same time and a
restart carries on from the time it had. Without that row, mock time is wall time.

Times are kept as integer milliseconds since the epoch; they are shown as RFC 3339 text.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mockserver.store import TicketStore, Tx

TABLES = [
    """CREATE TABLE IF NOT EXISTS mock_clock (
        id INTEGER PRIMARY KEY,
        anchor_wall_ms BIGINT NOT NULL,
        anchor_mock_ms BIGINT NOT NULL,
        scale DOUBLE PRECISION NOT NULL,
        updated_at TEXT NOT NULL
    )""",
]
MAX_SCALE = 100_000.0  # a day in under a second: faster is a test that should advance instead
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(d|h|m|s|ms)")
_UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}


def wall_ms() -> int:
    return int(time.time() * 1000)


def format_ms(ms: int) -> str:
    """`2025-01-15T10:30:00.123Z`: the form of every other time the mock shows."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def format_seconds(ms: int) -> str:
    """`2025-01-15T10:30:00Z`: the 20-character form some fields take (serviceRestoredTime)."""
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ms(text: str) -> int:
    """Milliseconds of an RFC 3339 date-time; ValueError when it is not one with an offset."""
    when = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return int(when.timestamp() * 1000)


def parse_duration(value: Any, what: str = "duration") -> int:
    """Milliseconds of `30s`, `10m`, `4h`, `72h`, `1d`, `1h30m`, or of a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: a duration such as 10m, 4h or 72h, or a number of seconds; got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{what}: a duration cannot be negative; got {value!r}")
        return int(value * 1000)
    text = str(value).strip().lower().replace(" ", "")
    parts = _DURATION.findall(text)
    if not text or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(
            f"{what}: a duration such as 30s, 10m, 4h, 72h, 1d or 1h30m, or a number of seconds; got {value!r}"
        )
    return int(sum(float(number) * _UNIT_MS[unit] for number, unit in parts))


def describe_ms(ms: int) -> str:
    """`72h`, `1h30m`, `10m`, `45s`: a duration as a person reads it."""
    if ms <= 0:
        return "0s"
    out, rest = [], ms
    for unit in ("d", "h", "m", "s"):
        size = _UNIT_MS[unit]
        if rest >= size:
            count, rest = divmod(rest, size)
            out.append(f"{count}{unit}")
    return "".join(out) or f"{ms}ms"


@dataclass(frozen=True)
class ClockState:
    anchor_wall_ms: int
    anchor_mock_ms: int
    scale: float

    def at(self, wall: int) -> int:
        return self.anchor_mock_ms + int((wall - self.anchor_wall_ms) * self.scale)


class Clock:
    """The shared clock, read from and written to the store."""

    def __init__(self, store: TicketStore, *, wall: Callable[[], int] = wall_ms, default_scale: float = 1.0) -> None:
        self.store, self.wall = store, wall
        self.default_scale = default_scale  # the scale a reset goes back to (--time-scale)
        store.ensure_tables(TABLES)

    # -- reading -------------------------------------------------------------------------------

    def state(self, tx: Tx | None = None) -> ClockState:
        sql = "SELECT anchor_wall_ms, anchor_mock_ms, scale FROM mock_clock WHERE id = 1"
        rows = tx.query(sql) if tx is not None else self.store.query(sql)
        if not rows:
            now = self.wall()
            return ClockState(now, now, 1.0)
        row = rows[0]
        return ClockState(int(row["anchor_wall_ms"]), int(row["anchor_mock_ms"]), float(row["scale"]))

    def now_ms(self, tx: Tx | None = None) -> int:
        return self.state(tx).at(self.wall())

    def iso(self) -> str:
        """The mock's time now, as the store records events (TicketStore.now)."""
        return format_ms(self.now_ms())

    def describe(self) -> dict[str, Any]:
        """The clock as the control API shows it."""
        state, wall = self.state(), self.wall()
        now = state.at(wall)
        return {
            "now": format_ms(now),
            "scale": state.scale,
            "offsetSeconds": round((now - wall) / 1000, 3),
            "wallNow": format_ms(wall),
        }

    # -- changing it ---------------------------------------------------------------------------

    def advance(self, ms: int) -> int:
        """Move the clock `ms` forward; return the new mock time."""
        if ms < 0:
            raise ValueError("the clock only moves forward")
        with self.store.transaction() as tx:
            state, wall = self.state(tx), self.wall()
            now = state.at(wall) + ms
            self._write(tx, wall, now, state.scale)
        return now

    def advance_to(self, target_ms: int) -> int:
        """Move the clock to `target_ms`, which may not be before the mock's time now."""
        with self.store.transaction() as tx:
            state, wall = self.state(tx), self.wall()
            now = state.at(wall)
            if target_ms < now:
                raise ValueError(f"the clock only moves forward: it is {format_ms(now)} already")
            self._write(tx, wall, target_ms, state.scale)
        return target_ms

    def set_scale(self, scale: float) -> None:
        """Run at `scale` times wall time from now on, from the mock time it is now."""
        if not 0 < scale <= MAX_SCALE:
            raise ValueError(f"the time scale is above 0 and at most {MAX_SCALE:g}; got {scale!r}")
        with self.store.transaction() as tx:
            state, wall = self.state(tx), self.wall()
            if state.scale != scale:
                self._write(tx, wall, state.at(wall), scale)

    def reset(self) -> None:
        """Back to wall time, at the start-up scale."""
        with self.store.transaction() as tx:
            wall = self.wall()
            self._write(tx, wall, wall, self.default_scale)

    @staticmethod
    def _write(tx: Tx, wall: int, mock: int, scale: float) -> None:
        tx.execute(
            "INSERT INTO mock_clock (id, anchor_wall_ms, anchor_mock_ms, scale, updated_at) VALUES (1, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET anchor_wall_ms = excluded.anchor_wall_ms,"
            " anchor_mock_ms = excluded.anchor_mock_ms, scale = excluded.scale, updated_at = excluded.updated_at",
            (wall, mock, scale, format_ms(wall)),
        )
