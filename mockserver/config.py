"""The mock's settings, with the defaults `make mock` runs on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spec import LIFECYCLE_PATH, MIRROR_PATH, OPENAPI_PATH, SCENARIOS_PATH

DEFAULT_DATA_DIR = ".tt-mock"  # the served mock's files: tickets, journal, locks
DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024
SERVERS = ("granian", "gunicorn")  # the first is the default
ROLES = ("to", "tu-mirror")  # the provider (the TO), or a TU's mirror endpoint; the first is the default


@dataclass(frozen=True)
class MockConfig:
    """Everything that shapes one mock instance; `create_app` reads nothing else."""

    db: str = ":memory:"
    jwt_secret: str | None = None  # None: $MOCK_JWT_SECRET, else the development default
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    journal_size: int = 200
    spec_path: Path = OPENAPI_PATH
    lifecycle_path: Path = LIFECYCLE_PATH
    seed_path: Path | None = None  # tickets made at start-up and again by each reset (--seed)
    faults_path: Path | None = None  # faults injected from start-up until cleared (--faults)
    cors_origins: tuple[str, ...] = ()  # browser origins the API answers (--cors); none by default
    # Host names answered to beyond IP literals and localhost (DNS rebinding guard); "*" for any.
    allowed_hosts: tuple[str, ...] = ()
    admin_token: str | None = None  # None: $MOCK_ADMIN_TOKEN, else the control API is open
    jwks: str | None = None  # a JWKS file or URL: tokens are checked against its keys, not the secret
    issuer: str | None = None  # required `iss` of every token, when set
    audience: str | None = None  # required among every token's `aud`, when set
    # The TO side (mockserver.toside): what the TO does on its own, its clock, the TUs' mirrors.
    scenario_path: Path | None = SCENARIOS_PATH  # --scenario; None: a TO that never moves on its own
    time_scale: float | None = None  # --time-scale; None leaves the stored clock's scale as it is
    mirrors: tuple[tuple[str, str], ...] = ()  # (tenant, base URL): --mirror TU-A=URL
    mirror_tokens: tuple[tuple[str, str], ...] = ()  # (tenant, environment variable): --mirror-token
    mirror_spec_path: Path = MIRROR_PATH  # the mirror's contract: the callbacks' path and body
    role: str = ROLES[0]  # what `tt-mock serve` serves: the provider, or a reference TU mirror
