"""Layer 4, lifecycle: every edge allowed or refused as the lifecycle file says, for each side.

Two parts. A sweep walks a ticket into each state it can reach and asks for every state from
there: an allowed edge answers 200 and moves the ticket; a refused edge (not in the table,
taken by the wrong side, or leaving a terminal state) answers 400 naming both states and
changes nothing; entering a state with entry requirements needs those fields. Then a
Hypothesis state machine takes random walks over several tickets and compares every answer
with a model built from the same file. TO moves go through the provider's transition hook,
and only with --to-hook; without it the TU edges are checked alone.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, get_state_machine_test, rule

from contracts.client import Exchange, SkipRule
from contracts.context import NEEDS_HOOK, Context
from contracts.results import LayerResult, LayerRun, Rule
from spec.catalogue import edge_rule, entry_rule, terminal_rule

NAME, TITLE = "lifecycle", "Lifecycle: allowed and refused edges for each side"


class Violated(AssertionError):
    """The endpoint answered a lifecycle step other than the model predicts."""

    def __init__(self, message: str, *exchanges: Exchange, breaks: str) -> None:
        super().__init__(message)
        self.message, self.exchanges, self.breaks = message, exchanges, breaks


def run(ctx: Context) -> LayerResult:
    layer = ctx.layer(NAME, TITLE)
    if ctx.config.read_only:
        every = [r.id for r in ctx.catalogue if r.id.startswith("lifecycle.")]
        layer.skip("lifecycle", "every lifecycle rule", every, "read-only mode moves no tickets")
        return layer.finish()
    sweep(ctx, layer)
    random_walks(ctx, layer)
    return layer.finish()


def sides(ctx: Context) -> tuple[str, ...]:
    return ctx.checked_sides()


def edge_covers(lifecycle: Any, source: str, target: str, side: str) -> list[str]:
    """The contract rules one move checks."""
    if lifecycle.is_terminal(source):
        return [terminal_rule(source), "lifecycle.refusal-changes-nothing"]
    covers = [edge_rule(side, source, target)]
    if not lifecycle.allows(source, target, side):
        covers += ["lifecycle.refusal-names-states", "lifecycle.refusal-changes-nothing"]
    return covers


def sweep(ctx: Context, layer: LayerRun) -> None:
    lifecycle = ctx.contract.lifecycle
    if not ctx.config.to_hook:
        to_edges = [
            edge_rule("TO", s, t) for s in lifecycle.states if not lifecycle.is_terminal(s) for t in lifecycle.states
        ]
        layer.skip(
            "TO.*", "the TO side's edges and refusals", to_edges, "the TO's moves need its transition hook", NEEDS_HOOK
        )
    spare: dict[str, tuple[str, str]] = {}  # a ticket per state, kept while refusals leave it there
    for source in lifecycle.states:
        if not ctx.config.to_hook and any(edge.side == "TO" for edge in lifecycle.route(source)):
            covers = [c for target in lifecycle.states for c in edge_covers(lifecycle, source, target, "TU")]
            if source in lifecycle.requires_on_entry:
                covers.append(entry_rule(source))
            layer.skip(
                f"TU.from-{source}",
                f"the TU's moves from {source}",
                covers,
                f"reaching {source} takes a TO move",
                NEEDS_HOOK,
            )
            continue
        for side in sides(ctx):
            for target in lifecycle.states:
                allowed = lifecycle.allows(source, target, side)  # type: ignore[arg-type]
                verdict = "allowed" if allowed else "refused"
                rule_id, title = f"{side}.{source}->{target}", f"{side}: {source} -> {target} is {verdict}"
                with layer.rule(rule_id, title, edge_covers(lifecycle, source, target, side)) as rule:
                    ticket = spare.pop(source, None) or ctx.ticket_in(source)
                    kept = check_edge(ctx, rule, ticket, source, target, side, allowed)
                    if kept:
                        spare[source] = ticket
                if allowed and lifecycle.entry_requirements(source, target):
                    needs = ",".join(lifecycle.entry_requirements(source, target))
                    title = f"{side}: {source} -> {target} without {needs} is refused"
                    covers = [entry_rule(target), "body.required-fields-message"]
                    with layer.rule(f"{rule_id}.without-entry-fields", title, covers) as rule:
                        ticket = spare.pop(source, None) or ctx.ticket_in(source)
                        if check_entry_requirements(ctx, rule, ticket, source, target, side):
                            spare[source] = ticket


def check_edge(
    ctx: Context, rule: Rule, ticket: tuple[str, str], source: str, target: str, side: str, allowed: bool
) -> bool:
    """Ask for one edge; return True when the ticket is still in `source` (and can be used again)."""
    ticket_id, key = ticket
    dialog = f"{side} asks for {target}"
    exchange = ctx.move(ticket_id, key, target, side, dialog=dialog)
    state, read = ctx.state_of(ticket_id)
    if allowed:
        if rule.expect_status(exchange, 200, f"{side} {source} -> {target}"):
            rule.expect(state == target, f"after an allowed move the ticket is {state}, not {target}", exchange, read)
        return source == target and state == source
    if rule.expect_status(exchange, 400, f"{side} {source} -> {target} must be refused"):
        message = ctx.contract.errors.message(exchange.response_json) or ""
        # A terminal state's refusal need not list where the ticket may go: it may go nowhere.
        if not ctx.contract.lifecycle.is_terminal(source):
            rule.expect(
                source in message and target in message,
                f"the refusal must name the current ({source}) and requested ({target}) states",
                exchange,
                breaks="lifecycle.refusal-names-states",
            )
    unchanged = state == source
    rule.expect(
        unchanged,
        f"a refused move must change nothing: the ticket went from {source} to {state}",
        exchange,
        read,
        breaks="lifecycle.refusal-changes-nothing",
    )
    if unchanged:
        answer = read.response_json or {}
        rule.expect(
            answer.get(ctx.contract.names.dialog) != dialog,
            "a refused move must not keep its dialog",
            exchange,
            read,
            breaks="lifecycle.refusal-changes-nothing",
        )
    return unchanged


def check_entry_requirements(
    ctx: Context, rule: Rule, ticket: tuple[str, str], source: str, target: str, side: str
) -> bool:
    ticket_id, key = ticket
    needs = ctx.contract.lifecycle.entry_requirements(source, target)
    exchange = ctx.move(ticket_id, key, target, side, with_entry_fields=False)
    state, read = ctx.state_of(ticket_id)
    if rule.expect_status(exchange, 400, f"{side} {source} -> {target} without {', '.join(needs)}"):
        expected = ctx.contract.required_message.format(list(needs))
        message = ctx.contract.errors.message(exchange.response_json)
        rule.expect(
            message == expected, f"the message must be {expected!r}", exchange, breaks="body.required-fields-message"
        )
    return rule.expect(state == source, f"a refused move must change nothing: the ticket is {state}", exchange, read)


def random_walks(ctx: Context, layer: LayerRun) -> None:
    title = "random walks over several tickets agree with the lifecycle model"
    with layer.rule("random-walks", title, ["lifecycle.refusal-changes-nothing"]) as rule:
        walks, steps = max(2, ctx.config.max_examples // 5), 12
        left = ctx.client.budget.left
        if left is not None:
            # Each step may open a ticket; a budget running dry mid-walk would make the walks flaky.
            walks = min(walks, left // steps)
            if walks < 1:
                raise SkipRule(f"the creation budget left ({left}) is too small for a walk of {steps} steps")
        machine = walk_machine(ctx, rule)
        test = get_state_machine_test(
            machine,
            settings=settings(
                max_examples=walks,
                stateful_step_count=steps,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: every step is a live request
                suppress_health_check=list(HealthCheck),
                report_multiple_bugs=False,
            ),
        )
        try:
            hypothesis_seed(ctx.seed)(test)()
        except Violated as found:
            steps = "\n".join(machine.last_steps)
            rule.violate(
                found.message, *found.exchanges, breaks=found.breaks, details=f"steps of the failing walk:\n{steps}"
            )


def walk_machine(ctx: Context, walks: Rule) -> Any:
    lifecycle = ctx.contract.lifecycle
    log: list[str] = []

    class LifecycleWalk(RuleBasedStateMachine):
        """Tickets the model knows the state of; every move is checked against the model."""

        tickets = Bundle("tickets")
        last_steps = log

        def __init__(self) -> None:
            super().__init__()
            self.model: dict[str, tuple[str, str]] = {}  # ticketId -> (mirrorKey, state)
            log.clear()

        @rule(target=tickets)
        def open_ticket(self) -> str:
            ticket_id, key = ctx.open_ticket()
            self.model[ticket_id] = (key, lifecycle.initial)
            log.append(f"open {ticket_id}")
            return ticket_id

        @rule(
            ticket_id=tickets,
            requested=st.sampled_from(lifecycle.states),
            side=st.sampled_from(sides(ctx)),
            with_entry_fields=st.booleans(),
        )
        def move(self, ticket_id: str, requested: str, side: str, with_entry_fields: bool) -> None:
            key, current = self.model[ticket_id]
            exchange = ctx.move(ticket_id, key, requested, side, with_entry_fields=with_entry_fields)
            needs = lifecycle.entry_requirements(current, requested)
            ok = lifecycle.allows(current, requested, side) and (with_entry_fields or not needs)  # type: ignore[arg-type]
            edge = edge_covers(lifecycle, current, requested, side)[0]
            if edge not in walks.covers:
                walks.covers.append(edge)
            log.append(
                f"{side} moves {ticket_id} from {current} to {requested}"
                f"{'' if with_entry_fields else ' (no entry fields)'}: {exchange.status} (model: "
                f"{'allowed' if ok else 'refused'})"
            )
            if exchange.status != (200 if ok else 400):
                raise Violated(
                    f"{side} {current} -> {requested}: expected {200 if ok else 400}, got {exchange.status}",
                    exchange,
                    breaks=edge if not needs or with_entry_fields else entry_rule(requested),
                )
            expected = requested if ok else current
            state, read = ctx.state_of(ticket_id)
            if state != expected:
                raise Violated(
                    f"after {side} {current} -> {requested} the ticket is {state}, the model says {expected}",
                    exchange,
                    read,
                    breaks=edge if ok else "lifecycle.refusal-changes-nothing",
                )
            self.model[ticket_id] = (key, expected)

    return LifecycleWalk
