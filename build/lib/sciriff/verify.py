"""`sciriff verify`: this project's SciRIFF-Eval table beside the paper's, column by column.

The paper's rows (with their sources) are committed as data in data/reference/paper_table.json. A
column whose difference exceeds the tolerance (the authors state results reproduce within about one
point) fails the check; columns the paper does not give, or this run did not compute, are shown and
skipped. The paper's second claim, "general ability within 2% of the starting model", is checked on
metrics/general/<model>.json: the lm-evaluation-harness retention ratio (this model's mean over the
reference model's) must not fall below 1 - tolerance; the benchmarks it used are printed. Exit status:
0 when every check run is within tolerance, 1 otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sciriff.io import DataError, read_json

PAPER_TABLE = Path("data/reference/paper_table.json")


def compare_with_paper(headline: dict[str, Any], paper: dict[str, Any], row: str,
                       tolerance: float) -> list[dict[str, Any]]:
    """One entry per paper column: ours, the paper's, the difference and whether it is within tolerance."""
    if row not in paper["rows"]:
        raise DataError(f"{PAPER_TABLE}: no row '{row}'; available: {sorted(paper['rows'])}")
    reference = paper["rows"][row]
    out = []
    for column in paper["metrics"]:
        ours, theirs = headline.get(column), reference.get(column)
        diff = None if ours is None or theirs is None else round(ours - theirs, 2)
        out.append({"column": column, "ours": ours, "paper": theirs, "diff": diff,
                    "ok": None if diff is None else abs(diff) <= tolerance})
    return out


def official_headline(document: dict[str, Any]) -> dict[str, Any]:
    """The headline under official column names, from a full scores document or a compact metrics file."""
    from sciriff.evaluation.report import SHORT_NAMES

    if "headline" in document:
        return document["headline"]
    return {"mean": document.get("mean"), **{column: document.get(short) for column, short in SHORT_NAMES.items()}}


def run_verify(metrics_file: str | Path, row: str, tolerance: float, paper_file: str | Path = PAPER_TABLE,
               general_file: str | Path | None = None, general_tolerance: float = 2.0,
               check: str = "all") -> bool:
    """Print the checks asked for (`eval`, `general` or `all`); True when every check run passes.

    With `all`, a missing general file is reported as skipped; with `general` it is an error.
    """
    ok = True
    if check in ("all", "eval"):
        ok = _verify_eval(metrics_file, row, tolerance, paper_file)
    if check in ("all", "general") and general_file is not None:
        if not Path(general_file).exists():
            if check == "general":
                raise DataError(f"{general_file}: no general metrics (run the general_* stages)")
            Console(width=120).print(f"general retention: skipped ({general_file} not found)")
        else:
            ok = verify_general(general_file, general_tolerance) and ok
    return ok


def verify_general(general_file: str | Path, tolerance_pct: float) -> bool:
    """Print the retention check and the benchmarks behind it; True when within tolerance."""
    from sciriff.general_report import check_general

    result = check_general(read_json(general_file), tolerance_pct)
    console = Console(width=120)
    if not result["tasks"] or result["ok"] is None:
        console.print(f"general retention ({general_file}): [red]no harness retention to check[/red]")
        return False
    kind = ("the shipped offline stand-ins, not the paper's benchmarks (run profiles/paper.yaml for those)"
            if result["offline_stand_ins"] else "lm-evaluation-harness benchmarks")
    status = "[green]ok[/green]" if result["ok"] else "[red]OUTSIDE[/red]"
    win = result["win_rate"]
    console.print(f"general retention ({general_file}): {result['retention']:.4f} "
                  f"({100 * (result['retention'] - 1):+.2f}% vs the reference model), "
                  f"tolerance -{tolerance_pct}%: {status}", soft_wrap=True)
    console.print(f"benchmarks used: {', '.join(result['tasks'])} ({kind}); harness mean {result['harness_mean']}; "
                  f"win rate vs the reference (reported, not checked): {'n/a' if win is None else win}",
                  soft_wrap=True)
    return bool(result["ok"])


def _verify_eval(metrics_file: str | Path, row: str, tolerance: float, paper_file: str | Path) -> bool:
    document = read_json(metrics_file)
    paper = read_json(paper_file)
    rows = compare_with_paper(official_headline(document), paper, row, tolerance)
    table = Table(title=f"{document.get('model', metrics_file)} vs paper row '{row}' (tolerance ±{tolerance})")
    for name in ("column", "ours", "paper", "diff", "status"):
        table.add_column(name, justify="left" if name == "column" else "right")

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    for r in rows:
        status = {True: "[green]ok[/green]", False: "[red]OUTSIDE[/red]", None: "[dim]skipped[/dim]"}[r["ok"]]
        table.add_row(r["column"], fmt(r["ours"]), fmt(r["paper"]), "-" if r["diff"] is None else f"{r['diff']:+.1f}",
                      status)
    console = Console(width=120)
    console.print(table)
    console.print(f"paper numbers: {paper['source']}; row note: {paper['rows'][row].get('note', '-')}")
    if document.get("judge"):
        console.print(f"judge used here: {document['judge']} (the paper's judge columns used GPT models)")
    compared = [r for r in rows if r["ok"] is not None]
    failed = [r["column"] for r in compared if not r["ok"]]
    console.print(f"{len(compared) - len(failed)}/{len(compared)} compared columns within ±{tolerance}"
                  + (f"; outside: {', '.join(failed)}" if failed else ""))
    return bool(compared) and not failed
