"""Design formulas, model matrices and contrasts: DESeq2's ``design(dds)``, ``resultsNames``
and ``results(contrast=...)`` front end.

This module owns the step from a sample table and a formula string such as ``"~ cell + dex"``
to the model matrix :math:`X` of the negative binomial GLM of DESeq2 (Love, Huber & Anders
2014, Genome Biology 15:550, eq. 1: :math:`\\log q_{ij} = \\sum_r x_{jr} \\beta_{ir}`), to the
coefficient names DESeq2 reports, and from a contrast to the vector :math:`c` with which
:math:`c^\\top \\beta` is tested (section "Wald test"). It also owns the errors for designs that
cannot be fitted (unknown columns, one-level factors, confounded or rank-deficient designs, no
residual degrees of freedom) and two helpers that look at a sample sheet before any design
exists: :func:`confounded_columns` and :func:`proposed_design`.

Formulas follow R's ``model.matrix`` (Chambers & Hastie 1992, *Statistical Models in S*,
ch. 2): ``+`` adds terms, ``-`` removes them (``- 1`` drops the intercept, as does ``0 +``),
``a:b`` is an interaction, ``a * b`` = ``a + b + a:b``, ``a / b`` = ``a + a:b``, ``(a + b)^2``
= all interactions up to order 2, ``factor(col)`` makes a numeric column a factor and
```col name``` quotes a column name with spaces. A column of strings (or a pandas
Categorical or booleans) is a factor; a numeric column is a continuous covariate, as in R.
Terms are ordered by degree; a factor in a term is coded by treatment contrasts (reference
level dropped) when the term without it is the intercept or a preceding term, otherwise by one
indicator per level (R's rule); without an intercept the first factor gets all its levels.

Factor levels are sorted as R's ``factor()`` sorts them in the UTF-8 locales R runs in on
Linux and macOS (ICU collation: punctuation, then digits, then letters, case-insensitive
first and lower case before upper case on ties: ``control`` < ``Treated`` < ``WT``); numbers
made factors with ``factor(col)`` sort numerically. The reference level is the first one,
unless ``reference={"dex": "untrt"}`` says otherwise. Coefficient names are DESeq2's
``resultsNames()`` (``Intercept``, ``dex_trt_vs_untrt``, ``genotypeB.treatmentT``: R's
``make.names`` of the ``model.matrix`` name, main effects of factors renamed
``factor_level_vs_reference`` when the design has an intercept); R's own names are kept in
:attr:`Design.r_names`.
"""

from __future__ import annotations

import difflib
import logging
import numbers
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from heatseq.errors import DesignError, InputError, InputWarning

__all__ = [
    "Contrast",
    "Design",
    "confounded_columns",
    "contrast_vector",
    "design_matrix",
    "factor_levels",
    "proposed_design",
]

logger = logging.getLogger(__name__)

Contrast = tuple[str, str, str] | str | Sequence[float] | np.ndarray | Sequence[Sequence[str]]
"""A contrast: ``(factor, level, reference)``, a coefficient name, one number per coefficient,
or DESeq2's list form ``[[numerator names], [denominator names]]``."""

# ICU root collation order of ASCII punctuation and digits, as R's factor() sorts them.
_PRIMARY = {c: i for i, c in enumerate(" _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789"
                                       "abcdefghijklmnopqrstuvwxyz")}
_R_RESERVED = frozenset("if else repeat while function for in next break TRUE FALSE NULL Inf "
                        "NaN NA NA_integer_ NA_real_ NA_character_ NA_complex_".split())
_CONDITION_NAMES = ("condition", "group", "treatment", "genotype", "status", "disease",
                    "phenotype", "tissue", "celltype", "cell_type", "strain", "dex", "diet")
_FACTOR_CALLS = ("factor", "as.factor")


# ---------------------------------------------------------------- level order and names
def _collation_key(s: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], str]:
    primary: list[int] = []
    secondary: list[int] = []
    tertiary: list[int] = []
    for ch in unicodedata.normalize("NFD", s):
        if unicodedata.combining(ch):
            secondary.append(ord(ch))
            continue
        low = ch.lower()
        primary.append(_PRIMARY.get(low, 1000 + ord(low)))
        tertiary.append(int(ch != low))
    return tuple(primary), tuple(secondary), tuple(tertiary), s


