"""MSLR 2022 (HF allenai/mslr2022, subsets cochrane and ms2): conclude a systematic review from its trials.

One record is one review, as the HF loader publishes it: `review_id`, parallel lists `pmid`, `title`
and `abstract` (one entry per included study), `target` (the review's conclusion) and `background`
(the review's background statement, unused by the prompt). Studies without an abstract are left
out. The test split's targets are blind (empty), so the tasks skip that split (`skip_splits`).
"""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require


@adapter("mslr")
def mslr(record: dict[str, Any]) -> dict[str, Any]:
    review_id, pmids, titles, abstracts, target = require(record, "review_id", "pmid", "title", "abstract", "target")
    for key, value in (("pmid", pmids), ("title", titles), ("abstract", abstracts)):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValueError(f"'{key}' must be a list of strings")
    if not len(pmids) == len(titles) == len(abstracts):
        raise ValueError(f"{len(pmids)} pmids, {len(titles)} titles and {len(abstracts)} abstracts differ in number")
    studies = [
        {"title": " ".join(title.split()), "abstract": " ".join(abstract.split())}
        for title, abstract in zip(titles, abstracts, strict=True)
        if abstract.strip()
    ]
    if not studies:
        raise ValueError("no included study has an abstract")
    if not isinstance(target, str) or not target.strip():
        raise ValueError("'target' is empty (a blind test record?)")
    return {"id": str(review_id), "studies": studies, "target": " ".join(target.split())}
