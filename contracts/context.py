"""What every layer works with: the contract, the client, the run's settings and progress."""

from __future__ import annotations

import shlex
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from contracts.client import ApiClient, Exchange, SkipRule
from contracts.config import RunConfig
from contracts.contract import STATE, Contract
from contracts.results import LayerResult, LayerRun


class SetupFailed(SkipRule):
    """The endpoint would not give a rule what it needs (a ticket in some state)."""


@dataclass
class Progress:
    """One line per layer while it runs (rules checked, violations so far), to stderr."""

    enabled: bool = True
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    _last: float = 0.0

    def update(self, layer: LayerResult, extra: str = "", *, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < 1.0):
            return
        self._last = now
        self.stream.write(
            f"[{layer.name}] {len(layer.rules)} rules checked, {layer.violations} violations so far{extra}\n"
        )
        self.stream.flush()

    def done(self, layer: LayerResult) -> None:
        if self.enabled:
            verdict = "ok" if not layer.violations else f"{layer.violations} VIOLATIONS"
            self.stream.write(
                f"[{layer.name}] done in {layer.seconds:.1f} s: {len(layer.rules)} rules, "
                f"{layer.count('skipped')} skipped, {verdict}\n"
            )
            self.stream.flush()


@dataclass
class Context:
    config: RunConfig
    contract: Contract
    client: ApiClient
    seed: int
    progress: Progress

    def layer(self, name: str, title: str) -> LayerRun:
        return LayerRun(name, title, on_rule=self.progress.update)

    def replay_command(self, layer: str) -> str:
        """The command that runs one layer again with this run's seed."""
        parts = [
            "python",
            "-m",
            "contracts",
            "run",
            "--base-url",
            self.config.base_url,
            "--layer",
            layer,
            "--seed",
            str(self.seed),
            "--max-examples",
            str(self.config.max_examples),
        ]
        if self.config.to_hook:
            parts.append("--to-hook")
        if self.config.read_only:
            parts += ["--read-only", *[arg for ticket in self.config.ticket_ids for arg in ("--ticket-id", ticket)]]
        command = " ".join(shlex.quote(part) for part in parts)
        return command + "  # tokens from $TT_TOKEN and $TT_TOKEN_B"

    # -- tickets for the rules to work on ------------------------------------------------------

    def open_ticket(self, *, token: str = "a", mirror_key: str | None = None, **overrides: Any) -> tuple[str, str]:
        """Create a ticket from the spec's example; return (ticketId, mirrorKey)."""
        key = mirror_key or self.client.keys.fresh()
        body = self.contract.create_body(key, **overrides)
        exchange = self.client.create(self.contract.collection_path, body, token=token)
        answer = exchange.response_json
        if exchange.status != 201 or not isinstance(answer, dict) or not isinstance(answer.get("ticketId"), str):
            raise SetupFailed(f"could not open a ticket to test on: {exchange.summary()}")
        return answer["ticketId"], key

    def state_of(self, ticket_id: str, *, token: str = "a") -> tuple[str | None, Exchange]:
        exchange = self.client.get(self.contract.ticket_path(ticket_id), token=token)
        answer = exchange.response_json
        state = answer.get(STATE) if exchange.status == 200 and isinstance(answer, dict) else None
        return state, exchange

    def move(
        self,
        ticket_id: str,
        mirror_key: str,
        target: str,
        side: str,
        *,
        token: str = "a",
        with_close_out: bool = True,
        **extra: Any,
    ) -> Exchange:
        """Ask for `target`: the TU through PATCH, the TO through the provider's transition hook."""
        fields = dict(extra)
        if with_close_out:
            fields = {**self.contract.close_out(target), **fields}
        if side == "TU":
            body = self.contract.update_body(ticket_id, mirror_key, target, **fields)
            body.pop("attachments", None)
            return self.client.update(self.contract.ticket_path(ticket_id), body, token=token)
        if not self.config.to_hook:
            raise SkipRule("a TO move needs the provider's transition hook (--to-hook)")
        hook_body = {STATE: target, "dialog": f"the TO moves the ticket to {target}", **fields}
        path = f"{self.config.hook_prefix}{self.contract.ticket_path(ticket_id)}/transition"
        return self.client.send("POST", path, json_body=hook_body, token=token)

    def ticket_in(self, state: str, *, token: str = "a") -> tuple[str, str]:
        """A new ticket walked to `state` along the lifecycle's shortest route."""
        route = self.contract.lifecycle.route(state)
        if not self.config.to_hook and any(edge.side == "TO" for edge in route):
            raise SkipRule(f"reaching {state} takes a TO move: needs --to-hook")
        ticket_id, key = self.open_ticket(token=token)
        for edge in route:
            exchange = self.move(ticket_id, key, edge.target, edge.side, token=token)
            if exchange.status != 200:
                raise SetupFailed(f"could not move a ticket to {edge.target}: {exchange.summary()}")
        return ticket_id, key
