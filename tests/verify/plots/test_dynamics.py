"""verify.plots.dynamics: D_i and loss against step from snapshots, jumps between the sticky
fractions, the energy-level view; snapshots dicts validated."""

from __future__ import annotations

import numpy as np
import pytest

from verify.plots import (
    STICKY_FRACTIONS,
    dimensionality_jumps,
    energy_levels,
    learning_dynamics,
    snapshot_arrays,
)
from verify.plots.dynamics import compact_number

STEPS = np.array([0, 10, 100, 1000])
E1, E2 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
# n=4 features in m=2: two dedicated features (D = 1, 1, 0, 0), then two antipodal pairs
# (D = 1/2 each), kept to the end.
DEDICATED = np.stack([E1, E2, 0 * E1, 0 * E2], axis=1)
PAIRS = np.stack([E1, E2, -E1, -E2], axis=1)
TRAJECTORY = np.stack([DEDICATED, DEDICATED, PAIRS, PAIRS])  # (k, m, n)
EXPECTED_D = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0.5] * 4, [0.5] * 4])


def _lines(fig, prefix: str):
    return [
        line
        for ax in fig.get_axes()
        for line in ax.get_lines()
        if str(line.get_gid()).startswith(prefix)
    ]


def test_jumps_are_where_features_change_configuration():
    np.testing.assert_array_equal(dimensionality_jumps(STEPS, TRAJECTORY), [100])
    np.testing.assert_array_equal(dimensionality_jumps(STEPS, TRAJECTORY, threshold=0.6), [])


def test_learning_dynamics_draws_d_i_loss_and_jumps(tmp_path, render_all):
    loss_steps = np.arange(0, 1001, 50)
    loss = np.stack([np.exp(-loss_steps / 300) + 0.01, np.exp(-loss_steps / 200) + 0.02], axis=1)
    fig = learning_dynamics(STEPS, TRAJECTORY, loss_steps=loss_steps, loss=loss, title="t")
    top, bottom = fig.get_axes()[:2]
    for i in range(4):
        (line,) = _lines(fig, f"dimensionality-{i}")
        np.testing.assert_allclose(line.get_xdata(), STEPS + 1)  # log axis: step + 1
        np.testing.assert_allclose(line.get_ydata(), EXPECTED_D[:, i], atol=1e-12)
    (d_star,) = _lines(fig, "dimensions-per-feature")
    np.testing.assert_allclose(d_star.get_ydata(), [1.0, 1.0, 0.5, 0.5])  # m / ‖W‖²_F
    losses = _lines(fig, "loss")
    assert len(losses) == 2 and bottom.get_yscale() == "log" and top.get_xscale() == "log"
    np.testing.assert_allclose(losses[1].get_ydata(), loss[:, 1])
    jumps = _lines(fig, "jump")
    assert len(jumps) == 2 and all(line.get_xdata()[0] == 101 for line in jumps)  # both panels
    sticky = sorted(line.get_ydata()[0] for line in _lines(fig, "sticky-"))
    assert sticky == sorted(v for v, _ in STICKY_FRACTIONS)
    assert {"1", "3/4", "2/3", "1/2", "2/5", "3/8"} <= {t.get_text() for t in top.texts}
    assert fig.get_figwidth() == pytest.approx(3.3)
    render_all(fig, tmp_path, "dynamics")


def test_learning_dynamics_linear_without_loss():
    fig = learning_dynamics(STEPS, TRAJECTORY, xscale="linear", size="page")
    (line,) = _lines(fig, "dimensionality-0")
    np.testing.assert_allclose(line.get_xdata(), STEPS)
    assert fig.get_figwidth() == pytest.approx(7.0)
    assert not _lines(fig, "loss")


def test_snapshot_arrays_pick_one_configuration():
    snapshots = {
        "step": STEPS,
        "W": np.stack([TRAJECTORY, 2 * TRAJECTORY]),
        "b": np.stack([np.zeros((4, 4)), np.ones((4, 4))]),
        "W_dec": np.swapaxes(np.stack([TRAJECTORY, 3 * TRAJECTORY]), -1, -2),
    }
    picked = snapshot_arrays(snapshots, config=1)
    np.testing.assert_array_equal(picked.step, STEPS)
    np.testing.assert_array_equal(picked.W, 2 * TRAJECTORY)
    np.testing.assert_array_equal(picked.b, np.ones((4, 4)))
    np.testing.assert_array_equal(picked.W_dec, 3 * np.swapaxes(TRAJECTORY, -1, -2))
    tied = snapshot_arrays({"step": STEPS, "W": snapshots["W"]})
    assert tied.b is None and tied.W_dec is None


