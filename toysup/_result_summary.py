"""What a :class:`~toysup.result.TrainResult` prints: one line of settings and a table with one
row per configuration (density, importance, final loss ± standard error, best seed, features
represented), long tables shortened to their first and last rows."""

from __future__ import annotations

from typing import Any

import numpy as np

from toysup._summary import Summary, fmt, fmt_range
from toysup.metrics import REPRESENTED_THRESHOLD


def train_result_summary(result: Any) -> Summary:
    f, mdl, tr = result.features, result.model, result.training
    info = result.info if isinstance(result.info, dict) else {}
    where = ", ".join(
        str(v)
        for v in (
            info.get("device"),
            info.get("dtype"),
            f"{fmt(info['runtime_s'])} s" if "runtime_s" in info else None,
        )
        if v
    )
    title = (
        f"TrainResult: {f.n_instances} configuration{'s' * (f.n_instances != 1)} × "
        f"{tr.n_seeds} seed{'s' * (tr.n_seeds != 1)}, n = {mdl.n_features} features, "
        f"m = {mdl.n_hidden} hidden, {mdl.activation} output"
        + (", ReLU hidden layer" if mdl.hidden_activation == "relu" else "")
        + ("" if mdl.tied else ", untied decoder")
        + (" starting at |W|ᵀ" if mdl.decoder_init == "encoder_abs" else "")
        + (f", b starting at {fmt(mdl.bias_init)}" if mdl.bias_init else "")
    )
    reduction = "summed over features" if tr.loss_reduction == "sum" else "mean over features"
    lines = [
        ("training", f"{tr.steps} steps, batch {tr.batch_size}, {tr.optimizer} lr {fmt(tr.lr)} "
                     f"({tr.schedule}), seed {tr.seed}" + (f"; {where}" if where else "")),
        ("loss", f"on {tr.eval_samples} fresh examples, {reduction}; best of {tr.n_seeds} "
                 f"seed{'s' * (tr.n_seeds != 1)}"),
    ]  # fmt: skip
    family = [
        f"{f.values} values" if f.values != "unit" else "",
        f"{f.structure} sets of {f.set_size}" if f.structure != "independent" else "",
        "target |x|" if tr.target == "abs" else "",
        f"l1_hidden {fmt(tr.l1_hidden)}" if tr.l1_hidden else "",
        f"l1_weights {fmt(tr.l1_weights)}" if tr.l1_weights else "",
        f"{len(tr.snapshot_steps)} snapshots" if tr.snapshot_steps else "",
    ]
    if any(family):  # the model family's settings, and the loss with its penalty
        lines.append(("family", ", ".join(item for item in family if item)))
    if tr.l1_hidden or tr.l1_weights:
        penalised = ", ".join(fmt(v) for v in np.asarray(result.loss_penalized)[:8])
        lines.append(("with penalty", f"loss + penalty {penalised}"))
    W = np.asarray(result.W, dtype=np.float64)
    represented = (np.linalg.norm(W, axis=-2) > REPRESENTED_THRESHOLD).sum(-1)
    header = ["config", "density", "importance", "loss", "± stderr", "best seed", "represented"]
    rows = [
        [
            str(c),
            fmt_range(f.density_array[c]),
            fmt_range(f.importance_array[c]),
            fmt(result.loss[c]),
            fmt(result.loss_stderr[c], 2),
            f"{int(result.best_seed[c])} of {tr.n_seeds}",
            f"{int(represented[c])} of {mdl.n_features}",
        ]
        for c in range(len(result.loss))
    ]
    return Summary(title, None, lines, header, rows)
