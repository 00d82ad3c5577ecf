"""Short human summaries of result objects: a verdict, a few labelled lines, an optional table.

Result dataclasses inherit :class:`Summarized` (and are declared with ``repr=False``), implement
``_summary()`` and then print as a few lines instead of a dump of their arrays; in Jupyter they
render as an HTML table. The fields themselves are unchanged.

The same code as ``theory/_summary.py`` (toysup and theory do not import each other;
tests/test_summaries.py checks that the two copies agree).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Table rows shown before the middle of a long table is elided.
MAX_ROWS = 8


def fmt(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` significant digits, exponents without padding (``2e-83``)."""
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def fmt_p(p: float) -> str:
    """A p-value: two significant digits, and ``< 1e-300`` for one that underflowed to 0."""
    return "< 1e-300" if p == 0 else f"= {fmt(p, 2)}"


def fmt_range(values: Any, digits: int = 3) -> str:
    """One number if all values are equal, else ``min … max`` (NaN-aware), for any shape."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        return "—"
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return fmt(arr[0], digits)
    lo, hi = float(finite.min()), float(finite.max())
    text = fmt(lo, digits) if lo == hi else f"{fmt(lo, digits)} … {fmt(hi, digits)}"
    bad = arr.size - finite.size
    return text + (f" ({bad} not finite)" if bad else "")


def fmt_interval(interval: Any, digits: int = 3) -> str:
    lo, hi = interval
    return f"[{fmt(lo, digits)}, {fmt(hi, digits)}]"


def fmt_shape(value: Any) -> str:
    return "×".join(str(s) for s in np.shape(value)) or "scalar"


@dataclass(frozen=True)
class Summary:
    """What a result prints: ``title``, a one-line ``verdict``, labelled ``lines`` and an optional
    ``table`` (header, rows; long tables keep their first and last rows)."""

    title: str
    verdict: str | None = None
    lines: list[tuple[str, str]] = field(default_factory=list)
    header: list[str] | None = None
    rows: list[list[str]] = field(default_factory=list)

    def _rows(self) -> list[list[str]]:
        if len(self.rows) <= MAX_ROWS:
            return self.rows
        head, tail = self.rows[: MAX_ROWS - 2], self.rows[-2:]
        gap = [f"… {len(self.rows) - len(head) - len(tail)} more"] + [""] * (len(self.rows[0]) - 1)
        return [*head, gap, *tail]

    def text(self) -> str:
        out = [self.title + (f" — {self.verdict}" if self.verdict else "")]
        width = max((len(k) for k, _ in self.lines), default=0)
        out += [f"  {k.ljust(width)}  {v}" for k, v in self.lines]
        if self.header:
            body = [self.header, *self._rows()]
            widths = [max(len(r[i]) for r in body) for i in range(len(self.header))]
            for r in body:
                out.append("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)).rstrip())
        return "\n".join(out)

    def html(self) -> str:
        esc = html.escape
        out = [f"<b>{esc(self.title)}</b>" + (f" — {esc(self.verdict)}" if self.verdict else "")]
        if self.lines:
            out.append("<table>")
            out += [f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in self.lines]
            out.append("</table>")
        if self.header:
            out.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in self.header))
            for r in self._rows():
                out.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>")
            out.append("</table>")
        return "\n".join(out)


class Summarized:
    """Mixin: ``repr``/``str`` print :meth:`_summary`'s text, Jupyter shows its HTML."""

    def _summary(self) -> Summary:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def __repr__(self) -> str:
        return self._summary().text()

    def __str__(self) -> str:
        return self._summary().text()

    def _repr_html_(self) -> str:
        return self._summary().html()
