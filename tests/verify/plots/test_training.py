"""verify.plots.training: loss curves per configuration and seed, the final-loss estimate with
its 95% error bar, from arrays or a TrainResult; bad input rejected."""

from __future__ import annotations

import numpy as np
import pytest

from toysup import FeatureConfig, ModelConfig, TrainConfig, train
from verify.plots import loss_curves, result_loss_curves

T, C, K = 40, 3, 2
STEPS = np.arange(T) * 25
RNG = np.random.default_rng(0)
HISTORY = (
    np.exp(-STEPS / 300)[:, None, None] * (1 + np.arange(C))[None, :, None]
    + 0.05 * RNG.random((T, C, K))
    + 0.01
)
FINAL = HISTORY[-1] * 0.98  # (C, K)
STDERR = 0.002 * np.ones((C, K))


def _line(fig, gid: str):
    (line,) = [ln for ax in fig.get_axes() for ln in ax.get_lines() if ln.get_gid() == gid]
    return line


def _bar(fig, c: int, index: int = 0):
    """(x, y, low, high) of the index-th final-loss error bar of configuration c."""
    ax = fig.get_axes()[c]
    containers = [ct for ct in ax.containers if ct.lines[0].get_gid() == f"final-{c}"]
    data, _, (bars,) = containers[index].lines
    (x, y) = np.c_[data.get_xdata(), data.get_ydata()][0]
    (_, low), (_, high) = bars.get_segments()[0]
    return x, y, low, high


def test_curves_seeds_kept_seed_and_error_bars(tmp_path, render_all):
    best = np.array([1, 0, 1])
    fig = loss_curves(STEPS, HISTORY, final_loss=FINAL, final_loss_stderr=STDERR, best_seed=best,
                      config_labels=["p = 0.3", "p = 0.1", "p = 0.03"])  # fmt: skip
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes[:C]] == ["p = 0.3", "p = 0.1", "p = 0.03"]
    for c in range(C):
        assert axes[c].get_yscale() == "log"
        for k in range(K):
            line = _line(fig, f"loss-{c}-{k}")
            np.testing.assert_allclose(line.get_xdata(), STEPS)
            np.testing.assert_allclose(line.get_ydata(), HISTORY[:, c, k])
            assert line.get_linewidth() == (1.3 if best[c] == k else 0.7)
            x, y, low, high = _bar(fig, c, k)
            assert x > STEPS[-1]  # right of the curves
            assert y == pytest.approx(FINAL[c, k])
            assert (low, high) == pytest.approx(
                (FINAL[c, k] - 1.96 * 0.002, FINAL[c, k] + 1.96 * 0.002)
            )
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == [
        "seed 0",
        "seed 1",
        "kept seed (thick)",
        "final loss ± 1.96 SE (fresh examples)",
    ]
    assert fig.get_figwidth() == pytest.approx(7.0)
    render_all(fig, tmp_path, "loss_curves")


def test_moving_mean_and_log_steps():
    """window=5: the centred mean of 5 logged points (fewer at the ends, NaN left out),
    checked against a direct loop; xscale="log" plots at step + 1."""
    history = HISTORY[:, :1, :1].copy()
    history[7, 0, 0] = np.nan
    fig = loss_curves(STEPS, history, window=5, xscale="log", configs=[0])
    y = _line(fig, "loss-0-0").get_ydata()
    raw = history[:, 0, 0]
    for t in range(T):
        if t == 7:
            assert np.isnan(y[t])
            continue
        near = raw[max(0, t - 2) : t + 3]
        assert y[t] == pytest.approx(np.nanmean(near), rel=1e-12)
    np.testing.assert_allclose(_line(fig, "loss-0-0").get_xdata(), STEPS + 1)
    assert fig.get_figwidth() == pytest.approx(3.3)


def test_from_a_train_result():
    """A real TrainResult: its history, every seed's final loss (with standard error) and the
    kept seed are what is drawn."""
    features = FeatureConfig(n_features=2, n_instances=2, density=[[0.1, 0.1], [1.0, 1.0]])
    result = train(
        features,
        ModelConfig(n_features=2, n_hidden=1),
        TrainConfig(
            steps=60,
            batch_size=64,
            lr=1e-2,
            n_seeds=2,
            log_every=10,
            eval_samples=256,
            device="cpu",
        ),
    )
    fig = result_loss_curves(result)
    for c in range(2):
        for k in range(2):
            np.testing.assert_allclose(
                _line(fig, f"loss-{c}-{k}").get_ydata(), result.history_loss[:, c, k]
            )
            assert _bar(fig, c, k)[1] == pytest.approx(result.seed_loss[c, k])
        kept = int(result.best_seed[c])
        assert _line(fig, f"loss-{c}-{kept}").get_linewidth() == 1.3
    with pytest.raises(TypeError, match="result must be a TrainResult"):
        result_loss_curves(object())


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"history_loss": HISTORY[:-1]},
            ValueError,
            r"history_loss must have shape \(T, C, k\), \(T, C\) or \(T,\) with T = 40",
        ),
        ({"history_loss": -HISTORY}, ValueError, "history_loss must be > 0"),
        ({"history_steps": STEPS[::-1]}, ValueError, "history_steps must be strictly increasing"),
        (
            {"final_loss": np.ones(2)},
            ValueError,
            r"final_loss must have shape \(C,\) = \(3,\) or \(C, k\) = \(3, 2\)",
        ),
        (
            {"final_loss": FINAL, "final_loss_stderr": np.ones(3)},
            ValueError,
            "final_loss_stderr must have the shape of final_loss",
        ),
        (
            {"final_loss": FINAL, "final_loss_stderr": -STDERR},
            ValueError,
            "final_loss_stderr must be >= 0",
        ),
        ({"final_loss_stderr": STDERR}, ValueError, "final_loss_stderr needs final_loss"),
        ({"best_seed": np.array([0, 2, 0])}, ValueError, r"best_seed must lie in \[0, 2\)"),
        (
            {"best_seed": np.array([0.0, 1.0, 0.0])},
            ValueError,
            r"best_seed must be \(3,\) integers",
        ),
        ({"configs": [3]}, ValueError, r"configs entry must be in \[0, 3\)"),
        ({"configs": []}, ValueError, "at least one configuration"),
        ({"window": 4}, ValueError, "window must be odd"),
        ({"window": 0}, ValueError, "window must be a positive integer"),
        ({"config_labels": ["a"]}, ValueError, r"one entry per instance \(3\)"),
        ({"xscale": "logit"}, ValueError, "xscale must be one of"),
        ({"sharey": 1}, TypeError, "sharey must be a bool"),
    ],
)
def test_bad_input(kwargs, error, match):
    args = {"history_steps": STEPS, "history_loss": HISTORY}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        loss_curves(args.pop("history_steps"), args.pop("history_loss"), **args)


def test_too_many_panels_names_the_way_out():
    with pytest.raises(
        ValueError, match=r"at most 36 panels .* got 40 configurations: pass configs="
    ):
        loss_curves(STEPS, np.ones((T, 40)))
