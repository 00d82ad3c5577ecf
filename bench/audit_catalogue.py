"""The library part of bench/audit_inputs.py: public functions, valid arguments, argument types.

Each :class:`~audit_values.Target` expands into one case per (argument, value class) of the
argument's type (bench/audit_values.py); :func:`special_cases` adds the cases that need more than
one argument changed at a time (mismatched shapes, a diverging run, a float32 underflow). The
functions are imported inside the calls, so a missing one is a crash of its own cases only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from audit_values import SCALAR_CLASSES, Case, Expect, Target, all_finite

# extra scalar types used below
# fmt: off
SCALAR_CLASSES["unit_real"] = {  # a finite real in [-1, 1]
    "nan": "error", "inf": "error", "huge": "error", "bool": "error", "string": "error",
    "none": "error", "negative": "ok", "zero": "ok",
}
SCALAR_CLASSES["real"] = {  # any finite real
    "nan": "error", "inf": "error", "bool": "error", "string": "error", "none": "error",
    "negative": "ok", "zero": "ok", "huge": "either",
}
# fmt: on


def fn(path: str) -> Callable[..., Any]:
    """``"theory.bounds.no_superposition_loss"`` -> a caller that imports it when called."""
    module, _, name = path.rpartition(".")

    def call(*args: Any, **kwargs: Any) -> Any:
        obj: Any = importlib.import_module(module)
        return getattr(obj, name)(*args, **kwargs)

    return call


def method(path: str, attr: str, method_name: str) -> Callable[..., Any]:
    """``BOUNDS["name"].method`` style calls: ``getattr(module.attr[key], method_name)``."""
    module, _, name = path.rpartition(".")

    def call(**kwargs: Any) -> Any:
        obj = importlib.import_module(module)
        return getattr(getattr(obj, name)[attr], method_name)(**kwargs)

    return call


def _torch_gen() -> Any:
    import torch

    return torch.Generator().manual_seed(0)


def _is_strategy(value: Any) -> bool:
    from hypothesis.strategies import SearchStrategy

    return isinstance(value, SearchStrategy)


def _tensor_call(path: str, **arrays: Any) -> Callable[..., Any]:
    """Call ``path`` with numpy values turned into float32 tensors (inside the case)."""

    def call(**kwargs: Any) -> Any:
        import torch

        conv = {
            k: torch.as_tensor(v, dtype=torch.float32) if isinstance(v, np.ndarray) else v
            for k, v in kwargs.items()
        }
        return fn(path)(**conv)

    del arrays
    return call


RNG = np.random.default_rng(0)
W23 = np.array([[1.0, -0.5, 0.0], [0.0, 0.8, 0.6]])
IMP3 = np.array([1.0, 0.5, 0.25])
DENS3 = np.array([0.5, 0.2, 0.1])
ANY_LENGTH_W = {("W", "wrong_length"): "ok"}  # one more feature is still a valid W
LABELS = np.array([["superposition", "dedicated"], ["not_represented", "dedicated"]])


# fmt: off
def targets() -> list[Target]:
    t: list[Target] = []
    add = t.append
    # ---------------------------------------------------------------- toysup configurations
    add(Target("toysup.FeatureConfig", fn("toysup.FeatureConfig"),
               {"n_features": 3, "n_instances": 2, "density": 0.5, "importance": 1.0},
               {"n_features": "count", "n_instances": "count", "density": "density",
                "importance": "importance"},
               overrides={("n_instances", "none"): "ok"}))  # None: inferred
    add(Target("toysup.FeatureConfig[per-feature]", fn("toysup.FeatureConfig"),
               {"n_features": 3, "density": DENS3, "importance": IMP3},
               {"density": "density", "importance": "importance"}))
    add(Target("toysup.ModelConfig", fn("toysup.ModelConfig"),
               {"n_features": 3, "n_hidden": 2, "activation": "relu", "init": "xavier_normal",
                "init_scale": 1.0},
               {"n_features": "count", "n_hidden": "count", "activation": "choice",
                "init": "choice", "init_scale": "posreal"}))
    add(Target("toysup.TrainConfig", fn("toysup.TrainConfig"),
               {"steps": 10, "batch_size": 8, "lr": 1e-3, "optimizer": "adamw",
                "weight_decay": 0.01, "eps": 1e-8, "schedule": "constant", "n_seeds": 1,
                "seed": 0, "loss_reduction": "sum", "log_every": 5, "eval_samples": 64,
                "device": "cpu", "dtype": "float32", "sampler": "auto"},
               {"steps": "count", "batch_size": "count", "lr": "posreal", "optimizer": "choice",
                "weight_decay": "nonneg", "eps": "posreal", "schedule": "choice",
                "n_seeds": "count", "seed": "count0", "loss_reduction": "choice",
                "log_every": "count", "eval_samples": "count", "device": "choice",
                "dtype": "choice", "sampler": "choice"},
               overrides={("log_every", "none"): "ok", ("weight_decay", "none"): "ok"}))
    add(Target("toysup.sae.SAEConfig", fn("toysup.sae.SAEConfig"),
               {"width": 6, "kind": "relu", "l1": 0.1, "bandwidth": 0.05,
                "threshold_init": 0.1, "resample_every": 50, "resample_until": 0.5},
               {"width": "count", "kind": "choice", "l1": "nonneg", "bandwidth": "posreal",
                "threshold_init": "posreal", "resample_every": "count",
                "resample_until": "prob"},
               overrides={("l1", "none"): "ok", ("resample_every", "none"): "ok",
                          ("resample_until", "zero"): "ok", ("resample_until", "one"): "ok"}))
    add(Target("toysup.sae.SAEConfig[topk]", fn("toysup.sae.SAEConfig"),
               {"width": 6, "kind": "topk", "k": 2}, {"k": "count"}))
    # ---------------------------------------------------------------- toysup functions
    add(Target("toysup.sample_features", lambda **kw: fn("toysup.sample_features")(
                    generator=_torch_gen(), **kw),
               {"density": np.array([[0.5, 0.5, 0.1]]), "batch_size": 4, "method": "dense"},
               {"density": "density", "batch_size": "count", "method": "choice"},
               overrides={("density", "wrong_length"): "ok"}))
    add(Target("toysup.reconstruct", _tensor_call("toysup.reconstruct"),
               {"W": np.ones((1, 2, 3)), "b": np.zeros((1, 3)), "x": np.ones((1, 4, 3)),
                "activation": "relu"},
               {"activation": "choice"}))
    add(Target("toysup.loss_per_instance", _tensor_call("toysup.loss_per_instance"),
               {"W": np.ones((1, 2, 3)), "b": np.zeros((1, 3)), "x": np.ones((1, 4, 3)),
                "importance": np.ones((1, 3)), "activation": "relu", "reduction": "sum"},
               {"activation": "choice", "reduction": "choice"}))
    for name in ("feature_norms", "gram", "interference", "dimensionality",
                 "dimensions_per_feature"):
        add(Target(f"toysup.metrics.{name}", fn(f"toysup.metrics.{name}"),
                   {"W": W23[None]}, {"W": "finite"}, overrides=ANY_LENGTH_W))
    add(Target("toysup.metrics.n_represented", fn("toysup.metrics.n_represented"),
               {"W": W23[None], "threshold": 0.5}, {"W": "finite", "threshold": "posreal"},
               overrides=ANY_LENGTH_W))
    add(Target("toysup.metrics.phase_label_n2m1", fn("toysup.metrics.phase_label_n2m1"),
               {"W": np.array([[[1.0, -1.0]]]), "threshold": 0.5},
               {"W": "finite", "threshold": "posreal"}))
    add(Target("toysup.metrics.phase_label_n3m2", fn("toysup.metrics.phase_label_n3m2"),
               {"W": W23[None], "threshold": 0.5, "antipodal_cosine": -0.8},
               {"W": "finite", "threshold": "posreal", "antipodal_cosine": "unit_real"}))
    # ---------------------------------------------------------------- theory.bounds, linear
    one_model = {"importance": IMP3, "density": 0.1, "m": 1}
    one_types = {"importance": "importance", "density": "density", "m": "count"}
    add(Target("theory.bounds.feature_variance", fn("theory.bounds.feature_variance"),
               {"density": DENS3}, {"density": "density"},
               overrides={("density", "wrong_length"): "ok"}))
    for name in ("bounds.no_superposition_loss", "bounds.no_superposition_solution",
                 "bounds.represented_features", "linear.optimal_loss",
                 "linear.optimal_solution"):
        add(Target(f"theory.{name}", fn(f"theory.{name}"), one_model, one_types,
                   overrides={("importance", "wrong_length"): "ok"}))
    add(Target("theory.bounds.no_superposition_loss[per-feature density]",
               fn("theory.bounds.no_superposition_loss"),
               {"importance": IMP3, "density": DENS3, "m": 1},
               {"density": "density"}))
    add(Target("theory.bounds.dense_relu_loss", fn("theory.bounds.dense_relu_loss"),
               {"importance": IMP3, "m": 1}, {"importance": "importance", "m": "count"},
               overrides={("importance", "wrong_length"): "ok"}))
    add(Target("theory.linear.expected_loss", fn("theory.linear.expected_loss"),
               {"W": W23[:1], "b": np.zeros(3), "importance": IMP3, "density": 0.1},
               {"W": "finite", "b": "finite", "importance": "importance",
                "density": "density"}))
    # ---------------------------------------------------------------- theory.geometry
    for name in ("feature_dimensionality", "dimensions_per_feature"):
        add(Target(f"theory.geometry.{name}", fn(f"theory.geometry.{name}"),
                   {"W": W23}, {"W": "finite"}, overrides=ANY_LENGTH_W))
    add(Target("theory.geometry.tight_frame_dimensionality",
               fn("theory.geometry.tight_frame_dimensionality"),
               {"n_vectors": 5, "dim": 2}, {"n_vectors": "count", "dim": "count"}))
    add(Target("theory.geometry.harmonic_frame", fn("theory.geometry.harmonic_frame"),
               {"n_vectors": 5, "dim": 3}, {"n_vectors": "count", "dim": "count"}))
    add(Target("theory.geometry.dedicated", fn("theory.geometry.dedicated"),
               {"dim": 2}, {"dim": "count"}))
    add(Target("theory.geometry.regular_polygon", fn("theory.geometry.regular_polygon"),
               {"n_vertices": 5, "radius": 1.0},
               {"n_vertices": "count", "radius": "posreal"}))
    add(Target("theory.geometry.square_antiprism", fn("theory.geometry.square_antiprism"),
               {"height": 0.5}, {"height": "prob"},
               overrides={("height", "none"): "ok"}))  # None: the tight-frame height
    # ---------------------------------------------------------------- theory.n2m1
    n2 = "theory.n2m1"
    overflow = (ValueError, TypeError, OverflowError)  # documented for unrepresentable losses
    add(Target(f"{n2}.expected_loss", fn(f"{n2}.expected_loss"),
               {"w": np.array([1.0, -1.0]), "b": np.zeros(2), "density": 0.1,
                "importance": np.ones(2)},
               {"w": "finite", "b": "finite", "density": "density", "importance": "importance"},
               errors=overflow))
    add(Target(f"{n2}.phase_label", fn(f"{n2}.phase_label"),
               {"w": np.array([[1.0, -1.0], [1.0, 0.0]]), "threshold": 0.5},
               {"w": "finite", "threshold": "nonneg"}))
    add(Target(f"{n2}.candidate_losses", fn(f"{n2}.candidate_losses"),
               {"importance": 0.5, "density": 0.3, "antipodal_bias": "zero"},
               {"importance": "importance", "density": "density", "antipodal_bias": "choice"}))
    add(Target(f"{n2}.candidate_boundary", fn(f"{n2}.candidate_boundary"),
               {"importance": np.array([0.5, 2.0]), "antipodal_bias": "optimal"},
               {"importance": "importance", "antipodal_bias": "choice"},
               # r = 0 has no boundary (the extra feature is never represented): refused
               overrides={("importance", "wrong_length"): "ok",
                          ("importance", "zero_entry"): "error"}))
    add(Target(f"{n2}.antipodal_optimal_bias", fn(f"{n2}.antipodal_optimal_bias"),
               {"density": 0.3}, {"density": "density"}))
    add(Target(f"{n2}.exact_optimum", fn(f"{n2}.exact_optimum"),
               {"importance": 0.5, "density": 0.1, "seed": 0, "n_random": 2},
               {"importance": "importance", "density": "density", "seed": "count0",
                "n_random": "count0"}))
    # ---------------------------------------------------------------- theory.n3m2
    add(Target("theory.n3m2.antipodal_pair_loss", fn("theory.n3m2.antipodal_pair_loss"),
               {"density": 0.3, "bias": 0.1}, {"density": "density", "bias": "unit_real"}))
    add(Target("theory.n3m2.optimal_antipodal_bias", fn("theory.n3m2.optimal_antipodal_bias"),
               {"density": 0.3}, {"density": "density"}))
    add(Target("theory.n3m2.candidate_solution", fn("theory.n3m2.candidate_solution"),
               {"label": "dedicated", "density": 0.3, "bias": "paper"},
               {"label": "choice", "density": "density", "bias": "choice"}))
    add(Target("theory.n3m2.candidate_losses", fn("theory.n3m2.candidate_losses"),
               {"importance": 0.5, "density": 0.3, "bias": "paper"},
               {"importance": "importance", "density": "density", "bias": "choice"}))
    add(Target("theory.n3m2.candidate_phase_map", fn("theory.n3m2.candidate_phase_map"),
               {"importance": np.array([0.5, 1.0, 2.0]), "density": np.array([0.1, 0.5])},
               {"importance": "importance", "density": "density"},
               overrides={("importance", "wrong_length"): "ok",
                          ("density", "wrong_length"): "ok"}))
    add(Target("theory.n3m2.phase_boundary_density", fn("theory.n3m2.phase_boundary_density"),
               {"importance": np.array([0.5, 2.0]), "bias": "optimal"},
               {"importance": "importance", "bias": "choice"},
               overrides={("importance", "wrong_length"): "ok"}))
    # ---------------------------------------------------------------- theory.compressed_sensing
    cs = "theory.compressed_sensing"
    add(Target(f"{cs}.measurement_bound", fn(f"{cs}.measurement_bound"),
               {"name": "order"}, {"name": "choice"}, names={"name": "bound"}))
    add(Target(f"{cs}.measurements_order", fn(f"{cs}.measurements_order"),
               {"k": 2.0, "n": 10.0, "constant": 1.0},
               {"k": "posreal", "n": "posreal", "constant": "posreal"}))
    add(Target(f"{cs}.measurements_order_density", fn(f"{cs}.measurements_order_density"),
               {"density": 0.1, "n": 100.0, "constant": 1.0},
               {"density": "density", "n": "posreal", "constant": "posreal"}))
    add(Target(f"{cs}.features_per_dimension", fn(f"{cs}.features_per_dimension"),
               {"density": 0.1, "bound": "order", "constant": 1.0},
               {"density": "density", "bound": "choice", "constant": "posreal"}))
    add(Target(f"{cs}.max_features", fn(f"{cs}.max_features"),
               {"m": 10.0, "density": 0.1, "bound": "order", "constant": 1.0},
               {"m": "posreal", "density": "density", "bound": "choice",
                "constant": "posreal"}))
    add(Target(f"{cs}.max_features_fixed_k", fn(f"{cs}.max_features_fixed_k"),
               {"m": 10.0, "k": 2.0, "constant": 1.0},
               {"m": "posreal", "k": "posreal", "constant": "posreal"}))
    bound = "chandrasekaran"
    add(Target(f"{cs}.BOUNDS[{bound}].measurements", method(f"{cs}.BOUNDS", bound, "measurements"),
               {"k": 2.0, "n": 10.0}, {"k": "posreal", "n": "posreal"}))
    add(Target(f"{cs}.BOUNDS[{bound}].max_features",
               method(f"{cs}.BOUNDS", bound, "max_features"),
               {"m": 10.0, "density": 0.1}, {"m": "posreal", "density": "density"}))
    for name in ("weak_threshold", "weak_threshold_argmax"):
        add(Target(f"{cs}.{name}", fn(f"{cs}.{name}"), {"delta": 0.5, "signed": True},
                   {"delta": "prob", "signed": "flag"}))
    add(Target(f"{cs}.weak_threshold_asymptotic", fn(f"{cs}.weak_threshold_asymptotic"),
               {"delta": 0.01, "signed": True, "order": 2},
               {"delta": "prob", "signed": "flag"}))
    add(Target(f"{cs}.weak_threshold_parametric", fn(f"{cs}.weak_threshold_parametric"),
               {"z": np.array([0.5, 1.0]), "signed": False}, {"z": "finite", "signed": "flag"},
               overrides={("z", "wrong_length"): "ok", ("z", "scalar"): "ok"}))
    add(Target(f"{cs}.statistical_dimension_rate", fn(f"{cs}.statistical_dimension_rate"),
               {"density": 0.1, "signed": True}, {"density": "density", "signed": "flag"}))
    for name in ("wilson_interval", "clopper_pearson_interval"):
        add(Target(f"{cs}.{name}", fn(f"{cs}.{name}"),
                   {"successes": 3, "trials": 10, "confidence": 0.95},
                   {"successes": "count0", "trials": "count", "confidence": "prob"},
                   # vectorised counts may come as floats: 10.0 trials is 10 trials
                   overrides={("trials", "integral_float"): "ok",
                              ("successes", "integral_float"): "ok"}))
    add(Target(f"{cs}.binomial_interval", fn(f"{cs}.binomial_interval"),
               {"successes": 3, "trials": 10, "method": "wilson"}, {"method": "choice"},
               names={"method": "interval"}))
    a = RNG.standard_normal((3, 6)) / np.sqrt(3)
    x = np.zeros(6)
    x[1] = 1.0
    add(Target(f"{cs}.recover_l1", fn(f"{cs}.recover_l1"),
               {"A": a, "y": a @ x, "nonnegative": False, "method": "linprog"},
               {"A": "finite", "y": "finite", "nonnegative": "flag", "method": "choice"},
               overrides={("A", "wrong_length"): "ok"}))
    add(Target(f"{cs}.recovery_trial", fn(f"{cs}.recovery_trial"),
               {"n": 8, "m": 4, "k": 1, "seed": 0, "value_distribution": "sign",
                "method": "linprog", "tolerance": 1e-4},
               {"n": "count", "m": "count", "k": "count", "seed": "count0",
                "value_distribution": "choice", "tolerance": "posreal"},
               overrides={("value_distribution", "none"): "ok"}))  # None: the default
    add(Target(f"{cs}.recovery_rate", fn(f"{cs}.recovery_rate"),
               {"W": RNG.standard_normal((4, 8)), "density": 0.2, "trials": 2, "seed": 0,
                "value_distribution": "uniform", "method": "linprog", "tolerance": 1e-4,
                "confidence": 0.95, "interval": "wilson"},
               {"W": "finite", "density": "density", "trials": "count", "seed": "count0",
                "value_distribution": "choice", "tolerance": "posreal", "confidence": "prob",
                "interval": "choice"},
               overrides={("W", "wrong_length"): "ok"}))
    add(Target(f"{cs}.phase_transition_grid", fn(f"{cs}.phase_transition_grid"),
               {"n": 8, "deltas": np.array([0.5]), "rhos": np.array([0.25, 0.5]), "trials": 1,
                "seed": 0, "method": "linprog"},
               {"n": "count", "deltas": "axis", "rhos": "axis", "trials": "count",
                "seed": "count0"}))
    add(Target(f"{cs}.sparse_vector", lambda **kw: fn(f"{cs}.sparse_vector")(
                    rng=np.random.default_rng(0), **kw),
               {"n": 8, "k": 2, "value_distribution": "uniform"},
               {"n": "count", "k": "count", "value_distribution": "choice"}))
    add(Target(f"{cs}.density_vector", lambda **kw: fn(f"{cs}.density_vector")(
                    rng=np.random.default_rng(0), **kw),
               {"n": 8, "density": 0.3, "value_distribution": "uniform"},
               {"n": "count", "density": "density", "value_distribution": "choice"}))
    add(Target(f"{cs}.gaussian_matrix", lambda **kw: fn(f"{cs}.gaussian_matrix")(
                    rng=np.random.default_rng(0), **kw),
               {"m": 3, "n": 5}, {"m": "count", "n": "count"}))
    add(Target(f"{cs}.relative_error", fn(f"{cs}.relative_error"),
               {"x_hat": np.array([1.0, 0.0]), "x": np.array([1.0, 0.1])},
               {"x_hat": "finite", "x": "finite"}))
    add(Target(f"{cs}.trial_rng", fn(f"{cs}.trial_rng"), {"seed": 3}, {"seed": "count0"}))
    # ---------------------------------------------------------------- verify.stats
    add(Target("verify.stats.superposition_test", fn("verify.stats.superposition_test"),
               {"W": np.array([[1.0, -1.0]]), "b": np.zeros(2), "density": 0.05,
                "importance": np.ones(2), "n_samples": 2000, "alpha": 0.01, "seed": 0,
                "activation": "relu", "method": "betting"},
               {"W": "finite", "b": "finite", "density": "density", "importance": "importance",
                "n_samples": "count", "alpha": "prob", "seed": "count0",
                "activation": "choice", "method": "choice"},
               check=all_finite, overrides={("activation", "none"): "ok"}))  # None: ReLU
    add(Target("verify.stats.represented_count_test", fn("verify.stats.represented_count_test"),
               {"weights": np.tile(np.array([[[1.0, -1.0]]]), (8, 1, 1)), "threshold": 0.5,
                "alpha": 0.01, "null_fraction": 0.5},
               {"weights": "finite", "threshold": "posreal", "alpha": "prob",
                "null_fraction": "prob"},
               overrides={("weights", "wrong_length"): "ok"}))
    h = RNG.standard_normal((120, 1))
    feats = np.column_stack([h[:, 0], RNG.standard_normal(120), RNG.standard_normal(120)])
    add(Target("verify.stats.decodability_test", fn("verify.stats.decodability_test"),
               {"hidden": h, "features": feats, "alpha": 0.05, "seed": 0,
                "n_permutations": 99, "test_fraction": 0.5, "stop_after": 10},
               {"hidden": "finite", "features": "finite", "alpha": "prob", "seed": "count0",
                "n_permutations": "count", "test_fraction": "prob",
                "stop_after": "count"},
               overrides={("hidden", "wrong_length"): "ok", ("features", "wrong_length"): "ok",
                          ("n_permutations", "none"): "ok"}))  # None: the default count
    add(Target("verify.stats.min_permutations", fn("verify.stats.min_permutations"),
               {"n_features": 3, "alpha": 0.01}, {"n_features": "count", "alpha": "prob"}))
    # ---------------------------------------------------------------- verify.compare
    for name in ("agreement", "cohen_kappa"):
        add(Target(f"verify.compare.{name}", fn(f"verify.compare.{name}"),
                   {"a": LABELS, "b": LABELS[::-1]}, {"a": "labels", "b": "labels"},
                   names={"a": "first map", "b": "second map"}))
    add(Target("verify.compare.cell_edges", fn("verify.compare.cell_edges"),
               {"axis": np.array([0.1, 1.0, 10.0])}, {"axis": "axis"}))
    add(Target("verify.compare.boundary_from_labels", fn("verify.compare.boundary_from_labels"),
               {"labels": LABELS, "density": np.array([0.1, 1.0]), "phase": "superposition"},
               {"labels": "labels", "density": "axis"}))
    add(Target("verify.compare.decades", fn("verify.compare.decades"),
               {"estimate": np.array([0.1, 0.2]), "reference": np.array([0.1, 0.1])},
               {"estimate": "positive", "reference": "positive"}))
    seed_labels = np.stack([LABELS, LABELS[::-1], LABELS], axis=-1)
    seed_loss = np.arange(12, dtype=np.float64).reshape(2, 2, 3)
    add(Target("verify.compare.select_labels", fn("verify.compare.select_labels"),
               {"seed_labels": seed_labels, "seed_loss": seed_loss, "select": "best"},
               {"seed_loss": "finite", "select": "choice"}))
    add(Target("verify.compare.bootstrap_labels", lambda **kw: fn(
                    "verify.compare.bootstrap_labels")(rng=np.random.default_rng(0), **kw),
               {"seed_labels": seed_labels, "seed_loss": seed_loss, "n_boot": 3,
                "select": "best"},
               {"seed_loss": "finite", "n_boot": "count", "select": "choice"}))
    add(Target("verify.compare.boundary_spread", fn("verify.compare.boundary_spread"),
               {"boot_labels": np.stack([LABELS] * 3), "density": np.array([0.1, 1.0]),
                "phase": "superposition"},
               {"density": "axis"}))
    # ---------------------------------------------------------------- verify.strategies
    st = "verify.strategies"
    strategy_targets: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        ("densities", {"min_value": 1e-3, "max_value": 1.0},
         {"min_value": "density", "max_value": "density"}),
        ("importances", {"n": 3, "kind": "uniform", "max_value": 10.0, "min_decay": 0.5},
         {"n": "count", "kind": "choice", "max_value": "posreal", "min_decay": "prob"}),
        ("weights", {"m": 2, "n": 3, "max_value": 2.0, "min_magnitude": 1e-3,
                     "allow_zero": True},
         {"m": "count", "n": "count", "max_value": "posreal", "min_magnitude": "posreal",
          "allow_zero": "flag"}),
        ("biases", {"n": 3, "max_value": 2.0}, {"n": "count", "max_value": "nonneg"}),
        ("model_configs", {"min_features": 1, "max_features": 8, "allow_wider": False},
         {"min_features": "count", "max_features": "count", "allow_wider": "flag"}),
        ("feature_configs", {"n_features": 3, "n_instances": 2, "min_density": 1e-3,
                             "max_importance": 10.0},
         {"n_features": "count", "n_instances": "count", "min_density": "density",
          "max_importance": "posreal"}),
        ("train_configs", {"max_steps": 50, "max_batch": 64, "max_seeds": 2, "device": "cpu"},
         {"max_steps": "count", "max_batch": "count", "max_seeds": "count",
          "device": "choice"}),
        ("n2m1_parameters", {"min_density": 1e-3, "max_weight": 3.0, "max_bias": 3.0,
                             "max_importance": 10.0},
         {"min_density": "density", "max_weight": "nonneg", "max_bias": "nonneg",
          "max_importance": "posreal"}),
        ("superposition_models", {"max_pairs": 3, "min_density": 1e-3, "margin": 0.5},
         {"max_pairs": "count", "min_density": "density", "margin": "prob"}),
        ("no_superposition_models", {"max_features": 6, "max_hidden": 4, "min_density": 1e-3},
         {"max_features": "count", "max_hidden": "count", "min_density": "density"}),
    ]
    # min_density above 0.21 is outside superposition_models' documented range (margin 0.5)
    strategy_overrides = {
        "superposition_models": {("min_density", "one"): "error", ("margin", "one"): "ok"},
        "importances": {("min_decay", "one"): "ok"},  # γ in [1, 1]: equal importances
        "feature_configs": {("n_features", "none"): "ok", ("n_instances", "none"): "ok"},
    }
    for name, good, types in strategy_targets:
        add(Target(f"{st}.{name}", fn(f"{st}.{name}"), good, types, check=_is_strategy,
                   overrides=strategy_overrides.get(name)))
    return t
# fmt: on


# -------------------------------------------------------------------- cases that change several


def _train(features: dict[str, Any] | None = None, **training: Any) -> Any:
    from toysup import FeatureConfig, ModelConfig, TrainConfig, train

    feats = FeatureConfig(**{"n_features": 3, "density": 0.3, **(features or {})})
    cfg = {"steps": 20, "batch_size": 16, "eval_samples": 64, "device": "cpu", **training}
    return train(feats, ModelConfig(n_features=3, n_hidden=2), TrainConfig(**cfg), progress=False)


def _train_with(**kwargs: Any) -> Callable[[], Any]:
    def call() -> Any:
        from toysup import FeatureConfig, ModelConfig, TrainConfig, train

        args = {
            "features": FeatureConfig(n_features=3, density=0.3),
            "model": ModelConfig(n_features=3, n_hidden=2),
            "training": TrainConfig(steps=5, batch_size=8, eval_samples=16, device="cpu"),
            "progress": False,
        }
        args.update(kwargs)
        return train(**args)

    return call


def _superposition_test_of(**kwargs: Any) -> Callable[[], Any]:
    def call() -> Any:
        from verify.stats import superposition_test

        args = {
            "W": np.array([[1.0, -1.0]]),
            "b": np.zeros(2),
            "density": 0.05,
            "importance": np.ones(2),
            "n_samples": 2000,
        }
        args.update(kwargs)
        return superposition_test(**args)

    return call


def special_cases(saved: Path) -> list[Case]:
    """Cases a single-argument variation does not reach. ``saved``: a valid saved TrainResult."""
    e = Expect
    from toysup import FeatureConfig, ModelConfig, TrainingDivergedError

    div = (TrainingDivergedError, ValueError)
    # fmt: off
    cases = [
        Case("toysup.train", "lr", "diverging", lambda: _train(lr=1e6),
             e("error", "instance", ("loss",), div)),
        Case("toysup.train", "density", "float32_underflow",
             lambda: _train({"density": 1e-300}), e("either", "density", ("1e-300",), div)),
        Case("toysup.train", "features", "wrong_type", _train_with(features={"n_features": 3}),
             e("error", "features", ("dict",))),
        Case("toysup.train", "features", "none", _train_with(features=None),
             e("error", "features", ("None",))),
        Case("toysup.train", "model", "wrong_type", _train_with(model="relu"),
             e("error", "model", ("str",))),
        Case("toysup.train", "model", "mismatch",
             _train_with(model=ModelConfig(n_features=4, n_hidden=2)),
             e("error", "n_features", ("4",))),
        Case("toysup.train", "training", "wrong_type", _train_with(training={"steps": 5}),
             e("error", "training", ("dict",))),
        Case("toysup.train", "workers", "zero", _train_with(workers=0),
             e("error", "workers", ("0",))),
        Case("toysup.train", "workers", "bool", _train_with(workers=True),
             e("error", "workers", ("True",))),
        Case("toysup.train", "workers", "fractional", _train_with(workers=1.5),
             e("error", "workers", ("1.5",))),
        Case("toysup.train", "batch_size", "huge",
             lambda: _train(batch_size=10**15), e("either", "batch_size", ("10000",))),
        Case("toysup.train", "features", "tiny_density",
             lambda: _train({"density": 1e-6}), e("ok")),
        Case("toysup.TrainConfig", "eval_samples", "one",
             lambda: fn("toysup.TrainConfig")(eval_samples=1),
             e("error", "eval_samples", ("1",))),
        Case("toysup.TrainConfig", "betas", "wrong_length",
             lambda: fn("toysup.TrainConfig")(betas=(0.9,)), e("error", "betas", ("0.9",))),
        Case("toysup.TrainConfig", "betas", "one",
             lambda: fn("toysup.TrainConfig")(betas=(1.0, 0.999)), e("error", "betas", ("1.0",))),
        Case("toysup.TrainConfig", "betas", "nan",
             lambda: fn("toysup.TrainConfig")(betas=(float("nan"), 0.9)),
             e("error", "betas", ("nan",))),
        Case("toysup.TrainConfig", "betas", "string",
             lambda: fn("toysup.TrainConfig")(betas="ab"), e("error", "betas", ("ab",))),
        Case("toysup.FeatureConfig", "density", "instance_mismatch",
             lambda: FeatureConfig(n_features=2, n_instances=3, density=np.full((2, 2), 0.5)),
             e("error", "density", ("(2, 2)",))),
        Case("toysup.FeatureConfig", "density", "2d_inferred",
             lambda: FeatureConfig(n_features=2, density=np.full((4, 2), 0.5)),
             e("ok", check=lambda c: c.n_instances == 4)),
        Case("toysup.FeatureConfig", "importance", "conflicting_rows",
             lambda: FeatureConfig(n_features=2, density=np.full((4, 2), 0.5),
                                   importance=np.ones((3, 2))),
             e("error", "importance", ("(3, 2)", "3"))),
        Case("toysup.sample_features", "generator", "integer_seed",
             lambda: fn("toysup.sample_features")(np.full((1, 2), 0.5), 4, generator=0),
             e("ok")),
        Case("toysup.sample_features", "generator", "string",
             lambda: fn("toysup.sample_features")(np.full((1, 2), 0.5), 4, generator="x"),
             e("error", "generator", ("'x'", "str"))),
        Case("toysup.sample_features", "generator", "negative",
             lambda: fn("toysup.sample_features")(np.full((1, 2), 0.5), 4, generator=-1),
             e("error", "generator", ("-1",))),
        Case("toysup.sample_features", "generator", "bool",
             lambda: fn("toysup.sample_features")(np.full((1, 2), 0.5), 4, generator=True),
             e("error", "generator", ("True",))),
        Case("toysup.sample_features", "generator", "none",
             lambda: fn("toysup.sample_features")(np.full((1, 2), 0.5), 4, generator=None),
             e("error", "generator", ("None",))),
        Case("toysup.sample_features", "batch_size", "huge",
             lambda: fn("toysup.sample_features")(np.full((1, 2), 0.5), 10**15, generator=0),
             e("either", "batch_size", ("10000",))),
        Case("toysup.reconstruct", "x", "wrong_shape",
             _wrong_shape_reconstruct, e("error", "x", ("(1, 4, 4)", "4"))),
        Case("toysup.loss_per_instance", "importance", "wrong_shape",
             _wrong_shape_loss, e("error", "importance", ("(1, 4)", "4"))),
        Case("verify.stats.superposition_test", "W", "huge_entries",
             _superposition_test_of(W=np.array([[1e200, -1e200]])),
             e("either", "W", ("1e+200",), check=all_finite)),
        Case("verify.stats.superposition_test", "b", "huge_negative",
             _superposition_test_of(b=np.array([-1e160, 0.0])),
             e("either", "b", ("1e+160",), check=all_finite)),
        Case("verify.stats.superposition_test", "b", "wrong_length",
             _superposition_test_of(b=np.zeros(3)), e("error", "b", ("(3,)",))),
        Case("verify.stats.superposition_test", "result", "train_result",
             lambda: fn("verify.stats.superposition_test")(_load(saved), 0),
             e("ok", check=all_finite)),
        Case("verify.stats.superposition_test", "config", "out_of_range",
             lambda: fn("verify.stats.superposition_test")(_load(saved), 7),
             e("error", "config", ("7",))),
        Case("verify.stats.represented_count_test", "weights", "train_result",
             lambda: fn("verify.stats.represented_count_test")(_load(saved), 0), e("ok")),
        Case("verify.stats.represented_count_test", "weights", "underpowered",
             lambda: fn("verify.stats.represented_count_test")(np.ones((3, 1, 2))),
             e("ok", check=lambda r: getattr(r, "underpowered", False))),
        Case("verify.stats.sample_activations", "result", "train_result",
             lambda: fn("verify.stats.sample_activations")(_load(saved), 0, n_rows=50, seed=0),
             e("ok")),
        Case("verify.stats.sample_activations", "n_rows", "zero",
             lambda: fn("verify.stats.sample_activations")(_load(saved), 0, n_rows=0, seed=0),
             e("error", "n_rows", ("0",))),
        Case("verify.stats.sample_activations", "result", "wrong_type",
             lambda: fn("verify.stats.sample_activations")(np.ones((1, 2)), 0, n_rows=5, seed=0),
             e("error", "result", ("array", "ndarray"))),
        Case("verify.stats.decodability_test", "features", "row_mismatch",
             lambda: fn("verify.stats.decodability_test")(np.ones((10, 1)), np.ones((9, 2))),
             e("error", "features", ("(9, 2)",))),
        Case("theory.linear.expected_loss", "b", "wrong_length",
             lambda: fn("theory.linear.expected_loss")(W23, np.zeros(4), IMP3, 0.1),
             e("error", "b", ("(4,)",))),
        Case("theory.compressed_sensing.measurements_order", "k", "above_n",
             lambda: fn("theory.compressed_sensing.measurements_order")(20.0, 10.0),
             e("error", "k", ("20",))),
        Case("theory.compressed_sensing.recovery_rate", "k", "above_n",
             lambda: fn("theory.compressed_sensing.recovery_rate")(
                 np.ones((2, 4)), k=5, trials=1, seed=0, method="linprog"),
             e("error", "k", ("5",))),
        Case("theory.compressed_sensing.sparse_vector", "k", "above_n",
             lambda: fn("theory.compressed_sensing.sparse_vector")(
                 4, 5, np.random.default_rng(0)), e("error", "k", ("5",))),
        Case("theory.compressed_sensing.sparse_vector", "rng", "integer",
             lambda: fn("theory.compressed_sensing.sparse_vector")(4, 2, 0),
             e("either", "rng", ("0", "int"))),
        Case("theory.geometry.square_antiprism", "height", "one",
             lambda: fn("theory.geometry.square_antiprism")(height=1.0),
             e("error", "height", ("1.0",))),
        Case("verify.compare.agreement", "b", "shape_mismatch",
             lambda: fn("verify.compare.agreement")(LABELS, LABELS[:1]),
             e("error", "second map", ("(1, 2)",))),
        Case("verify.compare.boundary_from_labels", "density", "length_mismatch",
             lambda: fn("verify.compare.boundary_from_labels")(LABELS, np.array([0.1, 0.3, 1.0])),
             e("error", "density", ("3",))),
    ]
    # fmt: on
    return cases


def _wrong_shape_reconstruct() -> Any:
    import torch

    return fn("toysup.reconstruct")(torch.ones(1, 2, 3), torch.zeros(1, 3), torch.ones(1, 4, 4))


def _wrong_shape_loss() -> Any:
    import torch

    return fn("toysup.loss_per_instance")(
        torch.ones(1, 2, 3), torch.zeros(1, 3), torch.ones(1, 4, 3), torch.ones(1, 4)
    )


def _load(path: Path) -> Any:
    from toysup import TrainResult

    return TrainResult.load(path)


def cases(saved: Path) -> list[Case]:
    out = [c for target in targets() for c in target.cases()]
    return out + special_cases(saved)
