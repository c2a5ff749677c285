"""Loaders for the shipped harness tasks: each reads the JSONL beside this file (no hub, any working directory)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _load(name: str) -> Any:
    import datasets

    rows = [json.loads(line) for line in (HERE / f"{name}.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def load_science_mc(**_: Any) -> Any:
    """sciriff_science_mc: {id, question, choices (4), answer (index)}."""
    return _load("sciriff_science_mc")


def load_arithmetic(**_: Any) -> Any:
    """sciriff_arithmetic: {id, question, answer (the final number, as a string)}."""
    return _load("sciriff_arithmetic")


def mc_prompt(doc: dict) -> str:
    """The question with its options listed, so an instruction model can copy the right one."""
    options = "\n".join(f"- {choice}" for choice in doc["choices"])
    return (f"Answer the science question with the correct option only.\nQuestion: {doc['question']}\n"
            f"Options:\n{options}")
