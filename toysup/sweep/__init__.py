"""Sweeps: grids of configurations × seeds as tasks, run in-process or on Dask, into a resumable
Zarr store, read back as labelled xarray/pandas data (docs/sweeps.md).

::

    from toysup import FeatureConfig, ModelConfig, TrainConfig
    from toysup.sweep import Axis, Sweep, open_sweep, run_sweep, to_dataframe

    sweep = Sweep(
        features=FeatureConfig(n_features=2),
        model=ModelConfig(n_features=2, n_hidden=1),
        training=TrainConfig(steps=2000, lr=1e-2, schedule="cosine", n_seeds=6),
        axes=[Axis("density", np.geomspace(0.01, 1, 20)),
              Axis("importance", np.geomspace(0.1, 10, 20), feature=-1)],
    )
    run_sweep(sweep, "out/sweep.zarr", resume=True)       # or scheduler="local", workers=8
    ds = open_sweep("out/sweep.zarr")                       # ds.W: (density, importance, hidden, feature)
"""

from toysup.sweep.axes import Axis as Axis
from toysup.sweep.engines import SchedulerUnreachableError as SchedulerUnreachableError
from toysup.sweep.lock import StoreLockedError as StoreLockedError
from toysup.sweep.run import SweepReport as SweepReport
from toysup.sweep.run import run_sweep as run_sweep
from toysup.sweep.store import StoreExistsError as StoreExistsError
from toysup.sweep.store import SweepMismatchError as SweepMismatchError
from toysup.sweep.sweep import Sweep as Sweep
from toysup.sweep.sweep import Task as Task
from toysup.sweep.views import load_arrays as load_arrays
from toysup.sweep.views import open_sweep as open_sweep
from toysup.sweep.views import store_settings as store_settings
from toysup.sweep.views import to_dataframe as to_dataframe
from toysup.sweep.views import write_variable as write_variable

__all__ = [
    "Axis",
    "SchedulerUnreachableError",
    "StoreExistsError",
    "StoreLockedError",
    "Sweep",
    "SweepMismatchError",
    "SweepReport",
    "Task",
    "load_arrays",
    "open_sweep",
    "run_sweep",
    "store_settings",
    "to_dataframe",
    "write_variable",
]
