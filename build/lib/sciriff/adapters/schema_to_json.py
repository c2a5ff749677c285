"""Schema-to-JSON tables (Bai et al. 2023; HF fbaigt/schema-to-json, subsets discomat, mltables, chemtables).

Record shape (HF features; sequence features as dicts of lists, the way `datasets` exports them):
{"paper_id", "table_id", "table_code", "sup_text",
 "target_cells": {"cell_value": [...], "cell_raw": [...], "cell_index": [...], "cell_row_idx": [...],
                  "cell_col_idx": [...]},
 "gold_json_records": {"cell_index": [...], "cell_record": [JSON string, ...]}}

`table_code` is either a pipe table ("| a | b |" rows, then a "Caption: ..." line; DiSCoMaT) or
a LaTeX `table` environment (MLTables). Both are parsed into a caption and a grid of cell texts,
so the template can show one readable block; row/column indices of the target cells refer to that
grid (header rows included, \\multicolumn expanded). Each gold record is reduced to its type's
attributes, in schema order; an attribute given as a list of alternative names keeps the one with
the most word overlap with the table (as in SciRIFF). Records come out in reading order.

ChemTables gives `table_code` as a PubMed Central XML `<table-wrap>` (label, caption, `<table>` with
thead/tbody rows, optional `<table-wrap-foot>` footnotes). Its grid expands colspan and rowspan (a
spanned position holds an empty cell), so target-cell indices count every `<tr>` from the top; the
footnotes come out as their own field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from sciriff.adapters import adapter, require

DISCOMAT_SCHEMA = {
    "Other": ("value", "type"),
    "Glass_Compound_Amount": ("value", "type", "constituent", "unit", "material"),
}
MLTABLES_SCHEMA = {
    "Result": (
        "value",
        "type",
        "task",
        "metric",
        "training data/set",
        "test data/set",
        "model",
        "model settings",
        "experimental settings",
    ),
    "Data Stat.": ("value", "type", "dataset", "attribute name", "sub-set/group name", "dataset features"),
    "Hyper-parameter/Architecture": ("value", "type", "model", "parameter/architecture name", "dataset"),
    "Other": ("value", "type"),
}
_CHEM_ATTRIBUTES = ("value", "type", "unit", "treatment", "target")
CHEMTABLES_SCHEMA = {
    **{ctype: _CHEM_ATTRIBUTES for ctype in ("IC50", "EC50", "CC50", "MIC", "GI50")},
    "Other": ("value", "type"),
}

_RULES = re.compile(r"\\(?:toprule|midrule|bottomrule|hline|cline\{[^}]*\}|cmidrule(?:\([^)]*\))?\{[^}]*\})")
_STYLE = re.compile(r"\\(?:textbf|textit|emph|underline|mathbf|mathrm|textsc|text)\{([^{}]*)\}")
_SYMBOLS = {
    r"\pm": "±",
    r"\%": "%",
    r"\&": "&",
    r"\#": "#",
    r"\_": "_",
    r"\times": "×",
    r"\dagger": "†",
    r"\ast": "*",
    "~": " ",
    "$": "",
}


def _braced(text: str, start: int) -> tuple[str, int]:
    """The contents of the brace group opening at text[start] and the index just after it."""
    if start >= len(text) or text[start] != "{":
        raise ValueError("malformed LaTeX table: expected '{'")
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start + 1 : i], i + 1
    raise ValueError("malformed LaTeX table: unbalanced braces")


def _clean_latex_cell(cell: str) -> list[str]:
    """One LaTeX cell as plain text; a \\multicolumn{n} cell becomes n grid cells."""
    cell = cell.strip()
    span = 1
    match = re.match(r"\\multicolumn\{(\d+)\}", cell)
    if match:
        span = int(match.group(1))
        _, after = _braced(cell, match.end())  # column spec
        cell, _ = _braced(cell, after)
    match = re.match(r"\\multirow\{[^}]*\}\{[^}]*\}", cell)
    if match:
        cell, _ = _braced(cell, match.end())
    while _STYLE.search(cell):
        cell = _STYLE.sub(r"\1", cell)
    for symbol, plain in _SYMBOLS.items():
        cell = cell.replace(symbol, plain)
    cell = " ".join(cell.replace("{", "").replace("}", "").split())
    return [cell] + [""] * (span - 1)


def _parse_latex(code: str) -> tuple[str, list[list[str]]]:
    caption = ""
    if r"\caption" in code:
        caption, _ = _braced(code, code.index(r"\caption") + len(r"\caption"))
        caption = _clean_latex_cell(caption)[0]
    if r"\end{tabular}" not in code:
        raise ValueError("malformed LaTeX table: no \\end{tabular}")
    begin = code.index(r"\begin{tabular}") + len(r"\begin{tabular}")
    _, body_start = _braced(code, begin)
    body = _RULES.sub("", code[body_start : code.index(r"\end{tabular}")])
    rows = []
    for line in re.split(r"\\\\", body):
        if not line.strip():
            continue
        cells = re.split(r"(?<!\\)&", line)
        rows.append([text for cell in cells for text in _clean_latex_cell(cell)])
    return caption, rows


def _parse_pipe(code: str) -> tuple[str, list[list[str]]]:
    caption, rows = "", []
    for line in code.splitlines():
        line = line.strip()
        if line.startswith("|"):
            rows.append([" ".join(cell.split()) for cell in line.strip("|").split("|")])
        elif line.lower().startswith("caption:"):
            caption = line.split(":", 1)[1].strip()
        elif line:
            raise ValueError(f"pipe table line is neither a row nor a caption: '{line[:40]}'")
    return caption, rows


class _XmlTable(HTMLParser):
    """Collects the label, caption, rows (cells with their spans) and footnotes of a <table-wrap>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.label: list[str] = []
        self.caption: list[str] = []
        self.footnotes: list[list[str]] = []
        self.rows: list[list[tuple[list[str], int, int]]] = []
        self._cell: list[str] | None = None
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._stack.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            if not self.rows:
                raise ValueError("malformed XML table: a cell outside any <tr>")
            spans = dict(attrs)
            self._cell = []
            self.rows[-1].append((self._cell, _span(spans.get("colspan")), _span(spans.get("rowspan"))))
        elif tag in ("break", "br") and self._cell is not None:
            self._cell.append(" ")
        elif tag == "fn" or (tag == "p" and "table-wrap-foot" in self._stack and "fn" not in self._stack):
            self.footnotes.append([])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("break", "br") and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        sink = self._sink()
        if sink is not None and tag in ("p", "title", "label", "list-item"):
            sink.append(" ")  # keep a block's last word apart from the next block's first
        if tag in self._stack:
            while self._stack.pop() != tag:
                pass
        if tag in ("td", "th"):
            self._cell = None

    def _sink(self) -> list[str] | None:
        """Where text read now belongs: the open cell, footnote, caption or table label."""
        if self._cell is not None:
            return self._cell
        if "table-wrap-foot" in self._stack:
            return self.footnotes[-1] if self.footnotes else None
        if "caption" in self._stack:
            return self.caption
        if "label" in self._stack and "table" not in self._stack:
            return self.label
        return None

    def handle_data(self, data: str) -> None:
        sink = self._sink()
        if sink is not None:
            sink.append(data)


