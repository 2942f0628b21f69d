"""A stateful mock of the Trouble Ticket provider, enforcing spec/openapi.yaml."""

from mockserver.app import create_app
from mockserver.config import MockConfig

__all__ = ["MockConfig", "create_app"]
