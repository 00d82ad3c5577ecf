"""Drawing helpers shared by the figure functions: a feature colour bar, tidy log-axis ticks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from verify.plots.style import SMALL


def feature_colourbar(fig: Any, axes: Sequence[Any], colours: Sequence[str], **kwargs: Any) -> Any:
    """A discrete colour bar of the feature colours, one band per feature, ticks at whole
    feature indices (at most about six)."""
    n = len(colours)
    norm = BoundaryNorm(np.arange(n + 1) - 0.5, n)
    cb = fig.colorbar(ScalarMappable(norm, ListedColormap(list(colours))), ax=list(axes), **kwargs)
    step = max(1, int(np.ceil(n / 6)))
    cb.set_ticks(np.arange(0, n, step))
    cb.set_label("feature $i$", fontsize=SMALL)
    cb.ax.tick_params(labelsize=SMALL - 1, length=0)
    return cb


def _plain(value: float, _: Any = None) -> str:
    return f"{value:g}"


def log_ticks(ax: Any, values: Any, *, axis: str = "y") -> None:
    """Plain-number tick labels (0.02, 0.1, 1, ...) on a log axis. Spanning at most two decades
    (judged from ``values``, the data drawn), the 2× and 5× minor ticks are labelled too."""
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data) & (data > 0)]
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(LogLocator(base=10))
    target.set_major_formatter(FuncFormatter(_plain))
    if data.size and np.log10(data.max() / data.min()) <= 2:
        target.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
        target.set_minor_formatter(FuncFormatter(_plain))
    else:
        target.set_minor_formatter(NullFormatter())
