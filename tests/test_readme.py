"""The README's tour runs as written (its Python block, in a temporary directory)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_tour_runs(tmp_path, monkeypatch):
    """Twice in the same folder: the second run replaces the saved result instead of failing."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README.md has no python block"
    monkeypatch.chdir(tmp_path)  # the tour saves a result
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    # the second time, training returns the first run's result at once (saving is what is tested)
    monkeypatch.setattr("toysup.train", lambda *args, **kwargs: namespace["result"])
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
    assert (tmp_path / "run" / "arrays.npz").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary folder left


def test_readme_has_the_three_commands():
    text = README.read_text()
    assert "pip install -e '.[dev]'" in text
    assert "python -m verify.phase_boundary" in text
    assert "python -m pytest" in text
