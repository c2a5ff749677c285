"""Scientific lay summarisation (HF tomasg25/scientific_lay_summarisation, subsets elife and plos).

One record is one article (Goldsack et al. 2022), as the HF loader publishes it: `article` (one line
per section), `section_headings` (one line per section, parallel to `article`), `keywords` (one per
line), `title`, `year` and `summary`, the lay summary (eLife digest or PLOS author summary; its
paragraphs on separate lines). The records carry no id: the instance id is a short SHA-256 digest of
the title and the summary.

As in SciRIFF, only the abstract, introduction and discussion are shown (the full articles are far
too long). `complete` is false when the article lacks one of them or its headings do not line up
with its sections; the tasks drop such records with their filter. The text's tokenizer spacing
before closing punctuation ("cells , which") is undone.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sciriff.adapters import adapter, require

_SPACE_BEFORE = re.compile(r"\s+([,.;:!?)\]}])")
_SPACE_AFTER = re.compile(r"([(\[{])\s+")
KINDS = {
    "abstract": "abstract",
    "introduction": "introduction",
    "background": "introduction",
    "discussion": "discussion",
    "discussion and conclusions": "discussion",
    "discussion and conclusion": "discussion",
    "conclusions": "discussion",
    "conclusion": "discussion",
}


def _clean(text: str) -> str:
    return _SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", " ".join(text.split())))


def _core_sections(article: str, headings: str) -> list[dict[str, str]]:
    """The abstract, introduction and discussion in paper order, or [] when one is missing."""
    texts, names = article.split("\n"), headings.split("\n")
    if len(texts) != len(names):
        return []
    found: dict[str, dict[str, str]] = {}
    for name, text in zip(names, texts, strict=True):
        kind = KINDS.get(" ".join(name.lower().split()))
        if kind and kind not in found and text.strip():
            found[kind] = {"heading": " ".join(name.split()), "text": _clean(text)}
    if len(found) < 3:
        return []
    return list(found.values())


@adapter("lay_summarisation")
def lay_summarisation(record: dict[str, Any]) -> dict[str, Any]:
    article, headings, title, summary = require(record, "article", "section_headings", "title", "summary")
    for key, value in (("article", article), ("section_headings", headings), ("title", title), ("summary", summary)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"'{key}' must be a non-empty string")
    paragraphs = [_clean(line) for line in summary.split("\n") if line.strip()]
    sections = _core_sections(article, headings)
    title = _clean(title)
    digest = hashlib.sha256(f"{title}\n{paragraphs[0]}".encode()).hexdigest()[:16]
    return {
        "id": digest,
        "title": title,
        "sections": sections,
        "summary": "\n".join(paragraphs),
        "complete": bool(sections),
    }
