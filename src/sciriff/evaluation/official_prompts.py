"""Judge prompts as the official allenai/SciRIFF evaluation code builds them, read from a local checkout.

The project ships none of the official wording, so its default judge prompts (`score.judge.prompts:
project`) are its own, and their ratings are not comparable with the paper's. With `prompts:
official`, the Qasper and MUP prompts come from the `make_prompt` functions in a checkout of
allenai/SciRIFF (`score.judge.official_checkout`). Each function is parsed, never imported or run (its
module opens an OpenAI client on import): the statements that build the returned variable are
followed (the f-string filled as Python fills it, branches taken on `eval_type`, the function's own
`.replace(...)` clean-up applied), with the title, question, excerpts and paper body extracted from
the model prompt exactly as the official code extracts them (sciriff.evaluation.judge_prompts). The result
is the official prompt byte for byte. The checkout is pinned: its git commit goes into the label
recorded with the scores (`official@<commit>`).
"""

from __future__ import annotations

import ast
import hashlib
import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

OFFICIAL_FILES = {  # task -> where the official evaluation code builds its judge prompt
    "qasper": "sciriff/eval/metrics/attributed_qa_eval.py",
    "mup": "sciriff/eval/metrics/summary_comparison.py",
}
FUNCTION = "make_prompt"
KEY = "score.judge.official_checkout"
MUP_EVAL_TYPE = "reference_comparison"  # the official MUP judge rates against the reference summary
_STR_METHODS = {"replace", "strip", "lstrip", "rstrip"}
_MARK = re.compile("\x00(\\d+)\x00")


class OfficialPromptError(ValueError):
    """The official prompt cannot be built from the checkout; the message names the path and the key."""


class _Unsupported(Exception):
    pass


@dataclass(frozen=True)
class PromptFunction:
    """One official `make_prompt`: its file and parsed body, run on the variables given to `build`."""

    path: Path
    function: ast.FunctionDef

    def build(self, variables: dict[str, Any], keep_inserted: bool = False) -> str:
        """The prompt the function returns for these variables.

        `keep_inserted` (compat `corrected`) shields the inserted values from the function's
        `.replace(...)` clean-up, which otherwise also deletes runs of spaces inside paper text.
        """
        inserted: list[str] | None = [] if keep_inserted else None
        prompt = _Reader(self.path, dict(variables), inserted).run(self.function.body)
        if prompt is None or not isinstance(prompt, str):
            raise OfficialPromptError(f"{self.path}:{self.function.lineno}: {FUNCTION} returns no string the reader "
                                      f"could follow ({KEY})")
        return prompt if inserted is None else _MARK.sub(lambda m: inserted[int(m.group(1))], prompt)


@dataclass(frozen=True)
class OfficialPrompts:
    """The two official judge prompts and the label recorded with the scores."""

    label: str
    qasper: PromptFunction
    mup: PromptFunction

    def qasper_prompt(self, model_prompt: str, gold: dict, pred: dict, title: str, question: str,
                      corrected: bool) -> str:
        instance = {"prompt": model_prompt, "ref": gold, "pred": pred}
        return self.qasper.build({"instance": instance, "title": title, "question": question,
                                  "excerpts": "\n".join(gold["evidence"])}, corrected)

    def mup_prompt(self, model_prompt: str, title: str | None, body: str | None, reference: str, summary: str,
                   corrected: bool) -> str:
        instance = {"prompt": model_prompt, "title": title, "body_text": body, "reference": reference,
                    "prediction": summary}
        return self.mup.build({"instance": instance, "eval_type": MUP_EVAL_TYPE}, corrected)


def judge_prompts_label(prompts: OfficialPrompts | None) -> str:
    """What the scores record: `project`, or `official@<commit>` of the checkout read."""
    return "project" if prompts is None else prompts.label


def load_judge_prompts(prompts: str, checkout: str | None) -> OfficialPrompts | None:
    """None for the project's prompts; the official ones from `checkout` for `official` (errors name the key)."""
    if prompts == "project":
        return None
    if prompts != "official":
        raise OfficialPromptError(f"params.yaml: score.judge.prompts: {prompts!r}; allowed: project, official")
    if not checkout:
        raise OfficialPromptError(f"params.yaml: {KEY}: required with score.judge.prompts: official "
                                  "(the path of a local checkout of allenai/SciRIFF)")
    root = Path(checkout)
    if not root.is_dir():
        raise OfficialPromptError(f"params.yaml: {KEY}: {root} is not a directory "
                                  "(a local checkout of allenai/SciRIFF)")
    functions = {task: _read_function(root, relative) for task, relative in OFFICIAL_FILES.items()}
    return OfficialPrompts(label=f"official@{checkout_pin(root)}", **functions)


