"""Before any rule: is this the endpoint, are these the tokens, is there a hook when asked?

Setup mistakes are not provider bugs. A refused token, a base URL without the API's paths, an
endpoint that answers nothing or a missing TO hook stop the run with exit 2 and a plain message,
before a single rule is judged. The ticket made here (or the one given in read-only mode)
becomes the monitor's canary: a GET that worked, asked again when the provider seems to fail.
"""

from __future__ import annotations

import requests

from contracts.context import Context
from contracts.transport import Exchange, RunHalted


class SetupError(Exception):
    """The run cannot start; the message says what to fix."""


def check(ctx: Context) -> None:
    """Raise SetupError unless the endpoint and the tokens are usable; set the monitor's canary."""
    contract, client, config = ctx.contract, ctx.client, ctx.config
    # Is anything there at all? A GET: it changes nothing, and any answer will do.
    probe = client.get(contract.ticket_path(config.ticket_ids[0] if config.ticket_ids else ctx.unknown_ticket_id()))
    _refuse_setup(probe, f"GET {contract.item_path}", "$TT_TOKEN")
    if config.read_only:
        path = contract.ticket_path(config.ticket_ids[0])
        found = client.get(path)
        _refuse_setup(found, f"GET {path}", "$TT_TOKEN")
        if found.status == 404:
            raise SetupError(
                f"GET {found.url} answered 404: no ticket {config.ticket_ids[0]} for this token, "
                "or the base URL's path is not the API's (--ticket-id names a ticket of tenant A's)"
            )
    else:
        body = contract.example_create(client.keys.fresh(), **{contract.names.dialog: "contract suite pre-flight"})
        created = client.create(contract.collection_path, body)
        _refuse_setup(created, f"POST {contract.collection_path}", "$TT_TOKEN")
        if created.status in (404, 405):
            raise SetupError(
                f"POST {created.url} answered {created.status}: the base URL has no {contract.collection_path}. "
                "Check its path prefix (give the URL the API's paths hang from)."
            )
        answer = created.response_json
        ticket_id = answer.get(contract.names.ticket_id) if isinstance(answer, dict) else None
        if created.status != 201 or not isinstance(ticket_id, str):
            # A provider bug, not a setup mistake (the GET above was answered): the layers report it.
            ctx.progress.write(f"pre-flight: a create from the page's example got {created.answer(200)}")
            return
        path = contract.ticket_path(ticket_id)
    if "b" in client.tokens:
        theirs = client.get(path, token="b")
        _refuse_setup(theirs, f"GET {path}", "$TT_TOKEN_B")
    if config.to_hook and not config.read_only:
        state = ctx.state_of(ticket_id)[0] or contract.lifecycle.initial
        hook = client.send(
            "POST",
            ctx.hook_path(ticket_id),
            json_body={contract.names.state: state, contract.names.dialog: "contract suite pre-flight (TO hook)"},
        )
        if hook.status in (404, 405):
            raise SetupError(
                f"--to-hook was given but POST {hook.url} answered {hook.status}: the provider has no TO "
                f"transition hook under {config.hook_prefix} (set --hook-prefix, or drop --to-hook)"
            )
    _set_canary(ctx, client.base_url + path)


def _refuse_setup(exchange: Exchange, what: str, token: str) -> None:
    if exchange.error and "GET" in what:  # nothing answers there: a setup mistake (or a dead provider)
        raise RunHalted(f"{exchange.url} did not answer: {exchange.error}", exit_code=2)
    if exchange.status in (401, 403):
        raise SetupError(
            f"{what} answered {exchange.status}: the provider refuses the token in {token} "
            f"({exchange.response_text[:200].strip() or 'no message'}). "
            "Check the token, or the secret it was minted with."
        )
    if exchange.status is not None and 300 <= exchange.status < 400:
        raise SetupError(
            f"{what} was redirected ({exchange.status}) to {exchange.response_headers.get('Location', '?')}: "
            "give that URL as --base-url"
        )


def _set_canary(ctx: Context, url: str) -> None:
    session = requests.Session()  # not the guarded one: probing must not count, wait or recurse
    headers = {"Authorization": f"Bearer {ctx.client.tokens['a']}"}

    def probe() -> int | None:
        try:
            return session.get(url, headers=headers, timeout=3, allow_redirects=False).status_code
        except requests.RequestException:
            return None

    ctx.adapter.monitor.set_probe(probe)
