"""Pinned sources: which data ingest read, recorded in data/raw/sources.json (tracked by DVC with it).

A hub revision such as `main` moves under the same name. Ingest resolves every hub revision to its
commit sha before loading (and loads that sha), records the requested name beside the sha, and warns
when a branch or tag name was given instead of a sha; `sciriff tasks pin` then writes the shas back
into the task files. Bundled and local sources are recorded with their path and a content hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any, Protocol

import yaml

from sciriff.io import DataError, atomic_path

log = logging.getLogger(__name__)

SHA = re.compile(r"[0-9a-f]{40}")
MANIFEST = "sources.json"


class Hub(Protocol):
    """What resolution needs from huggingface_hub.HfApi: `dataset_info(id, revision=...).sha`."""

    def dataset_info(self, repo_id: str, *, revision: str | None = None) -> Any: ...


def content_hash(path: str | Path) -> str:
    """sha256 over a file, or over a directory's files (relative path and content, sorted)."""
    path = Path(path)
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if not path.is_dir():
        raise DataError(f"{path}: source directory not found")
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}\0{hashlib.sha256(file.read_bytes()).hexdigest()}\n"
                      .encode())
    return digest.hexdigest()


class SourceLedger:
    """Resolves hub revisions (once per id and revision) and collects the manifest entries of one ingest run."""

    def __init__(self, hub: Hub | None = None) -> None:
        self._hub = hub
        self._resolved: dict[tuple[str, str], str] = {}
        self.entries: dict[str, dict[str, Any]] = {}

    def resolve(self, repo_id: str, revision: str, where: str) -> str:
        """The commit sha of `repo_id` at `revision`; `where` (a task file or params key) names the request."""
        if SHA.fullmatch(revision):
            return revision
        log.warning("%s: revision %r of %s is a branch or tag name, not a 40-hex commit sha; loading the commit it "
                    "resolves to now (recorded in data/raw/%s; `sciriff tasks pin` writes it back)",
                    where, revision, repo_id, MANIFEST)
        key = (repo_id, revision)
        if key not in self._resolved:
            try:
                info = self._api().dataset_info(repo_id, revision=revision)
            except Exception as err:  # noqa: BLE001 - any hub failure: say which request failed
                raise DataError(f"{where}: cannot resolve revision {revision!r} of dataset {repo_id!r} on the "
                                f"Hugging Face hub: {type(err).__name__}: {err}") from None
            sha = getattr(info, "sha", None)
            if not isinstance(sha, str) or not SHA.fullmatch(sha):
                raise DataError(f"{where}: the hub returned no commit sha for {repo_id!r} at {revision!r} "
                                f"(got {sha!r})")
            self._resolved[key] = sha
        return self._resolved[key]

    def _api(self) -> Hub:
        if self._hub is None:
            from huggingface_hub import HfApi

            self._hub = HfApi()
        return self._hub

    def hub(self, name: str, spec: dict[str, Any], where: str, tasks: dict[str, str] | None = None) -> str:
        """Resolve and record a hub source ({id, revision, subset?}); returns the sha to load."""
        sha = self.resolve(spec["id"], spec["revision"], where)
        entry = {"kind": "hf", "id": spec["id"], "subset": spec.get("subset"), "requested_revision": spec["revision"],
                 "resolved_sha": sha}
        self.entries[name] = {**entry, **({"tasks": tasks} if tasks is not None else {})}
        return sha

    def local(self, name: str, kind: str, path: str | Path, tasks: dict[str, str] | None = None) -> None:
        """Record a bundled or local source by its path and content hash."""
        entry = {"kind": kind, "path": Path(path).as_posix(), "sha256": content_hash(path)}
        self.entries[name] = {**entry, **({"tasks": tasks} if tasks is not None else {})}

    def write(self, directory: Path, ingest_source: str) -> None:
        """data/raw/sources.json: {"ingest_source", "sources": {name: entry}} with sorted keys."""
        document = {"ingest_source": ingest_source, "sources": self.entries}
        (directory / MANIFEST).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# --- `sciriff tasks pin` -----------------------------------------------------------------------------


def set_revision(text: str, sha: str, where: str) -> str:
    """Replace the value of `source.hf.revision` in a task file's text, leaving every other byte as it is."""
    node = yaml.compose(text)
    for key in ("source", "hf", "revision"):
        found = None
        if isinstance(node, yaml.MappingNode):
            found = next((value for k, value in node.value if getattr(k, "value", None) == key), None)
        if found is None:
            raise DataError(f"{where}: no source.hf.revision to pin")
        node = found
    value = sha if yaml.safe_load(sha) == sha else f'"{sha}"'  # an all-digit sha would load as a number
    return text[: node.start_mark.index] + value + text[node.end_mark.index :]


def pin_task_files(manifest_path: str | Path, templates_dir: str | Path) -> list[tuple[str, str, str]]:
    """Write each hub source's resolved sha into its task files; returns (file, old, new) per changed file."""
    from sciriff.catalog import load_catalog, load_task

    manifest_path = Path(manifest_path)
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{manifest_path}: no source manifest (run `sciriff ingest` with ingest.source: hf)")
    entries = json.loads(manifest_path.read_text(encoding="utf-8")).get("sources", {})
    catalog = load_catalog(templates_dir)
    changed = []
    for name, entry in sorted(entries.items()):
        if entry.get("kind") != "hf":
            continue
        for task_name in sorted(entry.get("tasks", {})):
            if task_name not in catalog:
                raise DataError(f"{manifest_path}: source {name}: task {task_name!r} has no file in {templates_dir}/")
            task = catalog[task_name]
            hf = task.source.get("hf") or {}
            current = hf.get("revision")
            if (hf.get("id"), hf.get("subset")) != (entry["id"], entry["subset"]) or current not in (
                    entry["requested_revision"], entry["resolved_sha"]):
                raise DataError(f"{task.path}: source.hf is {hf} but {manifest_path} recorded {entry['id']} "
                                f"(subset {entry['subset']}) at {entry['requested_revision']!r}: the task file "
                                "changed since ingest; run ingest again before pinning")
            if current == entry["resolved_sha"]:
                continue
            text = task.path.read_bytes().decode("utf-8")  # bytes: line endings stay as they are
            with atomic_path(task.path) as tmp:
                tmp.write_bytes(set_revision(text, entry["resolved_sha"], str(task.path)).encode("utf-8"))
            if load_task(task.path).source["hf"]["revision"] != entry["resolved_sha"]:
                raise DataError(f"{task.path}: pinning did not take effect")  # pragma: no cover - a guard
            changed.append((str(task.path), current, entry["resolved_sha"]))
    return changed
