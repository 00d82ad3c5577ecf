"""Set-up of the property suite: hypothesis profiles, markers, and the target under test.

Registered here (not in a project conftest) so the suite works from an installed package:
``pytest --pyargs verify.properties`` from any directory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    InMemoryExampleDatabase,
)

pytest.register_assert_rewrite("verify.properties._checks")

from verify.properties import _target  # noqa: E402  (after the assert-rewrite registration)


def _database() -> ExampleDatabase | None:
    """hypothesis's example database and home directory (``TOYSUP_HYPOTHESIS_DB``; never the
    current directory, where hypothesis would otherwise create ``.hypothesis/``)."""
    kind, path = _target.database_setting()
    set_hypothesis_home_dir(path)
    if kind == "directory":
        return DirectoryBasedExampleDatabase(str(path / "examples"))
    return InMemoryExampleDatabase() if kind == "memory" else None


_DATABASE = _database()
_COMMON: dict[str, Any] = {
    "deadline": None,  # training examples take a second or more
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.differing_executors],
}
settings.register_profile(
    "dev", max_examples=_target.BUDGETS["dev"].examples, database=_DATABASE, **_COMMON
)
# derandomized: every run draws the same examples, so there is nothing to replay (no database)
settings.register_profile(
    "ci", max_examples=_target.BUDGETS["ci"].examples, derandomize=True, **_COMMON
)
settings.load_profile(_target.profile_name())


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long-running (deselected by -m 'not slow')")
    config.addinivalue_line("markers", "gpu: needs CUDA")
    config.addinivalue_line("markers", "trainer: trains models with the trainer under test")
    config.addinivalue_line("markers", "checkpoint: checks a saved TrainResult")


def pytest_report_header(config: pytest.Config) -> list[str]:
    spec = _target.trainer_spec()
    ckpt = [str(p) for p in _checkpoint_ids()]
    db = settings().database  # the loaded profile's
    where = getattr(db, "path", None) or ("none" if db is None else "memory")
    return [
        f"toysup property suite: profile={_target.profile_name()} "
        f"trainer={spec or '(none: checkpoint only)'} checkpoints={ckpt or '(none)'} "
        f"device={_target.device()} hypothesis-db={where}"
    ]


@pytest.fixture(scope="session")
def budget() -> _target.Budget:
    """How hard the selected profile works (``_target.BUDGETS``)."""
    return _target.budget()


@pytest.fixture(scope="session")
def trainer() -> Callable[..., Any]:
    """The trainer under test (``TOYSUP_TRAINER``, default ``toysup:train``)."""
    spec = _target.trainer_spec()
    if spec is None:
        pytest.skip("TOYSUP_CHECKPOINT is set without TOYSUP_TRAINER: checking the checkpoint only")
    return _target.load_trainer(spec)


def _checkpoint_ids() -> list[Path | None]:
    try:
        return list(_target.checkpoint_paths())
    except FileNotFoundError:
        return [Path("<invalid TOYSUP_CHECKPOINT>")]


@pytest.fixture(scope="session", params=_checkpoint_ids() or [None], ids=str)
def checkpoint_path(request: pytest.FixtureRequest) -> Path:
    """Each directory in ``TOYSUP_CHECKPOINT``; the checkpoint tests skip when it is unset."""
    if request.param is None:
        pytest.skip("TOYSUP_CHECKPOINT is not set")
    _target.checkpoint_paths()  # raises FileNotFoundError naming a bad path
    return Path(request.param)
