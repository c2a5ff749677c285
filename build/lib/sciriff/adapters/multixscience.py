"""Multi-XScience (HF multi_x_science_sum; Lu et al. 2020): write a related-work paragraph from abstracts.

One record is one arXiv paper, as the HF loader publishes it: `aid` (arXiv id), `mid` (MAG id),
`abstract`, `related_work` (the paper's related-work paragraph, citing with markers such as
"@cite_12") and `ref_abstract` = {cite_N: [marker, ...], mid: [...], abstract: [...]}, the cited
papers in parallel lists. Cited papers are numbered [1], [2], ... in list order and the markers in
the related work are rewritten to those numbers. `complete` is false when a marker names no listed
paper or a cited paper has no abstract; the task drops such records with its filter.
"""

from __future__ import annotations

import re
from typing import Any

from sciriff.adapters import adapter, require

MARKER = re.compile(r"@cite_\d+")
_SPACE_BEFORE = re.compile(r"(?<=\])\s+(?=[.,;:)])")  # "[2] ." as tokenized in the release -> "[2]."


@adapter("multixscience")
def multixscience(record: dict[str, Any]) -> dict[str, Any]:
    aid, abstract, related_work, refs = require(record, "aid", "abstract", "related_work", "ref_abstract")
    for key, value in (("abstract", abstract), ("related_work", related_work)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"'{key}' must be a non-empty string")
    if not isinstance(refs, dict) or not {"cite_N", "abstract"} <= set(refs):
        raise ValueError("'ref_abstract' must be {'cite_N': [...], 'mid': [...], 'abstract': [...]}")
    markers, ref_abstracts = refs["cite_N"], refs["abstract"]
    if not isinstance(markers, list) or not isinstance(ref_abstracts, list) or len(markers) != len(ref_abstracts):
        raise ValueError("'ref_abstract.cite_N' and 'ref_abstract.abstract' must be lists of equal length")
    if not markers:
        raise ValueError("the paper cites no reference")
    number = {marker: i for i, marker in enumerate(markers, start=1)}
    if len(number) != len(markers):
        raise ValueError("'ref_abstract.cite_N' repeats a marker")
    references = [{"n": i, "abstract": " ".join(str(text).split())} for i, text in enumerate(ref_abstracts, start=1)]
    cited = MARKER.findall(related_work)
    complete = all(m in number for m in cited) and all(ref["abstract"] for ref in references)
    rewritten = MARKER.sub(lambda m: f"[{number[m.group()]}]" if m.group() in number else m.group(), related_work)
    return {
        "id": str(aid),
        "abstract": " ".join(abstract.split()),
        "references": references,
        "related_work": _SPACE_BEFORE.sub("", " ".join(rewritten.split())),
        "complete": complete,
    }
