"""SciReviewGen (HF kejian/SciReviewGen; Kasanishi et al. 2023): write a literature-review chapter.

One record is one chapter of a survey paper, in the dataset's summarization shape: `reference` and
`target`. `reference` concatenates one chunk per cited paper, each
"<review title> <s> <chapter title> <s> <abstract of the cited paper> <s> BIBnnn </s>", and `target`
is the chapter text, which cites the input papers by their BIBnnn labels. The records carry no id:
the instance id is a short SHA-256 digest of reference and target. Chunks with an empty abstract are
left out.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sciriff.adapters import adapter, require

LABEL = re.compile(r"BIB\d+")


def _papers(reference: str) -> tuple[str, str, list[dict[str, str]]]:
    review_title = chapter_title = ""
    papers: list[dict[str, str]] = []
    for chunk in reference.split("</s>"):
        if not chunk.strip():
            continue
        parts = [" ".join(part.split()) for part in chunk.split("<s>")]
        if len(parts) != 4 or not LABEL.fullmatch(parts[3]):
            raise ValueError(f"reference chunk is not 'review <s> chapter <s> abstract <s> BIBnnn': {chunk[:60]!r}")
        review, chapter, abstract, label = parts
        review_title, chapter_title = review_title or review, chapter_title or chapter
        if abstract:
            papers.append({"label": label, "abstract": abstract})
    return review_title, chapter_title, papers


@adapter("scireviewgen")
def scireviewgen(record: dict[str, Any]) -> dict[str, Any]:
    reference, target = require(record, "reference", "target")
    if not isinstance(reference, str) or not isinstance(target, str) or not target.strip():
        raise ValueError("'reference' and 'target' must be strings, 'target' non-empty")
    review_title, chapter_title, papers = _papers(reference)
    if not papers:
        raise ValueError("no cited paper has an abstract")
    if not review_title:
        raise ValueError("the reference gives no literature review title")
    paragraphs = [" ".join(line.split()) for line in target.split("\n") if line.strip()]
    return {
        "id": hashlib.sha256(f"{reference}\n{target}".encode()).hexdigest()[:16],
        "review_title": review_title,
        "chapter_title": chapter_title,
        "papers": papers,
        "target": "\n".join(paragraphs),
    }
