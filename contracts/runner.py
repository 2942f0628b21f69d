"""One run of the contract suite: probe the endpoint, run the layers, clean up, report."""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from contracts import report
from contracts.client import ApiClient, CreatedTicket, CreationBudget, MirrorKeys, RateLimiter, SkipRule
from contracts.config import LAYERS, RunConfig
from contracts.context import Context, Progress
from contracts.contract import Contract
from contracts.layers import auth, boundaries, lifecycle, protocol, roundtrip, schema
from contracts.results import LayerResult

LAYER_MODULES = {
    "schema": schema,
    "boundaries": boundaries,
    "roundtrip": roundtrip,
    "lifecycle": lifecycle,
    "auth": auth,
    "protocol": protocol,
}
assert tuple(LAYER_MODULES) == LAYERS


class Unreachable(Exception):
    """The endpoint did not answer at all."""


@dataclass
class RunResult:
    config: RunConfig
    seed: int
    layers: list[LayerResult]
    created: list[CreatedTicket] = field(default_factory=list)
    requests_sent: int = 0
    seconds: float = 0.0

    @property
    def violations(self) -> int:
        return sum(layer.violations for layer in self.layers)

    @property
    def conforms(self) -> bool:
        return all(rule.status != "failed" for layer in self.layers for rule in layer.rules)

    def layer(self, name: str) -> LayerResult:
        return next(layer for layer in self.layers if layer.name == name)


def run(config: RunConfig, *, stream: TextIO | None = None) -> RunResult:
    """Check the endpoint of `config` against the contract; raise Unreachable if it never answers."""
    started = time.monotonic()
    contract = Contract.load(config.spec_path, config.lifecycle_path)
    seed = config.seed if config.seed is not None else random.randrange(1, 2**31)
    tokens = {"a": config.token, **({"b": config.token_b} if config.token_b else {})}
    client = ApiClient(
        config.base_url,
        tokens,
        keys=MirrorKeys(config.mirror_key_prefix),
        budget=CreationBudget(config.max_creates),
        limiter=RateLimiter(config.rate_limit),
        read_only=config.read_only,
        timeout=config.timeout,
    )
    probe = client.get(contract.ticket_path(config.ticket_ids[0] if config.ticket_ids else "RED-1"))
    if probe.error:
        raise Unreachable(f"{config.base_url} did not answer: {probe.error}")
    progress = Progress(enabled=config.progress, stream=stream or sys.stderr)
    ctx = Context(config, contract, client, seed, progress)
    results = []
    for name in config.layers:
        result = LAYER_MODULES[name].run(ctx)
        progress.done(result)
        results.append(result)
    if config.cleanup and not config.read_only:
        clean_up(ctx)
    outcome = RunResult(
        config=config,
        seed=seed,
        layers=results,
        created=list(client.created.values()),
        requests_sent=client.requests_sent,
        seconds=time.monotonic() - started,
    )
    if config.junit_xml:
        report.write_junit(outcome, config.junit_xml)
    if config.report:
        report.write_markdown(outcome, config.report, replay=ctx.replay_command)
    return outcome


def clean_up(ctx: Context) -> None:
    """Ask to cancel, along TU edges, every ticket the run created that is still open."""
    lifecycle, client = ctx.contract.lifecycle, ctx.client
    key_limit = ctx.contract.update.max_length("mirrorKey")
    for ticket in list(client.created.values()):
        state, _ = ctx.state_of(ticket.ticket_id, token=ticket.token)
        ticket.final_state = state
        if state is None:
            ticket.cleanup = "not readable at the end of the run"
            continue
        if lifecycle.is_terminal(state) or state == lifecycle.cancel_request or lifecycle.cancel_request is None:
            ticket.cleanup = "left as it was"
            continue
        if key_limit is not None and len(ticket.mirror_key) > key_limit:
            ticket.cleanup = f"left in {state}: its mirrorKey is longer than an update accepts ({key_limit})"
            continue
        try:
            route = lifecycle.route(lifecycle.cancel_request, source=state, sides=("TU",))
        except ValueError:
            ticket.cleanup = f"left in {state}: no TU route to {lifecycle.cancel_request}"
            continue
        for edge in route:
            try:
                exchange = ctx.move(ticket.ticket_id, ticket.mirror_key, edge.target, "TU", token=ticket.token)
            except SkipRule as reason:
                ticket.cleanup = f"left in {ticket.final_state}: {reason}"
                break
            if exchange.status != 200:
                ticket.cleanup = f"left in {ticket.final_state}: asking for {edge.target} got {exchange.status}"
                break
            ticket.final_state = edge.target
        else:
            ticket.cleanup = f"asked to cancel: now {ticket.final_state}"