def _span(value: str | None) -> int:
    try:
        return max(int(value or 1), 1)
    except ValueError:
        raise ValueError(f"malformed XML table: span '{value}' is not a number") from None


def _plain(parts: list[str]) -> str:
    return " ".join("".join(parts).split())


def parse_xml_table(code: str) -> tuple[str, list[list[str]], list[str]]:
    """(caption with its label, rows, footnotes) of a PMC XML table; spanned positions are empty."""
    parser = _XmlTable()
    parser.feed(code)
    parser.close()
    grid: dict[tuple[int, int], str] = {}
    for r, cells in enumerate(parser.rows):
        c = 0
        for parts, colspan, rowspan in cells:
            while (r, c) in grid:
                c += 1
            for dr in range(rowspan):
                for dc in range(colspan):
                    grid[(r + dr, c + dc)] = ""
            grid[(r, c)] = _plain(parts)
            c += colspan
    if not grid:
        raise ValueError("the table has no rows")
    height = max(r for r, _ in grid) + 1
    width = max(c for _, c in grid) + 1
    rows = [[grid.get((r, c), "") for c in range(width)] for r in range(height)]
    label, caption = _plain(parser.label), _plain(parser.caption)
    if label and caption:
        caption = f"{label}{'' if label.endswith(('.', ':')) else ':'} {caption}"
    footnotes = [text for text in map(_plain, parser.footnotes) if text]
    return caption or label, rows, footnotes


