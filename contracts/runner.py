"""One run of the contract suite: pre-flight, the layers, the clean-up; reports are the caller's."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from contracts import preflight
from contracts.client import ApiClient, CreationBudget, MirrorKeys, SkipRule
from contracts.config import LAYERS, RunConfig
from contracts.context import Context, Progress
from contracts.layers import auth, boundaries, lifecycle, protocol, roundtrip, schema
from contracts.results import LayerResult, LayerRun, RunResult
from contracts.tokens import Tokens, resolve_tokens
from contracts.transport import (
    GuardedAdapter,
    Limits,
    Monitor,
    RateLimiter,
    RunHalted,
    Traffic,
    accepts_connections,
)
from spec.catalogue import Catalogue
from spec.contract import Contract, FieldNames

LAYER_MODULES = {
    "schema": schema,
    "boundaries": boundaries,
    "roundtrip": roundtrip,
    "lifecycle": lifecycle,
    "auth": auth,
    "protocol": protocol,
}
assert tuple(LAYER_MODULES) == LAYERS

SetupError = preflight.SetupError


def connect(
    config: RunConfig, names: FieldNames, started: float, *, read_only: bool
) -> tuple[Tokens, GuardedAdapter, ApiClient]:
    """A run's tokens and its one way to the endpoint: every request of every layer, Schemathesis'
    too, goes through the guarded adapter, with the run's rate limit, deadlines and size cap."""
    tokens = resolve_tokens(config)
    monitor = Monitor(tokens, lambda: 0 if accepts_connections(config.base_url) else None)
    limits = Limits(
        request_timeout=config.timeout,
        max_response_bytes=config.max_response_bytes,
        run_deadline=started + config.max_time if config.max_time else None,
    )
    adapter = GuardedAdapter(limiter=RateLimiter(config.rate_limit), limits=limits, monitor=monitor, traffic=Traffic())
    client = ApiClient(
        config.base_url,
        tokens,
        names=names,
        keys=MirrorKeys(config.mirror_key_prefix),
        budget=CreationBudget(config.max_creates),
        adapter=adapter,
        read_only=read_only,
    )
    return tokens, adapter, client


def run(config: RunConfig, *, stream: TextIO | None = None) -> RunResult:
    """Check the endpoint of `config` against the contract. Raises SetupError (and RunHalted with
    exit code 2 when the endpoint never answers) before any rule is judged; once rules run, a halted
    run comes back as a result with what was checked so far. With `config.mirror`, the endpoint is a
    TU's mirror (contracts.mirror)."""
    if config.mirror:
        from contracts.mirror.runner import run_mirror

        return run_mirror(config, stream=stream)
    started = time.monotonic()
    contract = Contract.load(config.spec_path, config.lifecycle_path)
    catalogue = Catalogue.build(contract)
    seed = config.seed if config.seed is not None else random.randrange(1, 2**31)
    tokens, adapter, client = connect(config, contract.names, started, read_only=config.read_only)
    traffic = adapter.traffic
    progress = Progress(enabled=config.progress, stream=stream or sys.stderr)
    ctx = Context(config, contract, catalogue, client, adapter, seed, progress, tokens)
    preflight.check(ctx)
    outcome = RunResult(
        base_url=config.base_url,
        seed=seed,
        layers=[],
        catalogue=catalogue,
        options=_options(config, tokens.minted),
        replay={name: ctx.replay_command(name) for name in (*config.layers, "")},
        strict=config.strict,
        traffic=traffic,
    )
    run_layers(ctx, outcome, config.layers, lambda name: LAYER_MODULES[name].run(ctx))
    if outcome.halted is None and config.cleanup and not config.read_only:
        clean_up(ctx)
    outcome.created = list(client.created.values())
    outcome.seconds = time.monotonic() - started
    return outcome


def run_layers(ctx: Context, outcome: RunResult, names: Sequence[str], run_layer: Callable[[str], LayerResult]) -> None:
    """Run the named layers in turn until the endpoint halts the run (the rest: not reached), then
    put the provider's own layer first; the provider's run and the mirror's alike."""
    for name in names:
        if ctx.adapter.halted is not None:
            outcome.not_reached.append(name)
            continue
        try:
            result = run_layer(name)
        except RunHalted:
            assert ctx.current is not None
            result = ctx.current.finish()
        ctx.progress.done(result)
        outcome.layers.append(result)
    outcome.halted = ctx.adapter.halted
    outcome.finding = outcome.halted.finding if outcome.halted else None
    outcome.layers.insert(0, provider_layer(ctx, outcome))
    if outcome.halted is not None:
        ctx.progress.write(f"HALTED: {outcome.halted.reason}")


def provider_layer(ctx: Context, outcome: RunResult) -> LayerResult:
    """The provider through the whole run: it answered, and no request took it down."""
    layer = LayerRun("provider", "The provider through the whole run", ctx.catalogue, strict=ctx.config.strict)
    rule = layer.new_rule(
        "survives",
        "the provider answers every request, and none takes it down",
        ["http.server-survives", "http.answers-every-request"],
    )
    if outcome.finding is not None:
        rule.violate(outcome.finding.message, *outcome.finding.exchanges, details=f"at {outcome.finding.at}")
    elif outcome.halted is not None:
        rule.halted = True
        rule.skip(f"not checked to the end: {outcome.halted.reason}")
    layer.add(rule)
    return layer.finish()


def _options(config: RunConfig, minted: bool) -> dict[str, object]:
    return {
        "max examples": config.max_examples,
        "TO hook": config.to_hook,
        "second tenant": bool(config.token_b) or minted,
        "read-only": config.read_only,
        "rate limit": config.rate_limit,
        "strict": config.strict,
        "tokens minted with --jwt-secret": minted,
        "expired token": bool(config.expired_token),
        "layers": ", ".join(config.layers),
    }


def clean_up(ctx: Context) -> None:
    """Ask to cancel, along TU edges, every ticket the run created that is still open."""
    lifecycle_, client = ctx.contract.lifecycle, ctx.client
    key_limit = ctx.contract.update.max_length(ctx.contract.names.mirror_key)
    for ticket in list(client.created.values()):
        try:
            state, _ = ctx.state_of(ticket.ticket_id, token=ticket.token)
        except (SkipRule, RunHalted) as reason:
            ticket.cleanup = f"not read at the end of the run: {reason}"
            continue
        ticket.final_state = state
        cancel = lifecycle_.cancel_request
        if state is None:
            ticket.cleanup = "not readable at the end of the run"
            continue
        if lifecycle_.is_terminal(state) or state == cancel or cancel is None:
            ticket.cleanup = "left as it was"
            continue
        if key_limit is not None and len(ticket.mirror_key) > key_limit:
            ticket.cleanup = f"left in {state}: its mirrorKey is longer than an update accepts ({key_limit})"
            continue
        try:
            route = lifecycle_.route(cancel, source=state, sides=("TU",))
        except ValueError:
            ticket.cleanup = f"left in {state}: no TU route to {cancel}"
            continue
        for edge in route:
            try:
                exchange = ctx.move(ticket.ticket_id, ticket.mirror_key, edge.target, "TU", token=ticket.token)
            except (SkipRule, RunHalted) as reason:
                ticket.cleanup = f"left in {ticket.final_state}: {reason}"
                break
            if exchange.status != 200:
                ticket.cleanup = f"left in {ticket.final_state}: asking for {edge.target} got {exchange.status}"
                break
            ticket.final_state = edge.target
        else:
            ticket.cleanup = f"asked to cancel: now {ticket.final_state}"
