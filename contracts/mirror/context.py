"""What the mirror's layers work with: `contracts.context.Context`, seen from the TO's side.

A mirror ticket is named by its mirrorKey in paths and carries the TO's ticketId in bodies. The
suite opens mirror tickets, and plays the TU's own moves, through the mirror's test hook
(`--tu-hook`, under `--hook-prefix`); the TO's moves, which are what the mirror's contract is
about, go through PATCH.
"""

from __future__ import annotations

import itertools
import random
import shlex
from dataclasses import dataclass, field
from typing import Any

from contracts.client import Exchange, SkipRule
from contracts.config import DEFAULT_MAX_CREATES, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT
from contracts.context import Context, SetupFailed
from spec import LIFECYCLE_PATH, MIRROR_PATH

NEEDS_TU_HOOK = "add --tu-hook"


@dataclass
class MirrorContext(Context):
    """The run's context for a mirror: mirror tickets by the TO's id, and the TU hook."""

    keys_by_id: dict[str, str] = field(default_factory=dict)  # the TO's ticketId -> the mirror's key
    _ids: Any = field(default_factory=lambda: itertools.count(random.randrange(10**6, 10**9, 10**5)))

    def checked_sides(self) -> tuple[str, ...]:
        return tuple(self.contract.sides)

    @property
    def collection_path(self) -> str:
        """Where the hook opens mirror tickets: the item path less its parameter (`/troubleTicket`)."""
        item = self.contract.item_path
        return item[: item.rindex("/")]

    def replay_command(self, layer: str | None = None) -> str:
        config = self.config
        parts = ["tt-contracts", "run", "--mirror", "--base-url", config.base_url]
        if layer:
            parts += ["--layer", layer]
        parts += ["--seed", str(self.seed), "--max-examples", str(config.max_examples)]
        parts += [flag for flag, on in {"--tu-hook": config.tu_hook, "--strict": config.strict}.items() if on]
        if config.spec_path.resolve() != MIRROR_PATH:
            parts += ["--spec", str(config.spec_path)]
        if config.lifecycle_path.resolve() != LIFECYCLE_PATH:
            parts += ["--lifecycle", str(config.lifecycle_path)]
        options: dict[str, Any] = {
            "--max-creates": (config.max_creates, DEFAULT_MAX_CREATES),
            "--timeout": (config.timeout, DEFAULT_TIMEOUT),
            "--max-response-bytes": (config.max_response_bytes, DEFAULT_MAX_RESPONSE_BYTES),
            "--rate-limit": (config.rate_limit, None),
            "--hook-prefix": (config.hook_prefix, "/_mock"),
        }
        parts += [arg for flag, (value, default) in options.items() if value != default for arg in (flag, str(value))]
        secrets = ["$TT_TOKEN"] + (["$TT_JWT_SECRET"] if config.jwt_secret else [])
        return " ".join(shlex.quote(part) for part in parts) + f"  # with {', '.join(secrets)} set as for this run"

    # -- mirror tickets ------------------------------------------------------------------------

    def fresh_ticket_id(self) -> str:
        """A TO ticketId for a new mirror ticket (the mirror only keeps it)."""
        return self.contract.ticket_ids.of(next(self._ids))

    def open_ticket(
        self, *, token: str = "a", mirror_key: str | None = None, ticket_id: str | None = None, **fields: Any
    ) -> tuple[str, str]:
        """A new mirror ticket, opened through the TU hook; return (the TO's ticketId, mirrorKey)."""
        if not self.config.tu_hook:
            raise SkipRule("a mirror ticket to test on needs the mirror's TU hook", NEEDS_TU_HOOK)
        names = self.contract.names
        key, ticket_id = mirror_key or self.client.keys.fresh(), ticket_id or self.fresh_ticket_id()
        self.client.budget.take()
        body = {names.mirror_key: key, names.ticket_id: ticket_id, **fields}
        exchange = self.client.send("POST", self.config.hook_prefix + self.collection_path, json_body=body, token=token)
        if exchange.status not in (200, 201):
            raise SetupFailed(f"the TU hook would not open a mirror ticket: {exchange.summary()}")
        self.keys_by_id[ticket_id] = key
        self.client.note_created({names.ticket_id: ticket_id}, {names.mirror_key: key}, token)
        return ticket_id, key

    def key_of(self, ticket_id: str) -> str:
        return self.keys_by_id.get(ticket_id, ticket_id)

    def state_of(self, ticket_id: str, *, token: str = "a") -> tuple[str | None, Exchange]:
        exchange = self.client.get(self.contract.ticket_path(self.key_of(ticket_id)), token=token)
        answer = exchange.response_json
        state = answer.get(self.contract.names.state) if exchange.status == 200 and isinstance(answer, dict) else None
        return state, exchange

    def move(
        self,
        ticket_id: str,
        mirror_key: str,
        target: str,
        side: str,
        *,
        token: str = "a",
        with_entry_fields: bool = True,
        **extra: Any,
    ) -> Exchange:
        """Ask for `target`: the TO through PATCH (the contract under test), the TU through its hook."""
        contract, names = self.contract, self.contract.names
        fields = dict(extra)
        if with_entry_fields:
            fields = {**contract.entry_fields(target), **fields}
        if side in contract.sides:
            body = contract.example_update(ticket_id, mirror_key, target, **fields)
            body.pop(names.attachments, None)
            return self.client.update(contract.ticket_path(mirror_key), body, token=token)
        if not self.config.tu_hook:
            raise SkipRule(f"a {side} move needs the mirror's TU hook", NEEDS_TU_HOOK)
        body = {names.state: target, names.dialog: f"the {side} moves its ticket to {target}", **fields}
        return self.client.send("POST", self.hook_path(mirror_key), json_body=body, token=token)

    def unknown_ticket_id(self) -> str:
        """A mirrorKey no mirror has: the run's own prefix, never opened."""
        return self.client.keys.fresh()

    def ticket_in(self, state: str, *, token: str = "a") -> tuple[str, str]:
        """A new mirror ticket walked to `state`: the TU's moves through the hook, the TO's through PATCH."""
        route = self.contract.lifecycle.route(state)
        ticket_id, key = self.open_ticket(token=token)
        for edge in route:
            exchange = self.move(ticket_id, key, edge.target, edge.side, token=token)
            if exchange.status not in (200, 201):
                raise SetupFailed(f"could not move a mirror ticket to {edge.target}: {exchange.summary()}")
        return ticket_id, key
