"""What a run found, as numbers: per toy model, configuration and SAE kind, is recovery good,
does the SAE agree with the decodability test on "more than m features", and when recovery
fails, is superposition or density the cause (the control)."""

from __future__ import annotations

from typing import Any

import numpy as np

from verify.sae_job.control import ControlScore
from verify.sae_job.run import RecoveryRun, SettingScore, TargetRun, basis_alignment

#: Recovery counts as good when the mean recovered fraction (over seeds) is at least this:
#: "most represented features" (docs/sae.md, "Findings").
GOOD_FRACTION = 0.75


def fraction(item: SettingScore | ControlScore) -> tuple[np.ndarray, np.ndarray]:
    """(C,) mean recovered fraction over seeds and (C, 2) its interval (recovered count's
    t-interval divided by the represented count)."""
    s = item.score
    rep = np.maximum(s.represented, 1).astype(np.float64)
    return s.mean("recovered") / rep, s.interval("recovered") / rep[:, None]


def cause_of_failure(toy_fraction: float, control_fraction: float | None) -> str:
    """``"recovers"`` (toy fraction ≥ GOOD_FRACTION); else ``"superposition"`` when the control
    recovers, ``"density"`` when it fails too, ``"unknown"`` without a control."""
    if toy_fraction >= GOOD_FRACTION:
        return "recovers"
    if control_fraction is None or not np.isfinite(control_fraction):
        return "unknown"
    return "superposition" if control_fraction >= GOOD_FRACTION else "density"


def findings(run: RecoveryRun, target: TargetRun | None = None) -> dict[str, Any]:
    """The summary's ``findings`` block for ``target`` (default: the run's primary toy model;
    keys documented in docs/sae.md)."""
    return target_findings(run, run.primary if target is None else target)


def target_findings(run: RecoveryRun, target: TargetRun) -> dict[str, Any]:
    """Findings on one toy model."""
    s = run.settings
    m = s.n_hidden
    decodable = np.array([d.n_decodable for d in target.decodability])
    reject = np.array([d.reject for d in target.decodability])
    control_by_kind = {item.config.kind: item for item in target.control}
    per_kind = {}
    for item in target.reference(s):
        frac, frac_ci = fraction(item)
        lower = item.score.interval("recovered")[:, 0]
        sae_more = lower > m
        control = control_by_kind.get(item.config.kind)
        control_frac = fraction(control)[0] if control is not None else None
        causes = [
            cause_of_failure(
                float(frac[i]), None if control_frac is None else float(control_frac[i])
            )
            for i in range(frac.size)
        ]
        per_kind[item.config.kind] = {
            "setting": item.config.label,
            "recovered_fraction": frac,
            "recovered_fraction_interval": frac_ci,
            "recovered_mean": item.score.mean("recovered"),
            "recovered_interval": item.score.interval("recovered"),
            "mcc_mean": item.score.mean("mcc"),
            "l0_mean": item.score.mean("l0"),
            "more_than_m": sae_more,
            "agreement_with_decodability": float(np.mean(sae_more == reject)),
            "control_recovered_fraction": control_frac,
            "cause": causes,
            "recovered_at_thresholds": {
                f"{t:g}": item.score.seed_recovered_at[:, :, j].mean(1)
                for j, t in enumerate(item.score.thresholds)
            },
        }
    best = []
    for i in range(run.density.size):
        fractions = [fraction(item)[0][i] for item in target.results]
        j = int(np.argmax(fractions))
        best.append({"setting": target.results[j].config.label, "recovered_fraction": fractions[j]})
    return {
        "hidden_activation": target.hidden_activation,
        "good_fraction": GOOD_FRACTION,
        "superposition": target.represented > m,
        "basis_alignment": basis_alignment(target.toy),
        "decodable": decodable,
        "decodability_reject": reject,
        "decodability_p_value": np.array([d.p_value for d in target.decodability]),
        "reference": per_kind,
        "best_setting": best,
    }
