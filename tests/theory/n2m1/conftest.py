"""Shared set-up for the theory.n2m1 tests: a private cache directory for the whole session.

``exact_phase_map`` and ``exact_boundary`` cache on disk by default; the tests must neither read a
user's cache nor leave files in it. Tests that inspect the cache set their own directory.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOYSUP_CACHE_DIR", str(tmp_path_factory.mktemp("toysup-cache")))
        yield