def factor_levels(values: Iterable[object]) -> tuple[str, ...]:
    """The levels R's ``factor(values)`` would have, as strings, in R's order.

    Strings sort as R sorts them in a UTF-8 locale (ICU collation, exact for ASCII); numbers
    sort numerically and are written as R writes them (``2``, ``10``, ``1.5``); booleans give
    ``FALSE``, ``TRUE``. Missing values are ignored.

    Examples
    --------
    >>> factor_levels(["WT", "mutant", "KO", "WT"])
    ('KO', 'mutant', 'WT')
    >>> factor_levels([10, 2, 1])
    ('1', '2', '10')
    """
    s = pd.Series(list(values) if not isinstance(values, pd.Series) else values).dropna()
    if s.empty:
        return ()
    if pd.api.types.is_bool_dtype(s):
        return tuple(lv for lv in ("FALSE", "TRUE") if lv in set(s.map(_r_string)))
    if pd.api.types.is_numeric_dtype(s):
        return tuple(_r_string(v) for v in np.unique(s.to_numpy(dtype=float)))
    return tuple(sorted({_r_string(v) for v in s}, key=_collation_key))


def _r_string(v: object) -> str:
    """``as.character(v)`` in R for one value."""
    if isinstance(v, bool | np.bool_):
        return "TRUE" if v else "FALSE"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        f = float(v)
        return str(int(f)) if f.is_integer() and abs(f) < 1e15 else format(f, ".15g")
    return str(v)


def _make_names(s: str) -> str:
    """R's ``make.names`` for one string."""
    out = "".join(c if (c.isalnum() or c in "._") else "." for c in s)
    if not out or not (out[0].isalpha() or out[0] == ".") or re.match(r"\.\d", out):
        out = "X" + out
    return out + "." if out in _R_RESERVED else out


# ---------------------------------------------------------------- formula parser
_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?)|(?P<name>(?:[^\W\d_]|\.)[\w.]*)"
                    r"|(?P<bq>`[^`]*`)|(?P<op>%in%|[~+\-*/:^()])|(?P<bad>\S))")


@dataclass
class _Expr:
    terms: list[frozenset[str]]
    intercept: bool | None = None
    number: float | None = None


class _Parser:
    """Recursive descent over R's formula operators (low to high: ``+ -``, ``* /``,
    ``%in%``, ``:``, ``^``); variables are keyed by their R label."""

    def __init__(self, formula: str) -> None:
        self.formula = formula
        self.tokens: list[tuple[str, str, int]] = []
        for m in _TOKEN.finditer(formula):
            kind = m.lastgroup or ""
            if kind == "bad":
                self.fail(m.start(kind), f"unexpected character {m.group(kind)!r}")
            self.tokens.append((kind, m.group(kind), m.start(kind)))
        self.i = 0
        self.variables: dict[str, tuple[str, bool]] = {}  # label -> (column, factor() call)

    def fail(self, pos: int, msg: str) -> None:
        raise DesignError(f"Cannot read the design {self.formula!r}: {msg}.\n"
                          f"  {self.formula}\n  {' ' * pos}^\n"
                          "Designs look like '~ batch + condition' or '~ genotype * treatment'.")

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "", len(self.formula))

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self) -> _Expr:
        kind, text, pos = self.take()
        if text != "~":
            tilde = self.formula.find("~")
            self.fail(pos, "a design has nothing left of '~'" if tilde > 0
                      else "a design starts with '~'")
        if self.peek()[0] == "end":
            self.fail(len(self.formula), "expected a column name after '~'")
        e = self.sum()
        kind, text, pos = self.peek()
        if kind != "end":
            self.fail(pos, f"unexpected {text!r}" + (" (missing '+'?)" if kind in ("name", "bq")
                                                      else ""))
        return e

    def sum(self) -> _Expr:
        if self.peek()[1] in ("-", "+"):
            op = self.take()[1]
            e = _combine(op, _Expr([]), self.product())
        else:
            e = self.product()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            e = _combine(op, e, self.product())
        return e

    def product(self) -> _Expr:
        e = self.colon()
        while self.peek()[1] in ("*", "/"):
            _, op, pos = self.take()
            e = self.binary(op, e, self.colon(), pos)
        return e

    def colon(self) -> _Expr:
        e = self.power()
        while self.peek()[1] in (":", "%in%"):
            pos = self.take()[2]
            e = self.binary(":", e, self.power(), pos)
        return e

    def power(self) -> _Expr:
        e = self.atom()
        if self.peek()[1] == "^":
            pos = self.take()[2]
            kind, text, npos = self.take()
            if kind != "num" or not float(text).is_integer() or int(float(text)) < 1:
                self.fail(npos, "'^' needs a whole number of at least 1, as in (a + b)^2")
            base = e
            for _ in range(int(float(text)) - 1):
                e = self.binary("*", e, base, pos)
        return e

    def binary(self, op: str, a: _Expr, b: _Expr, pos: int) -> _Expr:
        if a.number is not None or b.number is not None:
            self.fail(pos, f"{op!r} cannot combine the numbers 0 or 1 with columns")
        if op == "*":
            return _combine("+", _combine("+", a, b), _interact(a.terms, b.terms))
        if op == "/":
            whole = frozenset().union(*a.terms)
            return _combine("+", a, _interact([whole], b.terms))
        return _interact(a.terms, b.terms)

    def atom(self) -> _Expr:
        kind, text, pos = self.take()
        if kind == "num":
            if float(text) not in (0.0, 1.0):
                self.fail(pos, f"the number {text} has no meaning here; use 0 or 1 for the "
                          "intercept")
            return _Expr([], number=float(text))
        if text == "(":
            e = self.sum()
            kind, text, pos = self.take()
            if text != ")":
                self.fail(pos, "expected ')'")
            return e
        if kind == "bq":
            return self.variable(text[1:-1], text, factor_call=False)
        if kind == "name":
            if text == ".":
                self.fail(pos, "'.' (all columns) is not supported; name the columns")
            if self.peek()[1] == "(":
                if text not in _FACTOR_CALLS:
                    self.fail(pos, f"the function {text}() is not supported in a design; only "
                              "factor(column) is. Compute other transformations as a new column "
                              "of the sample table")
                self.take()
                ikind, itext, ipos = self.take()
                if ikind not in ("name", "bq") or self.take()[1] != ")":
                    self.fail(ipos, f"{text}() takes one column name, as in factor(batch)")
                col = itext[1:-1] if ikind == "bq" else itext
                return self.variable(col, f"{text}({itext})", factor_call=True)
            return self.variable(text, text, factor_call=False)
        what = "the end of the design" if kind == "end" else repr(text)
        self.fail(pos, f"expected a column name, 0, 1 or '(' but found {what}")
        raise AssertionError  # unreachable: fail() raises

    def variable(self, column: str, label: str, *, factor_call: bool) -> _Expr:
        self.variables.setdefault(label, (column, factor_call))
        return _Expr([frozenset([label])])