def _read_function(root: Path, relative: str) -> PromptFunction:
    path = root / relative
    if not path.is_file():
        raise OfficialPromptError(f"params.yaml: {KEY}: {path} not found: {root} does not look like a checkout of "
                                  f"allenai/SciRIFF (the official judge prompt is built in {relative})")
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError) as err:
        raise OfficialPromptError(f"{path}: cannot be parsed ({err}); set by {KEY}") from None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == FUNCTION:
            return PromptFunction(path, node)
    raise OfficialPromptError(f"{path}: no top-level function {FUNCTION}() (checkout set by {KEY})")


def checkout_pin(root: Path) -> str:
    """The checkout's git commit (`+modified` if the prompt files differ from it), else a content hash."""
    files = list(OFFICIAL_FILES.values())

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
        except OSError:
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    commit = git("rev-parse", "HEAD") if top and Path(top).resolve() == root.resolve() else None
    if commit is None:
        digest = hashlib.sha256(b"".join(hashlib.sha256((root / f).read_bytes()).digest() for f in files))
        log.warning("%s (%s) is not a git checkout: the official prompts are recorded by content hash", root, KEY)
        return f"sha256:{digest.hexdigest()[:16]}"
    if git("status", "--porcelain", "--", *files):
        log.warning("%s: the official prompt files differ from commit %s (%s)", root, commit, KEY)
        return f"{commit}+modified"
    return commit


class _Reader:
    """Follows the statements of a prompt function that build its returned variable."""

    def __init__(self, path: Path, variables: dict[str, Any], inserted: list[str] | None) -> None:
        self.path, self.vars, self.inserted = path, variables, inserted

    def run(self, body: list[ast.stmt]) -> Any:
        for stmt in body:
            if isinstance(stmt, ast.Return):
                return self._value(stmt.value, stmt) if stmt.value is not None else None
            if isinstance(stmt, ast.If):
                try:
                    test = self.eval(stmt.test)
                except (_Unsupported, LookupError, TypeError):
                    if self._builds_prompt(stmt):
                        raise self._error(stmt, "a branch that builds the prompt depends on a test the reader "
                                                "cannot evaluate") from None
                    continue  # a check such as `if len(question) != 1: raise`, done by the project's extraction
                result = self.run(stmt.body if test else stmt.orelse)
                if result is not None:
                    return result
            elif isinstance(stmt, (ast.Assign, ast.AugAssign)) and self._targets(stmt) & {"prompt"}:
                value = self._value(stmt.value, stmt)
                self.vars["prompt"] = self.vars["prompt"] + value if isinstance(stmt, ast.AugAssign) else value
            elif self._builds_prompt(stmt):
                raise self._error(stmt, "the prompt is built by a statement the reader does not follow")
        return None

    @staticmethod
    def _targets(stmt: ast.stmt) -> set[str]:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
        return {t.id for t in targets if isinstance(t, ast.Name)}

    @staticmethod
    def _builds_prompt(stmt: ast.stmt) -> bool:
        return any(isinstance(n, ast.Name) and n.id == "prompt" and isinstance(n.ctx, ast.Store)
                   for n in ast.walk(stmt))

    def _value(self, node: ast.expr, stmt: ast.stmt) -> Any:
        try:
            return self.eval(node)
        except _Unsupported as err:
            raise self._error(stmt, str(err)) from None
        except (LookupError, TypeError) as err:
            raise self._error(stmt, f"{type(err).__name__}: {err}") from None

    def _error(self, stmt: ast.stmt, why: str) -> OfficialPromptError:
        return OfficialPromptError(f"{self.path}:{stmt.lineno}: cannot rebuild the official prompt from "
                                   f"{ast.unparse(stmt)[:80]!r}: {why} (checkout set by {KEY})")

    def eval(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(str(self.eval(part)) for part in node.values)
        if isinstance(node, ast.FormattedValue):
            value = self.eval(node.value)
            value = {115: str, 114: repr, 97: ascii}.get(node.conversion, lambda v: v)(value)
            inserted, self.inserted = self.inserted, None  # a format spec is template text
            spec = self.eval(node.format_spec) if node.format_spec is not None else ""
            self.inserted = inserted
            text = format(value, spec)
            if self.inserted is None:
                return text
            self.inserted.append(text)
            return f"\x00{len(self.inserted) - 1}\x00"
        if isinstance(node, ast.Name):
            if node.id not in self.vars:
                raise _Unsupported(f"variable {node.id!r} is not one the reader provides ({sorted(self.vars)})")
            return self.vars[node.id]
        if isinstance(node, ast.Subscript):
            return self.eval(node.value)[self.eval(node.slice)]
        if isinstance(node, ast.IfExp):
            return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not self.eval(node.operand)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = self.eval(node.left), self.eval(node.comparators[0])
            compare = {ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b, ast.Eq: lambda a, b: a == b,
                       ast.NotEq: lambda a, b: a != b, ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b}
            if type(node.ops[0]) in compare:
                return compare[type(node.ops[0])](left, right)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _STR_METHODS
                and not node.keywords):
            target = self.eval(node.func.value)
            if isinstance(target, str):
                return getattr(target, node.func.attr)(*(self.eval(arg) for arg in node.args))
        raise _Unsupported(f"{ast.unparse(node)!r} is not an expression the reader evaluates")
