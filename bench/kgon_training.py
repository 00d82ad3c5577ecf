"""Trained n = k, m = 2 models against the regular k-gon family (run by hand; not a timed test).

    python bench/kgon_training.py                 # docs/kgon.md §4: k = 3..8, 10 densities, 16 seeds
    python bench/kgon_training.py --ks 5 6 --seeds 16 --steps 16000

Prints the Markdown table of :meth:`verify.kgon.KGonComparison.markdown`, then a summary: the
decisive cells (the family's runner-up at least 5% worse) where the best seed represents theory's
number of features, and the best seed's loss relative to the family's optimum per n.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from verify.kgon import KGonSettings, run_kgon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[3, 4, 5, 6, 7, 8])
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = KGonSettings(
        ks=tuple(args.ks), seeds=args.seeds, steps=args.steps, lr=args.lr, seed=args.seed
    )
    started = time.perf_counter()
    c = run_kgon(settings, progress=False)
    print(c.markdown())
    print()
    decisive = c.decisive
    hit = c.best_count == c.theory_k
    print(
        f"decisive cells: {int(decisive.sum())} of {decisive.size}; best seed represents theory's "
        f"k' in {int(hit[decisive].sum())} of them"
    )
    for i, k in enumerate(c.ks):
        ratio = c.best_ratio[i]
        print(
            f"n = {k}: best seed / family optimum {np.min(ratio):.3f} … {np.max(ratio):.3f}; "
            f"theory's k' by density {c.theory_k[i].tolist()}, best seed's {c.best_count[i].tolist()}"
        )
    print(
        f"time: theory {c.timings['theory_s']:.0f} s, training {c.timings['train_s']:.0f} s, "
        f"total {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
