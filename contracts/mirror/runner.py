"""One run of the mirror suite: pre-flight, the mirror's layers, the provider layer; reports are the caller's.

The same machinery as a run against a provider (contracts.runner): the guarded transport and its
canary, the client, results, coverage and exit codes; only the contract (spec/mirror.yaml), the
pre-flight and the layers are the mirror's.
"""

from __future__ import annotations

import dataclasses
import random
import sys
import time
from typing import TextIO

from contracts.client import SkipRule
from contracts.config import RunConfig
from contracts.context import Progress
from contracts.mirror.context import NEEDS_TU_HOOK, MirrorContext
from contracts.mirror.layers import LAYERS
from contracts.preflight import SetupError, _refuse_setup, _set_canary
from contracts.results import RunResult
from contracts.runner import connect, run_layers
from contracts.transport import RunHalted
from spec import MIRROR_PATH, OPENAPI_PATH
from spec.catalogue import Catalogue
from spec.mirror import MirrorContract


def run_mirror(config: RunConfig, *, stream: TextIO | None = None) -> RunResult:
    """Check the mirror endpoint of `config` against spec/mirror.yaml, playing the TO."""
    started = time.monotonic()
    if config.spec_path.resolve() == OPENAPI_PATH:  # a RunConfig's default names the provider's spec
        config = dataclasses.replace(config, spec_path=MIRROR_PATH)
    contract = MirrorContract.load(config.spec_path, config.lifecycle_path)
    catalogue = Catalogue.build(contract)
    seed = config.seed if config.seed is not None else random.randrange(1, 2**31)
    tokens, adapter, client = connect(config, contract.names, started, read_only=False)
    traffic = adapter.traffic
    progress = Progress(enabled=config.progress, stream=stream or sys.stderr)
    ctx = MirrorContext(config, contract, catalogue, client, adapter, seed, progress, tokens)  # type: ignore[arg-type]
    preflight(ctx)
    outcome = RunResult(
        base_url=config.base_url,
        seed=seed,
        layers=[],
        catalogue=catalogue,
        options={
            "mirror": True,
            "max examples": config.max_examples,
            "TU hook": config.tu_hook,
            "rate limit": config.rate_limit,
            "strict": config.strict,
            "tokens minted with --jwt-secret": tokens.minted,
            "layers": ", ".join(config.layers),
        },
        replay={name: ctx.replay_command(name) for name in (*config.layers, "")},
        strict=config.strict,
        traffic=traffic,
    )
    run_layers(ctx, outcome, config.layers, lambda name: LAYERS[name](ctx))  # type: ignore[arg-type]
    if outcome.halted is None:
        _final_states(ctx)
    outcome.created = list(client.created.values())
    outcome.seconds = time.monotonic() - started
    return outcome


def preflight(ctx: MirrorContext) -> None:
    """Stop a run whose setup is wrong (exit 2): nothing answers, a refused token, a missing TU hook."""
    contract, client, config = ctx.contract, ctx.client, ctx.config
    probe = client.get(contract.ticket_path(ctx.unknown_ticket_id()))
    _refuse_setup(probe, f"GET {contract.item_path}", "$TT_TOKEN")
    if probe.status == 405 or (probe.status == 404 and contract.errors.message(probe.response_json) is None):
        ctx.progress.write(f"pre-flight: GET {probe.url} answered {probe.answer(120)}; the layers will judge it")
    path = contract.ticket_path(ctx.unknown_ticket_id())
    if config.tu_hook:
        try:
            _, key = ctx.open_ticket()
        except SkipRule as failed:
            raise SetupError(
                f"--tu-hook was given but the mirror's TU hook under {config.hook_prefix} would not open a ticket "
                f"({failed}); set --hook-prefix, or drop --tu-hook to check what needs no mirror ticket"
            ) from None
        path = contract.ticket_path(key)
        opened = client.get(path)
        if opened.status != 200:
            ctx.progress.write(f"pre-flight: GET of a mirror ticket just opened got {opened.answer(200)}")
    else:
        ctx.progress.write(
            f"pre-flight: no --tu-hook, so the rules that need a mirror ticket are skipped ({NEEDS_TU_HOOK})"
        )
    _set_canary(ctx, client.base_url + path)  # type: ignore[arg-type]


def _final_states(ctx: MirrorContext) -> None:
    """Each mirror ticket the run opened, with the state it was left in (the TU's own, to keep or drop)."""
    for ticket in ctx.client.created.values():
        try:
            ticket.final_state, _ = ctx.state_of(ticket.ticket_id)
        except (SkipRule, RunHalted) as reason:
            ticket.cleanup = f"not read at the end of the run: {reason}"
            continue
        ticket.cleanup = "left as it was: a mirror ticket is the TU's, and no TO move deletes one"
