"""A run's settings, as the command line or a test gives them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec import LIFECYCLE_PATH, OPENAPI_PATH

LAYERS = ("schema", "boundaries", "roundtrip", "lifecycle", "auth", "protocol")
# A TU's mirror endpoint (--mirror) is checked by the same layers but the schema's: boundaries
# already derive every case of its one body from the spec (contracts.mirror).
MIRROR_LAYERS = ("boundaries", "roundtrip", "lifecycle", "auth", "protocol")
DEFAULT_MAX_EXAMPLES = 50
DEFAULT_MAX_CREATES = 1000
DEFAULT_PREFIX = "CT-"
DEFAULT_TIMEOUT = 15.0  # seconds for one request, all of it
DEFAULT_MAX_TIME = 1800.0  # seconds for the whole run
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class RunConfig:
    """Everything one run of the contract suite needs."""

    base_url: str
    token: str
    token_b: str | None = None
    to_hook: bool = False
    hook_prefix: str = "/_mock"
    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int | None = None
    junit_xml: Path | None = None
    report: Path | None = None
    html: Path | None = None
    rate_limit: str | None = None
    read_only: bool = False
    ticket_ids: tuple[str, ...] = ()
    max_creates: int | None = DEFAULT_MAX_CREATES
    mirror_key_prefix: str = DEFAULT_PREFIX
    layers: tuple[str, ...] = LAYERS
    timeout: float = DEFAULT_TIMEOUT
    max_time: float | None = DEFAULT_MAX_TIME
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    spec_path: Path = OPENAPI_PATH
    lifecycle_path: Path = LIFECYCLE_PATH
    strict: bool = False  # the mock's own choices fail the run too
    jwt_secret: str | None = None  # an HS256 secret the provider accepts, to mint tokens of the suite's own
    expired_token: str | None = None  # a token of tenant A's that has expired
    oauth_clients: dict[str, Any] = field(default_factory=dict)  # role -> tokens.OAuthClient
    cleanup: bool = True
    progress: bool = True
    mirror: bool = False  # check a TU's mirror endpoint (spec/mirror.yaml), playing the TO
    tu_hook: bool = False  # open mirror tickets and play the TU's moves through the mirror's test hook
