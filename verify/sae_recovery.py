"""``python -m verify.sae_recovery``: sparse autoencoders on toy-model activations, scored
against the true features.

Trains toy models across density (dense to deep superposition), SAEs of each kind (ReLU with L1,
TopK, JumpReLU) at several widths and sparsity levels on their hidden activations, and scores
every SAE seed against the toy model's feature directions (:func:`verify.sae.recovery`). Beside
them: the decodability test on the same models, and the same SAEs on an orthogonal control
without superposition, which tells whether a failure comes from superposition or from density.
The toy model is the basic one (``h = W x``) by default; ``--toy-model privileged`` reads the
privileged-basis one (``h = ReLU(W x)``) instead, ``--toy-model both`` the two side by side on the
same features.
Writes summary.json, config.json, maps (NPZ, CSV) and figures (PNG, PDF, SVG) into ``--out``
(docs/sae.md).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from verify import job
from verify.sae_job.output import report, write_files
from verify.sae_job.run import RecoveryRun, run_recovery
from verify.sae_job.settings import LARGE, PRIVILEGED_SETTINGS, TOY_MODELS, RecoverySettings

DEFAULT_OUT = "sae_recovery_out"
PROG = "python -m verify.sae_recovery"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=job.HelpFormatter,
    )
    job.add_common_options(parser, default_out=DEFAULT_OUT)
    add = parser.add_argument
    default = RecoverySettings()
    add(
        "--toy-model",
        choices=("basic", "privileged", "both"),
        default="basic",
        help="which toy model the SAEs read: the basic one (h = W x, the default), the "
        "privileged-basis one (h = ReLU(W x)), or both side by side (basic first)",
    )
    add(
        "--privileged-settings",
        choices=PRIVILEGED_SETTINGS,
        default=default.privileged_settings,
        help="SAE settings on the privileged-basis model: every one, the reference setting of "
        "each kind, or auto (all when it is the only toy model, else the reference ones)",
    )
    add(
        "--large",
        action="store_true",
        help="n=100, m=20, importance 0.9^i, widths 100 and 200, two levels per kind (a GPU "
        "run; tens of minutes on a 2-core CPU)",
    )
    add("--n", type=int, help=f"features (default {default.n_features}; 100 with --large)")
    add("--m", type=int, help=f"hidden dimensions (default {default.n_hidden}; 20 with --large)")
    add(
        "--densities",
        type=float,
        nargs="+",
        metavar="P",
        help=f"feature densities, decreasing (default {' '.join(map(str, default.densities))})",
    )
    add("--kinds", nargs="+", choices=("relu", "topk", "jumprelu"), help="SAE kinds (default: all)")
    add("--widths", type=int, nargs="+", help="SAE widths (default n and 2n)")
    add("--l1", type=float, nargs="+", help=f"ReLU L1 levels (default {default.l1})")
    add("--k", type=int, nargs="+", help=f"TopK k levels (default {default.k})")
    add("--l0", type=float, nargs="+", help=f"JumpReLU L0 levels (default {default.l0})")
    add("--seeds", type=int, help=f"SAE seeds per setting (default {default.seeds})")
    add("--steps", type=int, help=f"SAE training steps (default {default.steps})")
    add("--batch", type=int, help=f"SAE batch size (default {default.batch})")
    add("--lr", type=float, help=f"SAE learning rate (default {default.lr})")
    add("--toy-steps", type=int, help=f"toy-model training steps (default {default.toy_steps})")
    add("--toy-seeds", type=int, help=f"toy-model seeds, best kept (default {default.toy_seeds})")
    add("--no-control", action="store_true", help="skip the orthogonal control")
    add(
        "--threshold",
        type=float,
        help=f"matched cosine for 'recovered' (default {default.threshold})",
    )
    add(
        "--samples",
        type=int,
        help=f"evaluation examples per configuration (default {default.eval_samples})",
    )
    return parser  # fmt: skip


def settings_from_args(args: argparse.Namespace) -> RecoverySettings:
    base: dict[str, Any] = dict(LARGE) if args.large else {}
    n = args.n if args.n is not None else base.get("n_features", RecoverySettings.n_features)
    if args.n is not None and args.widths is None:
        base["widths"] = (n, 2 * n)
    options = {
        "n_features": args.n,
        "n_hidden": args.m,
        "densities": args.densities,
        "kinds": args.kinds,
        "widths": args.widths,
        "l1": args.l1,
        "k": args.k,
        "l0": args.l0,
        "seeds": args.seeds,
        "steps": args.steps,
        "batch": args.batch,
        "lr": args.lr,
        "toy_steps": args.toy_steps,
        "toy_seeds": args.toy_seeds,
        "threshold": args.threshold,
        "eval_samples": args.samples,
    }
    if args.samples is not None:  # evaluated in chunks: memory is flat, time is not
        job.check_count("--samples", args.samples, minimum=2, maximum=MAX_EVAL_SAMPLES)
    for name, value in options.items():
        if value is not None:
            base[name] = tuple(value) if isinstance(value, list) else value
    if args.no_control:
        base["control"] = False
    base["toy_models"] = tuple(TOY_MODELS) if args.toy_model == "both" else (args.toy_model,)
    base["privileged_settings"] = args.privileged_settings
    return replace(RecoverySettings(), seed=args.seed, device=args.device, **base)


#: More evaluation examples per configuration than any interval needs (hours of evaluation).
MAX_EVAL_SAMPLES = 10**9


def memory_estimate(settings: RecoverySettings) -> dict[str, float]:
    """Planned memory in bytes per responsible option (refused up front if too large)."""
    s = settings
    C, w, m, n = len(s.densities), max(s.widths), s.n_hidden, s.n_features
    return {
        # evaluation: codes, reconstructions and inputs of every seed, one 2048-example chunk
        "--densities / --seeds / --widths": 8.0 * C * s.seeds * 2048 * (3 * w + 4 * m + 2 * n),
        # training buffers: about six (instances × width × batch) arrays per block
        "--batch": 4.0 * 6 * C * s.seeds * max(w, n) * s.batch,
        "--samples": 8.0 * C * n * 2048,
        "--steps": 48.0 * (s.steps + s.toy_steps),
    }


def compute(settings: RecoverySettings, args: argparse.Namespace) -> RecoveryRun:
    return run_recovery(settings, progress=job.progress_option(args), workers=args.workers)


JOB: job.Job[RecoverySettings, RecoveryRun] = job.Job(
    prog=PROG,
    parser=build_parser,
    settings=settings_from_args,
    memory=memory_estimate,
    compute=compute,
    write=lambda run, tmp, argv: write_files(run, tmp, argv, PROG),
    report=lambda run, out, files: report(run, out, files),
    failure_hint="lower --lr",
)


def main(argv: list[str] | None = None) -> int:
    """Run the job; returns the exit code (0 done, 1 failed, 2 bad options with nothing written,
    130 interrupted; see :mod:`verify.job.runner`)."""
    return job.run(JOB, argv)


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["JOB", "PROG", "Path", "build_parser", "main", "memory_estimate", "settings_from_args"]
