"""The mock's own data files (--seed, --faults): YAML, read as the contract reads its JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class _TextTimesLoader(yaml.SafeLoader):
    """YAML without its timestamp type: `at: 2025-01-16T09:00:00Z` stays the text the contract checks."""


_TextTimesLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: str | Path) -> Any:
    """A YAML (or JSON) file of the control API's data; ValueError names the file when it is not."""
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_TextTimesLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not YAML ({error})") from None
    except OSError as error:
        raise ValueError(f"{path}: cannot be read ({error.strerror})") from None
