"""The README: its tour runs as written (twice, in the same folder), its two commands are the ones
CI runs, and its numbers are the generator's (docs/generate_numbers.py)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NUMBERS = ROOT / "docs" / "generated" / "numbers.json"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_numbers", ROOT / "docs" / "generate_numbers.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_tour_runs_twice(tmp_path, monkeypatch):
    """Twice in the same folder: the second run replaces the saved result instead of failing."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README.md has no python block"
    monkeypatch.chdir(tmp_path)  # the tour saves a result
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert (tmp_path / "run" / "arrays.npz").is_file()
    # the second time, training returns the first run's result at once (saving is what is tested)
    monkeypatch.setattr("toysup.train", lambda *args, **kwargs: namespace["result"])
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary folder left


def test_readme_has_the_two_commands():
    text = README.read_text()
    assert "pip install -e '.[dev]' && python -m verify.phase_boundary" in text
    assert "pip install -e '.[dev]' && python -m pytest" in text
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^python -m pytest\b", ci, re.M), "CI must run the README's test command"


def test_readme_numbers_are_the_generated_ones():
    generator = _generator()
    numbers = json.loads(NUMBERS.read_text())
    text = README.read_text()
    shown = {m["key"]: m["value"] for m in generator.MARKER.finditer(text)}
    assert shown, "README.md has no <!-- numbers:KEY --> markers"
    assert shown == generator.readme_values(numbers), (
        "README.md's numbers differ from docs/generated/numbers.json: "
        "run python docs/generate_numbers.py"
    )


def test_update_readme_replaces_only_marked_values():
    generator = _generator()
    text = "a <!-- numbers:x -->1 s<!-- /numbers --> b <!-- numbers:y -->2<!-- /numbers -->"
    out = generator.update_readme(text, {"x": "3 s"})
    assert out == "a <!-- numbers:x -->3 s<!-- /numbers --> b <!-- numbers:y -->2<!-- /numbers -->"
