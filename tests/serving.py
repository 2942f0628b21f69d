"""Serving the mock for a test: now in mockserver.testing, where integrators can import it too."""

from __future__ import annotations

import subprocess
import sys

from mockserver.testing import QuietHandler, ServedMock, free_port, served

__all__ = ["QuietHandler", "ServedMock", "free_port", "mint", "served"]


def mint(sub: str) -> str:
    """A token a served mock accepts, from the mock's own `token` command (same secret resolution)."""
    command = [sys.executable, "-m", "mockserver", "token", "--sub", sub]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