def _combine(op: str, a: _Expr, b: _Expr) -> _Expr:
    if op == "+":
        terms = list(a.terms) + [t for t in b.terms if t not in a.terms]
        icpt = a.intercept if a.number is None else bool(a.number)
        if b.number is not None:
            icpt = bool(b.number)
        elif b.intercept is not None:
            icpt = b.intercept
        return _Expr(terms, icpt)
    if b.number is not None:  # '- 1' drops the intercept, '- 0' keeps it
        return _Expr(list(a.terms), not bool(b.number))
    return _Expr([t for t in a.terms if t not in b.terms], a.intercept)


def _interact(xs: list[frozenset[str]], ys: list[frozenset[str]]) -> _Expr:
    out: list[frozenset[str]] = []
    for x in xs:
        for y in ys:
            if (t := x | y) not in out:
                out.append(t)
    return _Expr(out)


# ---------------------------------------------------------------- variables
@dataclass(frozen=True)
class _Var:
    label: str  # R's label: cell, factor(dose), `cell type`
    column: str
    safe: str  # label for DESeq2-style names (make.names-able)
    levels: tuple[str, ...] | None  # None for a continuous covariate
    codes: np.ndarray  # level index per sample, or the numeric values
    rename: bool  # DESeq2 renames main effects of columns that are factors in colData


