"""The mock against a plain model of tickets and their lifecycle, driven by Hypothesis."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from mockserver import MockConfig, create_app
from spec import lifecycle as lifecycle_module
from tests.support import CLOSE_OUT, SECRET, Api, create_body

LIFECYCLE = lifecycle_module.load()
TENANTS = ("TU-A", "TU-B")


@dataclass
class ModelTicket:
    ticket_id: str
    tenant: str
    mirror_key: str
    state: str
    dialog: str
    customer: object


class MockAgainstModel(RuleBasedStateMachine):
    """Every answer of the mock must be the one the model predicts."""

    tickets = Bundle("tickets")

    def __init__(self) -> None:
        super().__init__()
        app = create_app(MockConfig(jwt_secret=SECRET))
        client = app.test_client()
        self.api = {tenant: Api(client, tenant, LIFECYCLE) for tenant in TENANTS}
        self.model: dict[str, ModelTicket] = {}
        self.keys: dict[tuple[str, str], str] = {}

    @rule(
        target=tickets,
        tenant=st.sampled_from(TENANTS),
        key=st.sampled_from(["K1", "K2", "K3"]),
        dialog=st.text(max_size=20),
    )
    def create(self, tenant: str, key: str, dialog: str):
        response = self.api[tenant].create(create_body(mirrorKey=key, dialog=dialog))
        existing = self.keys.get((tenant, key))
        if existing:
            assert response.status_code == 400
            assert existing in response.get_json()["illegalArgumentException"]
            return existing
        assert response.status_code == 201, response.get_json()
        ticket_id = response.get_json()["ticketId"]
        assert ticket_id not in self.model
        self.model[ticket_id] = ModelTicket(ticket_id, tenant, key, LIFECYCLE.initial, dialog, "string")
        self.keys[(tenant, key)] = ticket_id
        return ticket_id

    @rule(
        ticket_id=tickets,
        requested=st.sampled_from(LIFECYCLE.states),
        side=st.sampled_from(["TU", "TO"]),
        caller=st.sampled_from(TENANTS),
        close_out=st.booleans(),
        customer=st.none() | st.integers(0, 10**20),
    )
    def move(
        self, ticket_id: str, requested: str, side: str, caller: str, close_out: bool, customer: int | None
    ) -> None:
        ticket = self.model[ticket_id]
        target = requested
        extra = dict(CLOSE_OUT) if close_out else {}
        if customer is not None:
            extra["customer"] = customer
        dialog = f"{caller} asks for {target}"
        response = self.api[caller].move(ticket_id, ticket.mirror_key, target, side, dialog=dialog, **extra)
        needs = LIFECYCLE.entry_requirements(ticket.state, target)
        if caller != ticket.tenant:
            assert response.status_code == (400 if side == "TU" else 404)
            assert list(response.get_json()) == ["objectNotFoundException"]
        else:
            self._expect_outcome(response, ticket, target, side, needs, close_out, dialog, customer)

    def _expect_outcome(self, response, ticket, target, side, needs, close_out, dialog, customer) -> None:
        if not LIFECYCLE.allows(ticket.state, target, side):
            assert response.status_code == 400
            assert response.get_json()["illegalArgumentException"].startswith("baseTroubleTicketState:")
        elif needs and not close_out:
            assert response.get_json() == {"illegalArgumentException": "required fields: " + ",".join(needs)}
        else:
            assert response.status_code == 200, response.get_json()
            ticket.state, ticket.dialog = target, dialog
            if customer is not None:
                ticket.customer = customer

    @rule(ticket_id=tickets, caller=st.sampled_from(TENANTS))
    def read(self, ticket_id: str, caller: str) -> None:
        ticket = self.model[ticket_id]
        response = self.api[caller].get(ticket_id)
        if caller != ticket.tenant:
            assert response.status_code == 404
            return
        answer = response.get_json()
        assert (answer["baseTroubleTicketState"], answer["dialog"], answer["customer"]) == (
            ticket.state,
            ticket.dialog,
            ticket.customer,
        )

    @rule(ticket_id=consumes(tickets))
    def forget(self, ticket_id: str) -> None:
        """Let the bundle drop tickets, so runs also explore fresh ones."""

    @invariant()
    def ids_are_distinct_and_well_formed(self) -> None:
        assert all(tid.startswith("RED-") and len(tid) <= 15 for tid in self.model)

    def teardown(self) -> None:
        for ticket in self.model.values():
            answer = self.api[ticket.tenant].get(ticket.ticket_id).get_json()
            assert answer["baseTroubleTicketState"] == ticket.state


MockAgainstModel.TestCase.settings = settings(stateful_step_count=30)  # the rest from the Hypothesis profile
TestMockAgainstModel = MockAgainstModel.TestCase


def test_the_model_predicts_a_walk_to_closed() -> None:
    """A plain example of the machine's rules, readable without Hypothesis."""
    machine = MockAgainstModel()
    ticket_id = machine.create(tenant="TU-A", key="K1", dialog="hello")
    machine.move(ticket_id, "CLEARED", "TO", "TU-A", close_out=True, customer=None)
    machine.move(ticket_id, "CLOSED", "TU", "TU-A", close_out=False, customer=5)
    machine.read(ticket_id, "TU-A")
    assert machine.model[ticket_id].state == "CLOSED"
    machine.teardown()
