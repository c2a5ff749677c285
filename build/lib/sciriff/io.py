"""File helpers shared by every stage: JSONL with line-numbered errors, atomic and deterministic writes.

Every data output goes through `atomic_path`/`write_jsonl`, so an interrupted stage never leaves a
half-written file that looks finished, and the same records always give the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


class DataError(ValueError):
    """Bad input data; the message names the file and line (or task and instance)."""


def stable_seed(*parts: object) -> int:
    """A seed derived from strings through SHA-256: the same in every process (unlike `hash()`)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def dumps(record: Any) -> str:
    """Canonical JSON for data outputs: sorted keys, no ASCII escaping, one line."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


def read_jsonl(path: str | Path) -> Iterator[dict]:
    """Yield records of a JSONL file; a malformed line raises DataError naming file and line."""
    for _, record in read_jsonl_numbered(path):
        yield record


def read_jsonl_numbered(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield (line number, record) pairs, so later errors can name the line too."""
    path = Path(path)
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataError(f"{path}:{lineno}: not valid UTF-8 (byte {err.start}: {raw[err.start:err.start + 1]!r})"
                                ) from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}:{lineno}: invalid JSON ({err.msg})") from None
            if not isinstance(record, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}")
            yield lineno, record


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling path; on success it replaces `path` (file or directory) in one rename.

    The temporary lives in a `.<name>.partial-*` directory (git-ignored); ones a killed run left behind
    for the same path are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent)) / path.name
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)


def write_jsonl(path: str | Path, records: Iterable[dict]) -> int:
    """Write records atomically as canonical JSONL; returns the number written."""
    count = 0
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(dumps(record) + "\n")
            count += 1
    return count


def write_json(path: str | Path, data: Any) -> None:
    """Write one JSON document atomically (sorted keys, indented); NaN/inf become null (valid JSON)."""
    with atomic_path(path) as tmp:
        text = json.dumps(_finite(data), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
        tmp.write_text(text + "\n", encoding="utf-8")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json(path: str | Path) -> Any:
    """Read one JSON document; a parse error names the file."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: invalid JSON ({err.msg}, line {err.lineno})") from None