def _resolve(label: str, column: str, factor_call: bool, samples: pd.DataFrame,
             formula: str) -> _Var:
    if column not in samples.columns:
        cols = [str(c) for c in samples.columns]
        close = difflib.get_close_matches(column, cols, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        if close and _make_names(close[0]) != close[0]:
            hint += f" Quote such names in backquotes: `{close[0]}`."
        raise DesignError(f"Column {column!r} in the design {formula!r} is not in the sample "
                          f"table; columns are: {', '.join(cols)}.{hint} Check the design.")
    s = samples[column]
    if s.isna().any():
        miss = ", ".join(map(str, s.index[s.isna()][:5]))
        raise DesignError(f"Column {column!r} of the sample table has missing values (samples "
                          f"{miss}); a design column needs a value for every sample. Fill them "
                          "in or drop those samples.")
    safe = _make_names(column) if label.startswith("`") else label
    numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
    if numeric and not factor_call:
        x = s.to_numpy(dtype=float)
        if not np.isfinite(x).all():
            raise DesignError(f"Column {column!r} has infinite values; a continuous covariate "
                              "must be finite.")
        return _Var(label, column, safe, None, x, rename=False)
    if isinstance(s.dtype, pd.CategoricalDtype) and not factor_call:
        used = [c for c in s.cat.categories if (s == c).any()]
        if len(used) < len(s.cat.categories):
            dropped = [str(c) for c in s.cat.categories if c not in used]
            warnings.warn(f"Factor {column!r}: levels without samples were dropped: "
                          f"{', '.join(dropped)}.", InputWarning, stacklevel=4)
        levels = tuple(_r_string(c) for c in used)
    else:
        levels = factor_levels(s)
    strings = s.astype(object).map(_r_string)
    codes = pd.Categorical(strings, categories=list(levels)).codes
    if len(levels) < 2:
        raise DesignError(f"Column {column!r} has one value ({levels[0]!r}) in all {len(s)} "
                          "samples; a factor in the design needs at least two levels. Remove "
                          f"{column!r} from the design {formula!r}.")
    rename = not factor_call and not pd.api.types.is_bool_dtype(s)
    return _Var(label, column, safe, levels, codes.astype(np.int64), rename=rename)


def _relevel(var: _Var, ref: object) -> _Var:
    assert var.levels is not None
    r = _r_string(ref)
    if r not in var.levels:
        raise DesignError(f"Reference level {r!r} is not a level of {var.column!r}; levels "
                          f"are: {', '.join(var.levels)}.")
    k = var.levels.index(r)
    order = [k] + [i for i in range(len(var.levels)) if i != k]
    remap = np.empty(len(order), dtype=np.int64)
    remap[order] = np.arange(len(order))
    return _Var(var.label, var.column, var.safe, tuple(var.levels[i] for i in order),
                remap[var.codes], var.rename)


# ---------------------------------------------------------------- the Design value
@dataclass(frozen=True, eq=False)
class Design:
    """A model matrix with the names and structure DESeq2 gives it.

    Attributes
    ----------
    formula
        The formula as given, e.g. ``"~ cell + dex"``.
    matrix
        Samples x coefficients (float); columns are the DESeq2 names (:attr:`coef_names`).
    coef_names
        DESeq2 ``resultsNames()``: ``Intercept``, ``dex_trt_vs_untrt``, ``genotypeB.treatmentT``.
    r_names
        R ``model.matrix`` column names, in the same order: ``(Intercept)``, ``dextrt``,
        ``genotypeB:treatmentT``.
    factors
        Levels of each factor column of the design (reference first), by column name.
    continuous
        The columns used as continuous covariates.
    intercept
        Whether the design has an intercept.
    terms
        R's term labels in model order (``attr(terms(f), "term.labels")``).
    assign
        For each coefficient, the 1-based index of its term in :attr:`terms` (0 for the
        intercept), as R's ``attr(model.matrix(f), "assign")``.
    coef_levels
        For each coefficient, the ``(column, level)`` pairs it is the product of (level None
        for a continuous column); ``()`` for the intercept.
    """

    formula: str
    matrix: pd.DataFrame
    coef_names: tuple[str, ...]
    r_names: tuple[str, ...]
    factors: Mapping[str, tuple[str, ...]]
    continuous: tuple[str, ...]
    intercept: bool
    terms: tuple[str, ...]
    assign: tuple[int, ...]
    coef_levels: tuple[tuple[tuple[str, str | None], ...], ...]

    @property
    def n_coefs(self) -> int:
        """Number of coefficients p."""
        return len(self.coef_names)

    @property
    def values(self) -> np.ndarray:
        """The model matrix as a float64 array, samples x coefficients."""
        return self.matrix.to_numpy(dtype=np.float64)

    def __repr__(self) -> str:
        return (f"Design({self.formula!r}: {self.matrix.shape[0]} samples x {self.n_coefs} "
                f"coefficients [{', '.join(self.coef_names)}])")


def design_matrix(samples: pd.DataFrame, formula: str, *,
                  reference: Mapping[str, str] | None = None) -> Design:
    """Build the model matrix of a design formula, as R's ``model.matrix`` and DESeq2 do.

    Parameters
    ----------
    samples
        One row per sample (the index names the samples), one column per sample property.
        String, Categorical and boolean columns are factors; numeric columns are continuous
        covariates unless wrapped in ``factor()`` in the formula.
    formula
        An R formula without left-hand side: ``"~ condition"``, ``"~ batch + condition"``,
        ``"~ genotype * treatment"``, ``"~ age + condition"``, ``"~ factor(lane) + condition"``,
        ``"~ 1"`` (intercept only, for blind transformations), ``"~ 0 + group"`` (no
        intercept: one coefficient per group, no ``_vs_`` names; compare groups with a
        contrast).
    reference
        Reference level per factor column, e.g. ``{"dex": "untrt"}``; by default the first
        level in R's sort order.

    Returns
    -------
    Design

    Raises
    ------
    DesignError
        For a formula that cannot be read (with a caret under the position), a column not in
        ``samples``, missing values, a factor with one level, a design that is not of full
        rank (naming the confounded columns), or as many coefficients as samples.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"cell": ["A", "A", "B", "B", "C", "C"],
    ...                   "dex": ["untrt", "trt"] * 3}, index=[f"s{i}" for i in range(6)])
    >>> d = design_matrix(s, "~ cell + dex", reference={"dex": "untrt"})
    >>> d.coef_names
    ('Intercept', 'cell_B_vs_A', 'cell_C_vs_A', 'dex_trt_vs_untrt')
    >>> d.r_names
    ('(Intercept)', 'cellB', 'cellC', 'dextrt')
    """
    if not isinstance(samples, pd.DataFrame):
        raise InputError(f"samples must be a pandas DataFrame, not {type(samples).__name__}.")
    if not isinstance(formula, str):
        raise DesignError(f"The design must be a formula string such as '~ batch + condition', "
                          f"not {type(formula).__name__}.")
    parser = _Parser(formula)
    expr = parser.parse()
    intercept = _combine("+", _Expr([]), expr).intercept is not False
    if not expr.terms and not intercept:
        raise DesignError(f"The design {formula!r} has no terms and no intercept; use '~ 1' "
                          "for an intercept-only design.")
    variables = _variables(parser, samples, formula, reference)
    order = list(variables)
    terms = sorted(expr.terms, key=len)  # stable: by degree, then formula order
    ordered = [sorted(t, key=order.index) for t in terms]
    n = samples.shape[0]
    cols = _columns(ordered, variables, intercept, n)
    x = np.column_stack([c[2] for c in cols]) if cols else np.empty((n, 0))
    r_names = tuple(c[0] for c in cols)
    coef_names = tuple(c[1] for c in cols)
    parts = tuple(tuple((variables[v].column, lv) for v, lv in c[3]) for c in cols)
    if dup := sorted({c for c in coef_names if coef_names.count(c) > 1}):
        raise DesignError(f"Different levels give the same coefficient name {dup[0]!r} in the "
                          f"design {formula!r} (R's make.names turns symbols into '.'); rename "
                          "the levels, e.g. 'a b' and 'a.b', so that they differ in letters "
                          "or digits.")
    _check_estimable(x, coef_names, parts, variables, formula)
    _note_numeric(variables)
    factors = {v.column: v.levels for v in variables.values() if v.levels is not None}
    return Design(
        formula=formula,
        matrix=pd.DataFrame(x, index=samples.index.copy(), columns=list(coef_names)),
        coef_names=coef_names, r_names=r_names, factors=factors,
        continuous=tuple(v.column for v in variables.values() if v.levels is None),
        intercept=intercept, terms=tuple(":".join(t) for t in ordered),
        assign=tuple(c[4] for c in cols), coef_levels=parts)


def _variables(parser: _Parser, samples: pd.DataFrame, formula: str,
               reference: Mapping[str, str] | None) -> dict[str, _Var]:
    out: dict[str, _Var] = {}
    by_column: dict[str, str] = {}
    for label, (column, factor_call) in parser.variables.items():
        if column in by_column:
            raise DesignError(f"The design {formula!r} uses column {column!r} twice "
                              f"({by_column[column]} and {label}); use it once.")
        by_column[column] = label
        out[label] = _resolve(label, column, factor_call, samples, formula)
    for column, ref in (reference or {}).items():
        label = by_column.get(column)
        if label is None or out[label].levels is None:
            facs = [v.column for v in out.values() if v.levels is not None]
            raise DesignError(f"reference names {column!r}, which is not a factor of the "
                              f"design {formula!r}; factors are: {', '.join(facs) or 'none'}.")
        out[label] = _relevel(out[label], ref)
    return out


def _columns(terms: list[list[str]], variables: dict[str, _Var], intercept: bool, n: int
             ) -> list[tuple[str, str, np.ndarray, tuple[tuple[str, str | None], ...], int]]:
    """(R name, DESeq2 name, values, (label, level) parts, term index) per column."""
    cols: list[tuple[str, str, np.ndarray, tuple[tuple[str, str | None], ...], int]] = []
    if intercept:
        cols.append(("(Intercept)", "Intercept", np.ones(n), (), 0))
    # R's TermCode: contrasts if the term without the factor is empty or in a preceding term
    coding: list[dict[str, bool]] = []
    for k, term in enumerate(terms):
        coding.append({v: (len(term) == 1 or any(set(term) - {v} <= set(t) for t in terms[:k]))
                       for v in term if variables[v].levels is not None})
    if not intercept:  # the first factor of the first term with a factor gets every level
        for term, code in zip(terms, coding, strict=True):
            if code:
                code[next(v for v in term if v in code)] = False
                break
    for k, term in enumerate(terms):
        combos: list[tuple[tuple[tuple[str, str | None], ...], np.ndarray]] = [((), np.ones(n))]
        for v in term:
            var = variables[v]
            if var.levels is None:
                own = [((v, None), var.codes)]
            else:
                first = 1 if coding[k][v] else 0
                own = [((v, lv), (var.codes == i).astype(float))
                       for i, lv in enumerate(var.levels) if i >= first]
            combos = [((*p, o), x * ox) for o, ox in own for p, x in combos]
        for p, x in combos:
            r_name = ":".join(v + ("" if lv is None else lv) for v, lv in p)
            safe = ":".join(variables[v].safe + ("" if lv is None else lv) for v, lv in p)
            name = _make_names(safe)
            var0 = variables[p[0][0]]
            if intercept and len(p) == 1 and var0.rename and coding[k].get(p[0][0]):
                name = _make_names(f"{var0.safe}_{p[0][1]}_vs_{var0.levels[0]}")  # type: ignore[index]
            cols.append((r_name, name, x, p, k + 1))
    return cols


def _check_estimable(x: np.ndarray, names: tuple[str, ...],
                     parts: tuple[tuple[tuple[str, str | None], ...], ...],
                     variables: dict[str, _Var], formula: str) -> None:
    n, p = x.shape
    if n < p:
        raise DesignError(f"The design {formula!r} has {p} coefficients but there are only {n} "
                          "samples; use a design with fewer terms.")
    sv = np.linalg.svd(x, compute_uv=False) if p else np.array([])
    rank = int(np.sum(sv > 1e-7 * sv.max())) if p else 0
    if rank < p:
        reasons = []
        for j in np.flatnonzero(~x.any(axis=0)):
            cell = " and ".join(f"{c} {lv}" for c, lv in parts[j] if lv is not None)
            reasons.append(f"coefficient {names[j]} is zero for every sample: no sample has "
                           f"{cell}")
        facs = [v for v in variables.values() if v.levels is not None]
        for i, a in enumerate(facs):
            for b in facs[i + 1:]:
                if (msg := _confounding(a.column, a.codes, b.column, b.codes)) is not None:
                    reasons.append(msg)
        reasons.extend(_dependent_columns(x, names))
        raise DesignError(f"The design {formula!r} is not of full rank (rank {rank} for {p} "
                          f"coefficients), so its coefficients cannot be estimated: "
                          f"{'; '.join(reasons)}. Remove one of the confounded columns from the "
                          "design, or combine them into one group column.")
    if n == p:
        raise DesignError(f"The design {formula!r} has {n} samples and {p} coefficients: no "
                          "replicates to estimate dispersion. Use a design with fewer terms or "
                          "add replicates.")


def _dependent_columns(x: np.ndarray, names: tuple[str, ...]) -> list[str]:
    """Name the coefficients that are linear combinations of earlier ones."""
    out: list[str] = []
    kept: list[int] = []
    scale = np.linalg.norm(x, axis=0).max()
    for j in range(x.shape[1]):
        if not x[:, j].any():
            continue
        if kept:
            coef, *_ = np.linalg.lstsq(x[:, kept], x[:, j], rcond=None)
            if np.linalg.norm(x[:, kept] @ coef - x[:, j]) < 1e-7 * scale:
                combo = " ".join(f"{'-' if c < 0 else '+'} "
                                 f"{'' if np.isclose(abs(c), 1) else f'{abs(c):.3g}*'}{names[k]}"
                                 for c, k in zip(coef, kept, strict=True) if abs(c) > 1e-8)
                out.append(f"{names[j]} = {combo.removeprefix('+ ')}")
                continue
        kept.append(j)
    return out


def _confounding(a: str, ca: np.ndarray, b: str, cb: np.ndarray) -> str | None:
    """Describe how column a and b are confounded, or None if they are not."""
    ab = _determines(ca, cb)
    ba = _determines(cb, ca)
    if not (ab or ba):
        return None
    if ab and ba:
        return f"{a} and {b} are confounded: every {a} has one {b} and every {b} one {a}"
    outer, inner = (a, b) if ab else (b, a)
    return f"{a} and {b} are confounded: every {outer} has one {inner}"


def _determines(ca: np.ndarray, cb: np.ndarray) -> bool:
    pairs = np.unique(np.column_stack([ca, cb]), axis=0)
    return len(pairs) == len(np.unique(ca))


def _note_numeric(variables: dict[str, _Var]) -> None:
    for v in variables.values():
        if v.levels is not None:
            continue
        x = v.codes
        if np.all(x == np.round(x)):
            shown = ", ".join(_r_string(u) for u in np.unique(x)[:5])
            warnings.warn(f"Column {v.column!r} holds whole numbers ({shown}"
                          f"{', ...' if len(np.unique(x)) > 5 else ''}) and is used as a "
                          "continuous covariate (one log fold change per unit). If its values "
                          f"are groups, write factor({v.column}) in the design.",
                          InputWarning, stacklevel=3)
        if abs(x.mean()) > 5 or (len(x) > 1 and x.std(ddof=1) > 5):
            logger.info("Column %r has mean or standard deviation above 5; centring and scaling "
                        "it helps the GLM converge (DESeq2's advice).", v.column)


# ---------------------------------------------------------------- contrasts
def contrast_vector(design: Design, contrast: Contrast) -> np.ndarray:
    """The vector c (one value per coefficient) whose :math:`c^\\top \\beta` a contrast tests.

    Parameters
    ----------
    design
        The fitted design.
    contrast
        ``(factor, level, reference)``: level vs reference of a factor with a main effect
        (the coefficient, a difference of two coefficients, or a negated one, as DESeq2's
        ``contrast=c(factor, level, reference)``; in designs with interactions this is the
        effect at the reference levels of the other factors). A coefficient name (DESeq2
        or R style). A numeric vector of length p. Or DESeq2's list form
        ``[[names added], [names subtracted]]``.

    Returns
    -------
    numpy.ndarray
        Float64 vector of length p.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"g": ["a", "a", "b", "b", "c", "c"]})
    >>> d = design_matrix(s, "~ g")
    >>> contrast_vector(d, ("g", "c", "b")).tolist()
    [0.0, -1.0, 1.0]
    """
    p = design.n_coefs
    if isinstance(contrast, str):
        return _unit(design, contrast)
    if isinstance(contrast, np.ndarray | pd.Series) or (
            isinstance(contrast, Sequence) and len(contrast) > 0
            and all(isinstance(c, numbers.Real) and not isinstance(c, bool) for c in contrast)):
        v = np.asarray(contrast, dtype=np.float64).ravel()
        if v.shape != (p,):
            raise DesignError(f"The numeric contrast has {v.size} values but the design "
                              f"{design.formula!r} has {p} coefficients "
                              f"({', '.join(design.coef_names)}); give one value per coefficient.")
        if not np.isfinite(v).all() or not v.any():
            raise DesignError("A numeric contrast needs finite values, not all zero.")
        return v
    if isinstance(contrast, Sequence) and len(contrast) == 3 and all(
            isinstance(c, str | numbers.Real) for c in contrast):
        return _factor_contrast(design, *(str(c) if isinstance(c, str) else _r_string(c)
                                          for c in contrast))
    if isinstance(contrast, Sequence) and 1 <= len(contrast) <= 2 and all(
            isinstance(c, Sequence) and not isinstance(c, str) for c in contrast):
        v = np.zeros(p)
        for sign, names in zip((1.0, -1.0), contrast, strict=False):
            for name in names:
                u = _unit(design, str(name))
                if (v * u).any():
                    raise DesignError(f"Coefficient {name!r} is named twice in the list "
                                      "contrast; each name may appear once, in the numerator "
                                      "or the denominator list.")
                v += sign * u
        if not v.any():
            raise DesignError("The list contrast names no coefficient; give "
                              "[[numerator names], [denominator names]].")
        return v
    raise DesignError(f"Cannot use the contrast {contrast!r}; give (factor, level, reference), "
                      "a coefficient name, one number per coefficient, or "
                      "[[numerator names], [denominator names]].")


def _unit(design: Design, name: str) -> np.ndarray:
    for names in (design.coef_names, design.r_names):
        if name in names:
            v = np.zeros(design.n_coefs)
            v[names.index(name)] = 1.0
            return v
    close = difflib.get_close_matches(name, design.coef_names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise DesignError(f"Coefficient {name!r} is not in the design {design.formula!r}; "
                      f"coefficients (resultsNames) are: {', '.join(design.coef_names)}.{hint}")


def _factor_contrast(design: Design, factor: str, level: str, ref: str) -> np.ndarray:
    m = re.fullmatch(r"(?:as\.)?factor\((.*)\)", factor)
    key = m.group(1).strip("`") if m else factor
    if key not in design.factors:
        if key in design.continuous:
            raise DesignError(f"{key!r} is a continuous covariate of the design "
                              f"{design.formula!r}, not a factor; use its coefficient name "
                              f"{key!r} as the contrast, or factor({key}) in the design.")
        raise DesignError(f"Contrast factor {key!r} is not a factor of the design "
                          f"{design.formula!r}; factors are: "
                          f"{', '.join(design.factors) or 'none'}.")
    levels = design.factors[key]
    for lv in (level, ref):
        if lv not in levels:
            raise DesignError(f"Contrast level {lv!r} is not a level of {key!r}; levels are: "
                              f"{', '.join(levels)}.")
    if level == ref:
        raise DesignError(f"The contrast compares level {level!r} of {key!r} with itself; give "
                          f"two different levels, e.g. ({key!r}, {levels[1]!r}, {levels[0]!r}).")
    main = {parts[0][1]: j for j, parts in enumerate(design.coef_levels)
            if len(parts) == 1 and parts[0][0] == key}
    if not main:
        raise DesignError(f"Factor {key!r} appears only in interaction terms of the design "
                          f"{design.formula!r}; give the contrast as a coefficient name or a "
                          "numeric vector.")
    v = np.zeros(design.n_coefs)
    if level in main:
        v[main[level]] += 1.0
    if ref in main:
        v[main[ref]] -= 1.0
    return v


# ---------------------------------------------------------------- sample-sheet helpers
def _groupings(samples: pd.DataFrame) -> dict[str, np.ndarray]:
    """Group codes of each column with 2+ values that is not an ID (one sample per value)."""
    out = {}
    for col in samples.columns:
        codes, uniques = pd.factorize(samples[col], use_na_sentinel=False)
        if 2 <= len(uniques) < len(samples):
            out[str(col)] = codes
    return out


def confounded_columns(samples: pd.DataFrame) -> list[tuple[str, str]]:
    """Pairs of sample columns that cannot both be in a design.

    A pair ``(a, b)`` (in table order) is returned when every value of one of them comes with
    a single value of the other: aliases such as airway's ``condition`` and ``dex``, or a
    ``batch`` with one condition per batch. ID-like columns (one sample per value) and
    columns with one value are not considered.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"batch": ["1", "1", "2", "2"], "cond": ["a", "a", "b", "b"],
    ...                   "sex": ["m", "f", "m", "f"]})
    >>> confounded_columns(s)
    [('batch', 'cond')]
    """
    if not isinstance(samples, pd.DataFrame):
        raise InputError(f"samples must be a pandas DataFrame, not {type(samples).__name__}.")
    g = _groupings(samples)
    names = list(g)
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
            if _determines(g[a], g[b]) or _determines(g[b], g[a])]


def proposed_design(samples: pd.DataFrame) -> str:
    """Propose a design formula from a sample table.

    Candidates are the factor-like columns (strings, categories, booleans) with two or more
    values and fewer values than samples. Of columns that group the samples identically
    (aliases, e.g. airway's ``condition`` and ``dex``) the first is kept. The condition is
    the first column named like one (``condition``, ``group``, ``treatment``, ``genotype``,
    ...), else the first candidate; it goes last, as DESeq2 tests the last term by default.
    Other candidates are added in table order when they keep the design of full rank with
    residual degrees of freedom. What was left out and why is logged.

    Raises
    ------
    DesignError
        When no column can be a condition.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"id": list("abcdef"), "batch": ["x", "y"] * 3,
    ...                   "condition": ["c", "c", "c", "t", "t", "t"]})
    >>> proposed_design(s)
    '~ batch + condition'
    """
    if not isinstance(samples, pd.DataFrame):
        raise InputError(f"samples must be a pandas DataFrame, not {type(samples).__name__}.")
    g = _groupings(samples)
    cands: list[str] = []
    for col in samples.columns:
        s = samples[col]
        name = str(col)
        if name not in g:
            logger.info("proposed design: %r left out (one value, or one sample per value)", name)
        elif s.isna().any() or (pd.api.types.is_numeric_dtype(s)
                                and not pd.api.types.is_bool_dtype(s)):
            logger.info("proposed design: %r left out (numeric or with missing values)", name)
        elif (alias := next((c for c in cands if _determines(g[c], g[name])
                             and _determines(g[name], g[c])), None)) is not None:
            logger.info("proposed design: %r left out, it is an alias of %r", name, alias)
        else:
            cands.append(name)
    if not cands:
        raise DesignError("No column of the sample table can be a condition: a condition needs "
                          "two or more values with replicates. Columns are: "
                          f"{', '.join(map(str, samples.columns))}.")
    low = {c.lower().replace(" ", "_"): c for c in cands}
    cond = next((low[n] for n in _CONDITION_NAMES if n in low), cands[0])
    chosen: list[str] = []
    for col in [c for c in cands if c != cond]:
        trial = [*chosen, col, cond]
        if _fits(samples, trial):
            chosen.append(col)
        else:
            logger.info("proposed design: %r left out, it is confounded with %s", col,
                        " or ".join(repr(c) for c in (*chosen, cond)))
    return "~ " + " + ".join(f"`{c}`" if _make_names(c) != c else c for c in [*chosen, cond])


def _fits(samples: pd.DataFrame, columns: list[str]) -> bool:
    n = samples.shape[0]
    blocks = [np.ones((n, 1))]
    for c in columns:
        codes = pd.factorize(samples[c])[0]
        blocks.append((codes[:, None] == np.arange(1, codes.max() + 1)[None, :]).astype(float))
    x = np.hstack(blocks)
    return bool(x.shape[1] < n and np.linalg.matrix_rank(x) == x.shape[1])
