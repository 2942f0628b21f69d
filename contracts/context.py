"""What every layer works with: the contract, the client, the run's settings and progress."""

from __future__ import annotations

import shlex
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from contracts.client import ApiClient, Exchange, SkipRule
from contracts.config import DEFAULT_MAX_CREATES, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, RunConfig
from contracts.results import LayerResult, LayerRun
from contracts.tokens import Tokens
from contracts.transport import GuardedAdapter
from spec import LIFECYCLE_PATH, OPENAPI_PATH
from spec.catalogue import Catalogue
from spec.contract import Contract

NEEDS_HOOK = "add --to-hook"


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
        self.write(
            f"[{layer.name}] {len(layer.rules)} rules checked, {layer.failures} failures, "
            f"{layer.warnings} warnings so far{extra}"
        )

    def done(self, layer: LayerResult) -> None:
        from contracts.results import Status

        verdict = "ok" if not layer.failures else f"{layer.failures} FAILURES"
        self.write(
            f"[{layer.name}] done in {layer.seconds:.1f} s: {len(layer.rules)} rules, "
            f"{layer.count(Status.SKIPPED)} skipped, {layer.warnings} warnings, {verdict}"
        )

    def write(self, line: str) -> None:
        if self.enabled:
            self.stream.write(line + "\n")
            self.stream.flush()


@dataclass
class Context:
    config: RunConfig
    contract: Contract
    catalogue: Catalogue
    client: ApiClient
    adapter: GuardedAdapter
    seed: int
    progress: Progress
    tokens: Tokens
    current: LayerRun | None = None  # the layer running now, so a halted run keeps what it checked

    def layer(self, name: str, title: str) -> LayerRun:
        self.current = LayerRun(name, title, self.catalogue, strict=self.config.strict, on_rule=self.progress.update)
        return self.current

    def replay_command(self, layer: str | None = None) -> str:
        """The command that runs the suite again as this run did (one layer, or all), same seed."""
        config = self.config
        parts = ["tt-contracts", "run", "--base-url", config.base_url]
        if layer:
            parts += ["--layer", layer]
        parts += ["--seed", str(self.seed), "--max-examples", str(config.max_examples)]
        flags = {"--to-hook": config.to_hook, "--strict": config.strict, "--read-only": config.read_only}
        parts += [flag for flag, on in flags.items() if on]
        parts += [arg for ticket in config.ticket_ids for arg in ("--ticket-id", ticket)]
        if config.spec_path.resolve() != OPENAPI_PATH:
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
        command = " ".join(shlex.quote(part) for part in parts)
        secrets = ["$TT_TOKEN", "$TT_TOKEN_B"]
        if config.jwt_secret:
            secrets.append("$TT_JWT_SECRET")
        if config.expired_token:
            secrets.append("$TT_EXPIRED_TOKEN")
        return f"{command}  # with {', '.join(secrets)} set as for this run"

    # -- tickets for the rules to work on ------------------------------------------------------

    def open_ticket(self, *, token: str = "a", mirror_key: str | None = None, **overrides: Any) -> tuple[str, str]:
        """Create a ticket from the spec's example; return (ticketId, mirrorKey)."""
        names = self.contract.names
        key = mirror_key or self.client.keys.fresh()
        body = self.contract.example_create(key, **overrides)
        exchange = self.client.create(self.contract.collection_path, body, token=token)
        answer = exchange.response_json
        if exchange.status != 201 or not isinstance(answer, dict) or not isinstance(answer.get(names.ticket_id), str):
            raise SetupFailed(f"could not open a ticket to test on: {exchange.summary()}")
        return answer[names.ticket_id], key

    def state_of(self, ticket_id: str, *, token: str = "a") -> tuple[str | None, Exchange]:
        exchange = self.client.get(self.contract.ticket_path(ticket_id), token=token)
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
        """Ask for `target`: the TU through PATCH, the TO through the provider's transition hook."""
        contract, names = self.contract, self.contract.names
        fields = dict(extra)
        if with_entry_fields:
            fields = {**contract.entry_fields(target), **fields}
        if side == "TU":
            body = contract.example_update(ticket_id, mirror_key, target, **fields)
            body.pop(names.attachments, None)
            return self.client.update(contract.ticket_path(ticket_id), body, token=token)
        if not self.config.to_hook:
            raise SkipRule("a TO move needs the provider's transition hook", NEEDS_HOOK)
        hook_body = {names.state: target, names.dialog: f"the TO moves the ticket to {target}", **fields}
        return self.client.send("POST", self.hook_path(ticket_id), json_body=hook_body, token=token)

    def unknown_ticket_id(self) -> str:
        """A well-formed ticket id no provider is likely to have issued (the largest that fits)."""
        ids = self.contract.ticket_ids
        digits = max(1, (ids.max_length or 15) - len(ids.prefix))
        return ids.of(int("9" * digits))

    def checked_sides(self) -> tuple[str, ...]:
        """The sides whose moves this run checks: the TU's through PATCH, the TO's through the hook."""
        return ("TU", "TO") if self.config.to_hook else ("TU",)

    def hook_path(self, ticket_id: str) -> str:
        return f"{self.config.hook_prefix}{self.contract.ticket_path(ticket_id)}/transition"

    def ticket_in(self, state: str, *, token: str = "a") -> tuple[str, str]:
        """A new ticket walked to `state` along the lifecycle's shortest route."""
        route = self.contract.lifecycle.route(state)
        if not self.config.to_hook and any(edge.side == "TO" for edge in route):
            raise SkipRule(f"reaching {state} takes a TO move", NEEDS_HOOK)
        ticket_id, key = self.open_ticket(token=token)
        for edge in route:
            exchange = self.move(ticket_id, key, edge.target, edge.side, token=token)
            if exchange.status != 200:
                raise SetupFailed(f"could not move a ticket to {edge.target}: {exchange.summary()}")
        return ticket_id, key
