"""The task catalog: one YAML file per task under templates/, validated by a JSON schema.

Templates are data. Each file carries its metadata (family, domains, source, eval flag) and Jinja
templates rendered in a sandbox with StrictUndefined, so a template error names the task, the
template and the missing field instead of silently rendering an empty string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jinja2 import StrictUndefined, Template, TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from sciriff.io import DataError


class TaskFileError(ValueError):
    """A task YAML file is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class Task:
    """One SciRIFF task as declared in templates/<name>.yaml."""

    name: str
    version: int
    family: str
    task_type: str
    domains: tuple[str, ...]
    source_type: str
    input_context: str
    output_context: str
    eval: bool
    source: dict[str, Any]
    templates: tuple[dict[str, str], ...]
    filter: str | None
    path: Path

    @property
    def source_name(self) -> str:
        """The source dataset this task reads (its folder under data/sample); `ingest.source` in params.yaml
        says instead where every task's data is read from (sample, local, hub)."""
        return self.source["name"]

    def metadata(self) -> dict[str, Any]:
        """The `metadata` block of a rendered instance, as in the released SciRIFF data, whose `task_family`
        field holds what the task files call `task_type` (e.g. `ie.named_entity_recognition`)."""
        return {
            "task": self.name,
            "task_family": self.task_type,
            "domains": list(self.domains),
            "source_type": self.source_type,
            "input_context": self.input_context,
            "output_context": self.output_context,
            "eval": self.eval,
            "template_version": self.version,
        }


@cache
def _schema() -> dict:
    return json.loads(resources.files("sciriff").joinpath("schemas/task.schema.json").read_text())


@cache
def jinja_env() -> ImmutableSandboxedEnvironment:
    """Sandboxed environment: templates cannot touch Python internals; missing fields raise."""
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=False)
    tojson = env.filters["tojson"]
    env.filters["tojson"] = lambda eval_ctx, value, indent=None: tojson(eval_ctx, _defined(value), indent)
    env.filters["tojson"].jinja_pass_arg = tojson.jinja_pass_arg
    # `jsondumps` keeps key order (Jinja's `tojson` sorts keys and HTML-escapes <, >, &, ')
    env.filters["jsondumps"] = lambda value: json.dumps(_defined(value))
    return env


@cache
def _compiled(source: str) -> Template:
    """Compile each template once: recompiling per instance dominated render time (~90%)."""
    return jinja_env().from_string(source)


@cache
def _compiled_expression(source: str) -> Any:
    return jinja_env().compile_expression(source)


def _defined(value: Any) -> Any:
    """Raise UndefinedError for a missing field nested in a value about to be serialized to JSON."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, dict):
        for item in value.values():
            _defined(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _defined(item)
    return value


def load_task(path: str | Path) -> Task:
    """Load and validate one task file; errors name the file and the offending key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise TaskFileError(f"{path}: invalid YAML: {err}") from None
    if not isinstance(data, dict):
        raise TaskFileError(f"{path}: expected a mapping at the top level")
    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        key = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise TaskFileError(f"{path}: key '{key}': {err.message}")
    if data["name"] != path.stem:
        raise TaskFileError(f"{path}: key 'name': '{data['name']}' must equal the file name '{path.stem}'")
    env = jinja_env()
    for index, template in enumerate(data["templates"]):
        for part in ("prompt", "answer"):
            try:
                env.parse(template[part])
            except TemplateError as err:
                raise TaskFileError(f"{path}: key 'templates.{index}.{part}': Jinja syntax error: {err}") from None
    return Task(
        name=data["name"],
        version=data["version"],
        family=data["family"],
        task_type=data["task_type"],
        domains=tuple(data["domains"]),
        source_type=data["source_type"],
        input_context=data["input_context"],
        output_context=data["output_context"],
        eval=data["eval"],
        source=data["source"],
        templates=tuple(data["templates"]),
        filter=data.get("filter"),
        path=path,
    )


def load_catalog(templates_dir: str | Path = "templates") -> dict[str, Task]:
    """All task files in a directory, keyed by name, in sorted order."""
    templates_dir = Path(templates_dir)
    paths = sorted(templates_dir.glob("*.yaml"))
    if not paths:
        raise TaskFileError(f"{templates_dir}: no task files (*.yaml) found")
    return {task.name: task for task in map(load_task, paths)}


def select_tasks(catalog: dict[str, Task], names: list[str] | str, key: str) -> list[Task]:
    """Resolve a params list of task names ('all' for every task); unknown names fail naming `key`."""
    if names == "all":
        return list(catalog.values())
    unknown = [name for name in names if name not in catalog]
    if unknown:
        raise TaskFileError(f"params.yaml: {key}: unknown task(s) {unknown}; available: {sorted(catalog)}")
    return [catalog[name] for name in sorted(set(names))]


def render_instance(task: Task, fields: dict[str, Any], template_index: int = 0) -> tuple[str, str]:
    """Render one instance into (input, output); errors name task, template and instance id."""
    template = task.templates[template_index]
    where = f"task {task.name}, template {template_index}, instance {fields.get('id', '?')}"
    try:
        prompt = _compiled(template["prompt"]).render(**fields).strip()
        answer = _compiled(template["answer"]).render(**fields).strip()
    except (TemplateError, OverflowError) as err:  # the sandbox raises OverflowError for huge ranges
        raise DataError(f"{where}: {type(err).__name__}: {err}") from None
    if not prompt:
        raise DataError(f"{where}: the rendered input is blank")
    if not answer:
        raise DataError(f"{where}: the rendered output is blank")
    if task.output_context == "json":
        _check_json(answer, where)
    elif task.output_context == "jsonlines":
        for lineno, line in enumerate(answer.splitlines(), start=1):
            _check_json(line, f"{where}, output line {lineno}")
    return prompt, answer


def keep_instance(task: Task, fields: dict[str, Any]) -> bool:
    """Evaluate the task's optional `filter` expression on the record's fields."""
    if not task.filter:
        return True
    try:
        return bool(_compiled_expression(task.filter)(**fields))
    except (TemplateError, OverflowError) as err:
        raise DataError(f"task {task.name}, filter, instance {fields.get('id', '?')}: {err}") from None


def _check_json(text: str, where: str) -> None:
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{where}: the rendered output is not valid JSON ({err.msg})") from None