@pytest.mark.parametrize(
    ("snapshots", "kwargs", "error", "match"),
    [
        ({"W": np.zeros((1, 4, 2, 4))}, {}, ValueError, r"with keys \['W'\]"),
        (
            {"step": STEPS, "W": TRAJECTORY},
            {},
            ValueError,
            r"must have shape \(configs, k=4, m, n\)",
        ),
        ({"step": STEPS[::-1], "W": TRAJECTORY[None]}, {}, ValueError, "strictly increasing"),
        (
            {"step": STEPS, "W": TRAJECTORY[None]},
            {"config": 1},
            ValueError,
            r"config must be in \[0, 1\)",
        ),
        (
            {"step": STEPS, "W": TRAJECTORY[None]},
            {"config": True},
            TypeError,
            "config must be an integer",
        ),
        (
            {"step": STEPS, "W": TRAJECTORY[None], "b": np.zeros(4)},
            {},
            ValueError,
            r"'b'\] must have shape \(1, 4, 4\)",
        ),
        (
            {"step": STEPS, "W": TRAJECTORY[None], "W_dec": TRAJECTORY[None]},
            {},
            ValueError,
            r"'W_dec'\] must have shape \(1, 4, 4, 2\) \(configs, k, n, m\)",
        ),
        ([1, 2], {}, ValueError, "snapshots must be a dict"),
    ],
)
def test_snapshot_arrays_rejects_bad_input(snapshots, kwargs, error, match):
    with pytest.raises(error, match=match):
        snapshot_arrays(snapshots, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"W": TRAJECTORY[:3]}, r"one snapshot per step \(k = 4\), got shape \(3, 2, 4\)"),
        ({"step": [0, 10, 10, 20]}, "step must be strictly increasing"),
        ({"step": [-1, 0, 1, 2]}, "step must be finite and >= 0"),
        ({"loss": np.ones(3)}, "pass both loss_steps and loss"),
        (
            {"loss_steps": [0, 1], "loss": np.ones(3)},
            r"loss must have shape \(T,\) or \(T, seeds\) with T = 2",
        ),
        (
            {"loss_steps": [0, 1], "loss": [1.0, 0.0]},
            r"loss must be finite and > 0 \(a log axis\), got \[0.0\]",
        ),
        ({"xscale": "symlog"}, r"xscale must be one of \['linear', 'log'\]"),
        ({"jump_threshold": 2.0}, r"threshold must be in \[0, 1\]"),
    ],
)
def test_learning_dynamics_rejects_bad_input(kwargs, match):
    args = {"step": STEPS, "W": TRAJECTORY}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        learning_dynamics(args.pop("step"), args.pop("W"), **args)


def test_energy_levels(tmp_path, render_all):
    """One column per chosen snapshot; each feature's level at its D_i; features with the same
    D_i sit side by side (distinct x), not on top of each other."""
    fig = energy_levels(STEPS, TRAJECTORY)
    ax = fig.get_axes()[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "10", "100", "1k"]
    for col in range(4):
        centres = []
        for i in range(4):
            (level,) = _lines(fig, f"level-{col}-{i}")
            np.testing.assert_allclose(level.get_ydata(), EXPECTED_D[col, i], atol=1e-12)
            centres.append(np.mean(level.get_xdata()))
            assert abs(centres[-1] - col) < 0.5  # inside its column
        drawn = set(zip(np.round(EXPECTED_D[col], 6), np.round(centres, 6)))
        assert len(drawn) == 4  # levels at the same D_i are spread sideways
    assert len(_lines(fig, "transition")) == 3 * 4
    chosen = energy_levels(STEPS, TRAJECTORY, at=[1000, 10])
    assert [t.get_text() for t in chosen.get_axes()[0].get_xticklabels()] == ["10", "1k"]
    with pytest.raises(
        ValueError,
        match=r"at must list snapshot steps among \[0.0, 10.0, 100.0, 1000.0\], got \[5.0\]",
    ):
        energy_levels(STEPS, TRAJECTORY, at=[5])
    render_all(fig, tmp_path, "energy")


def test_compact_step_labels_keep_three_significant_digits():
    labels = [compact_number(v) for v in (0, 950, 1234, 3786, 20000, 999_999, 3e6)]
    assert labels == ["0", "950", "1.23k", "3.79k", "20k", "1M", "3M"]
