"""Text and number formatting of the report: escaping, the paragraph markup, table cells.

Everything that reaches the page passes through :func:`esc` or :func:`markup` here (the
renderer adds only its own fixed tags), so a gene called ``<script>`` stays text.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["cell_texts", "esc", "flatten", "json_text", "markup", "paragraphs"]

#: Column names (lower case) shown as p-values: 3 significant digits, scientific notation.
P_VALUE_NAMES = frozenset({"pvalue", "padj", "pval", "p.value", "p_value", "p-value",
                           "p.adjust", "p_adj", "adj.p.val", "fdr", "qvalue", "q_value",
                           "q.value", "svalue", "fwer"})
_P_VALUE_PARTS = ("pvalue", "padj", "p.adjust", "fdr", "qvalue")

_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_CODE = re.compile(r"`([^`]+)`")


def esc(text: object) -> str:
    """HTML-escape any value's text (quotes too, so it is safe in attributes)."""
    return html.escape(str(text), quote=True)


def markup(text: str) -> str:
    """Escape ``text``, then turn ``**bold**``, ``*italic*`` and ```code``` into tags.

    The markup is applied to the escaped text, so it can add only these three tags.
    """
    codes: list[str] = []

    def _keep(m: re.Match[str]) -> str:
        codes.append(m.group(1))
        return f"\x00{len(codes) - 1}\x00"

    out = _CODE.sub(_keep, esc(text))  # code spans are not parsed for bold/italic
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    out = _ITALIC.sub(r"<em>\1</em>", out)
    return re.sub("\x00(\\d+)\x00", lambda m: f"<code>{codes[int(m.group(1))]}</code>", out)


def paragraphs(text: str) -> list[str]:
    """Split text into paragraphs at blank lines; lines inside a paragraph are joined."""
    blocks = re.split(r"\n\s*\n", text.strip())
    return [" ".join(line.strip() for line in b.splitlines()) for b in blocks if b.strip()]


def is_p_value(name: object) -> bool:
    """Whether a column is shown as a p-value (by its name)."""
    low = str(name).strip().lower()
    return low in P_VALUE_NAMES or any(part in low for part in _P_VALUE_PARTS)


def _sci(values: np.ndarray) -> list[str]:
    return [f"{v:.2e}" for v in values]


def _general(values: np.ndarray) -> list[str]:
    out = []
    for v in values:
        a = abs(v)
        if v == 0:
            out.append("0")
        elif a >= 1e6 or a < 1e-3:
            out.append(f"{v:.3e}")
        else:
            out.append(np.format_float_positional(v, precision=4, unique=False,
                                                  fractional=False, trim="-"))
    return out


def cell_texts(column: pd.Series) -> tuple[list[str], list[str] | None]:
    """Shown text of each cell, and the sort keys of a numeric column (else ``None``).

    Sort keys are the shortest round-trip text of each number (``""`` for missing), so the
    page sorts by the exact values, not by the rounded ones shown.
    """
    values = column.to_numpy()
    if pd.api.types.is_bool_dtype(column.dtype):
        return ["yes" if v else "no" for v in values], None
    if pd.api.types.is_integer_dtype(column.dtype) and not isinstance(column.dtype,
                                                                      pd.CategoricalDtype):
        if column.isna().any():  # nullable integers
            shown = ["NA" if pd.isna(v) else str(int(v)) for v in values]
            return shown, ["" if pd.isna(v) else str(int(v)) for v in values]
        texts = [str(int(v)) for v in values]
        return texts, texts
    if pd.api.types.is_float_dtype(column.dtype):
        x = column.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(x)
        shown = np.full(x.shape, "NA", dtype=object)
        shown[np.isposinf(x)] = "Inf"
        shown[np.isneginf(x)] = "-Inf"
        fmt = _sci if is_p_value(column.name) else _general
        shown[finite] = fmt(x[finite])
        keys = ["" if math.isnan(v) else repr(float(v)) for v in x]
        return list(shown), keys
    objects = column.astype(object).to_numpy()  # Timestamps, not numpy datetime64 text
    return ["NA" if _missing(v) else str(v) for v in objects], None


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def flatten(value: Any, *, prefix: str = "") -> list[tuple[str, str]]:
    """``(key, text)`` rows of a nested mapping, with dotted keys; lists are joined by ', '."""
    if isinstance(value, Mapping):
        if not value:
            return [(prefix, "(none)")] if prefix else []
        rows: list[tuple[str, str]] = []
        for k, v in value.items():
            rows += flatten(v, prefix=f"{prefix}.{k}" if prefix else str(k))
        return rows
    if isinstance(value, list | tuple):
        if all(not isinstance(v, Mapping | list | tuple) for v in value):
            return [(prefix, ", ".join(_scalar(v) for v in value) or "(none)")]
        rows = []
        for i, v in enumerate(value):
            rows += flatten(v, prefix=f"{prefix}[{i}]")
        return rows
    return [(prefix, _scalar(value))]


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def json_text(value: Any) -> str:
    """Pretty JSON of a mapping (anything not JSON becomes its text), keys in given order."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, allow_nan=True)
