"""dvc.yaml lineage is complete: a stage depends on every package module its command imports.

Without this, editing a helper module (io.py's seeding, params.py's defaults) leaves `dvc status`
reporting "up to date" over stale outputs. The imports are read from the source (ast), transitively:
the CLI's module-level imports plus the stage's `cmd_*` function, then everything those modules import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from sciriff.params import load_params

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"


def _module_file(module: str) -> Path | None:
    base = SRC / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports(nodes: list[ast.AST]) -> set[str]:
    found: set[str] = set()
    for tree in nodes:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sciriff"):
                found.add(node.module)
                found |= {f"{node.module}.{alias.name}" for alias in node.names
                          if _module_file(f"{node.module}.{alias.name}")}
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name.startswith("sciriff")}
    return {m for m in found if _module_file(m)}


def stage_modules(command: str) -> set[Path]:
    """Source files a `sciriff <subcommand>` run can import."""
    cli = ast.parse((SRC / "sciriff" / "cli.py").read_text())
    function = "cmd_" + command.split()[1].replace("-", "_")
    body = [n for n in cli.body if isinstance(n, ast.FunctionDef) and n.name == function]
    assert body, f"cli.py has no {function}"
    todo = _imports([n for n in cli.body if isinstance(n, (ast.Import, ast.ImportFrom))] + body)
    seen = {"sciriff.cli", "sciriff"}
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parents = [".".join(module.split(".")[:i]) for i in range(2, len(module.split(".")))]
        todo |= _imports([ast.parse(_module_file(module).read_text())]) | set(parents)
    return {_module_file(m).relative_to(REPO) for m in seen}


def _stages() -> list[tuple[str, str, list[str]]]:
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    models = load_params(REPO / "params.yaml").models
    out = []
    for name, body in dvc.items():
        if "foreach" in body:
            for key, item in models.items():
                deps = [d.replace("${key}", key).replace("${item}", item) for d in body["do"]["deps"]]
                out.append((f"{name}@{key}", body["do"]["cmd"], deps))
        else:
            out.append((name, body["cmd"], body.get("deps", [])))
    return out


@pytest.mark.parametrize(("stage", "command", "deps"), _stages(), ids=[s[0] for s in _stages()])
def test_stage_depends_on_every_module_it_imports(stage: str, command: str, deps: list[str]) -> None:
    covered = [Path(d.split("#")[0].strip()) for d in deps]
    missing = sorted(str(f) for f in stage_modules(command)
                     if not any(f == d or d in f.parents for d in covered))
    assert not missing, f"dvc.yaml stage {stage}: add these imported modules to deps: {missing}"


def test_the_import_walk_follows_function_level_imports() -> None:
    files = {str(f) for f in stage_modules("sciriff score --model x")}
    assert {"src/sciriff/cli.py", "src/sciriff/params.py", "src/sciriff/io.py",
            "src/sciriff/evaluation/judge.py", "src/sciriff/tracking.py"} <= files
    assert "src/sciriff/finetune.py" not in files


def _outputs(body: dict) -> list[tuple[str, dict]]:
    stage = body.get("do", body)
    entries = [e for kind in ("outs", "metrics", "plots") for e in stage.get(kind, [])]
    return [next(iter(e.items())) for e in entries if isinstance(e, dict)]


def test_outputs_kept_in_git_survive_a_failed_rerun() -> None:
    """DVC deletes a stage's outputs before running it; a `cache: false` one could then not come back."""
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    lost = [f"{stage}: {path}" for stage, body in dvc.items() for path, flags in _outputs(body)
            if flags and flags.get("cache") is False and not flags.get("persist")]
    assert not lost, f"dvc.yaml: add `persist: true` to these `cache: false` outputs: {lost}"


def test_compare_follows_every_model_in_params() -> None:
    """compare reads each model's outputs from folders it depends on whole, not from a list of models."""
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    deps = {d.split("#")[0].strip() for d in dvc["compare"]["deps"]}
    assert not any("baseline" in d or "scitulu" in d for d in deps), "no model is named in compare's deps"
    read_by_compare = {"score": "data/scores/${key}", "general_score": "data/general/scores/${key}",
                       "sciinstruct_eval": "metrics/sciinstruct/${key}.json"}
    for stage, path in read_by_compare.items():
        produced = [p for p, _ in _outputs(dvc[stage])] + [o for o in dvc[stage]["do"].get("outs", [])
                                                         if isinstance(o, str)]
        assert path in produced, f"dvc.yaml: {stage} no longer writes {path}"
        assert any(path.startswith(dep + "/") for dep in deps), f"compare does not cover {stage}'s {path}"


def test_mlflow_lineage_deps_are_dvcs_resolution_of_each_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    """tracking.stage_deps asks DVC: foreach items and ${...} params resolved, params.yaml not a path dep."""
    from sciriff.tracking import stage_deps

    monkeypatch.chdir(REPO)
    reference = load_params(REPO / "params.yaml").score.reference_model
    for stage, _, deps in _stages():
        expected = [d.split("#")[0].strip().replace("${score.reference_model}", reference) for d in deps]
        assert stage_deps(stage) == expected, stage
    assert stage_deps("no_such_stage") == []
