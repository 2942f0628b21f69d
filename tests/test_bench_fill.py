"""`make bench-scale` fills its stores through the mock's own service: keep it building on today's API."""

from __future__ import annotations

from pathlib import Path

from bench.scale import KEY_PREFIX, TENANT, fill
from mockserver.store import TicketStore


def test_the_scale_bench_fills_a_store_the_mock_reads(tmp_path: Path) -> None:
    db = tmp_path / "tickets.db"
    fill(db, 5)
    store = TicketStore(str(db))
    try:
        tickets = [store.get(TENANT, seq) for seq in range(1, 7)]
        assert [ticket.mirror_key for ticket in tickets[:5] if ticket] == [f"{KEY_PREFIX}{i}" for i in range(1, 6)]
        assert tickets[5] is None
        assert all(len(store.history_of(seq).events) == 1 for seq in range(1, 6))  # type: ignore[union-attr]
    finally:
        store.close()
