"""What one `score_task` call shares with the task scorers and the judge prompts.

Kept apart from the registry (`tasks`) so that the scorers and judge prompts can use the run state
without importing the registry that imports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sciriff.evaluation.parsing import Compat

if TYPE_CHECKING:
    from sciriff.evaluation.official_prompts import OfficialPrompts

SETTINGS = ("valid_json", "all")  # the official code evaluates valid_json first
SettingIndices = dict[str, list[int]]  # setting name -> its instance indices ({} for the free-text tasks)
Result = tuple[dict, dict]  # (flat metrics, summary)


class Judge(Protocol):
    """An LM judge client (the real one lives in sciriff.evaluation.judge)."""

    name: str  # the judge model's name, reported with the scores

    def complete(self, prompts: Sequence[str]) -> list[str | None]:
        """Raw reply per prompt, in order; None where the call failed."""
        ...


@dataclass
class ScoringRun:
    """What one scoring call shares between the pipeline, the task scorer and the judge prompts."""

    task: str
    compat: Compat
    judge: Judge | None
    details: list[dict]
    warnings: list[str] = field(default_factory=list)
    errors: dict[str, list[int | None]] = field(default_factory=dict)
    judge_used: str | None = None
    prompts: OfficialPrompts | None = None  # None: the project's judge prompts

    @property
    def corrected(self) -> bool:
        return self.compat == "corrected"

    def official_error(self, index: int | None, reason: str) -> None:
        """Record a condition that makes the official scorer abort the task (scored anyway here)."""
        self.errors.setdefault(reason, []).append(index)
        if index is not None:
            self.details[index].setdefault("official_errors", []).append(reason)
