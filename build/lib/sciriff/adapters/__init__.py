"""Source adapters: turn one record in a source dataset's own shape into the fields a template uses.

An adapter is a function `(record: dict) -> dict | list[dict]` registered with `@adapter("name")`.
Each returned dict is one instance: a string `id` (unique within its split) plus the fields the
task's Jinja templates use. A source record holding several instances (a paper with several
questions) returns a list; tasks sharing a source share its adapter. A malformed record raises
`ValueError` with a short reason; ingest adds the file and line. Modules in this package are
imported automatically.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

Adapter = Callable[[dict[str, Any]], "dict[str, Any] | list[dict[str, Any]]"]
ADAPTERS: dict[str, Adapter] = {}


def adapter(name: str) -> Callable[[Adapter], Adapter]:
    """Register an adapter under `name`; a duplicate name is an error."""

    def register(func: Adapter) -> Adapter:
        if name in ADAPTERS:
            raise ValueError(f"adapter '{name}' is registered twice ({ADAPTERS[name].__module__}, {func.__module__})")
        ADAPTERS[name] = func
        return func

    return register


def get_adapter(name: str) -> Adapter:
    """Look up an adapter by name; an unknown name lists the available ones."""
    if not ADAPTERS:
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")
    try:
        return ADAPTERS[name]
    except KeyError:
        raise KeyError(f"unknown adapter '{name}'; available: {sorted(ADAPTERS)}") from None


def require(record: dict[str, Any], *keys: str) -> list[Any]:
    """Fetch required keys from a record, raising ValueError naming the first missing or null one.

    A null is refused rather than passed on: `str(None)` would otherwise become the id "None".
    """
    missing = [key for key in keys if key not in record]
    if missing:
        raise ValueError(f"missing key '{missing[0]}' (record has {sorted(record)})")
    null = [key for key in keys if record[key] is None]
    if null:
        raise ValueError(f"key '{null[0]}' is null")
    return [record[key] for key in keys]