def parse_table(code: str) -> tuple[str, list[list[str]]]:
    """(caption, rows) of a table given as LaTeX or as a pipe table."""
    caption, rows = _parse_latex(code) if r"\begin{tabular}" in code else _parse_pipe(code)
    if not rows:
        raise ValueError("the table has no rows")
    return caption, rows


def _pick(value: Any, table_words: set[str]) -> Any:
    """A list of alternative names keeps the one with the most word overlap with the table."""
    if not isinstance(value, list):
        return value
    if not value:
        raise ValueError("an attribute has an empty list of alternatives")

    def overlap(name: str) -> float:
        words = name.lower().split()
        return sum(word in table_words for word in words) / max(len(words), 1)

    return max(value, key=overlap)  # max keeps the first of equal scores


def _adapt(
    record: dict[str, Any],
    schema: dict[str, tuple[str, ...]],
    parse: Callable[[str], tuple[str, list[list[str]]]] = parse_table,
) -> dict[str, Any]:
    table_id, table_code, sup_text, cells, gold = require(
        record, "table_id", "table_code", "sup_text", "target_cells", "gold_json_records"
    )
    caption, rows = parse(table_code)
    table_words = set(" ".join([caption] + [cell for row in rows for cell in row]).lower().split())

    columns = require(cells, "cell_value", "cell_index", "cell_row_idx", "cell_col_idx")
    if len({len(column) for column in columns}) != 1:
        raise ValueError("'target_cells' columns differ in length")
    position: dict[str, tuple[int, int]] = {}
    for value, index, row, col in zip(*columns, strict=True):
        if not (0 <= row < len(rows) and 0 <= col < len(rows[row])):
            raise ValueError(f"target cell {index} at ({row}, {col}) is outside the table")
        if value not in rows[row][col]:
            raise ValueError(f"target cell {index} value '{value}' is not in table cell '{rows[row][col]}'")
        position[index] = (row, col)

    indices, raws = require(gold, "cell_index", "cell_record")
    if len(indices) != len(raws):
        raise ValueError("'gold_json_records' columns differ in length")
    records = []
    for order, (index, raw) in enumerate(zip(indices, raws, strict=True)):
        if index not in position:
            raise ValueError(f"gold record for cell {index} has no target cell")
        cell = json.loads(raw)
        ctype = cell.get("type")
        if ctype not in schema:
            raise ValueError(f"cell {index}: type '{ctype}' is not one of {sorted(schema)}")
        missing = [key for key in schema[ctype] if key not in cell]
        if missing:
            raise ValueError(f"cell {index}: {ctype} record lacks attribute '{missing[0]}'")
        reduced = {key: _pick(cell[key], table_words) for key in schema[ctype]}
        records.append((position[index], order, reduced))
    if not records:
        raise ValueError("the table has no gold cell records")
    records.sort(key=lambda item: (item[0], item[1]))
    return {
        "id": str(table_id),
        "caption": caption,
        "rows": rows,
        "sup_text": (sup_text or "").strip(),
        "records": [reduced for _, _, reduced in records],
    }


@adapter("discomat")
def discomat(record: dict[str, Any]) -> dict[str, Any]:
    return _adapt(record, DISCOMAT_SCHEMA)


@adapter("mltables")
def mltables(record: dict[str, Any]) -> dict[str, Any]:
    return _adapt(record, MLTABLES_SCHEMA)


@adapter("chemtables")
def chemtables(record: dict[str, Any]) -> dict[str, Any]:
    parsed: list[tuple[str, list[str]]] = []

    def parse(code: str) -> tuple[str, list[list[str]]]:
        caption, rows, footnotes = parse_xml_table(code)
        parsed.append((caption, footnotes))
        # the footnotes join the caption only so that alternative names are matched against them too
        return " ".join([caption, *footnotes]), rows

    fields = _adapt(record, CHEMTABLES_SCHEMA, parse)
    fields["caption"], fields["footnotes"] = parsed[0]
    return fields
