"""Execute every notebook in docs/notebooks/ (nbclient, kernel python3) and check it is committed
without outputs.

Each notebook runs top to bottom in a fresh kernel whose working directory is docs/notebooks/;
any exception in any cell fails the test. The kernel inherits this process's environment, with
``TOYSUP_CACHE_DIR`` pointed at a temporary directory (nothing is written to the user's cache) and
``MPLBACKEND`` unset so that figures render inline.

Time budget: all notebooks together run in under 60 s on a quiet 2-core CPU (kernel start-up
included; ``python -m pytest tests/test_notebooks.py --durations=0`` shows each one). Each trains
at most a few hundred thousand instance-steps and keeps its symbolic work small; a notebook that
needs more belongs in the slow tier. The per-cell timeout below only catches a hung cell.

Run one by hand: ``jupyter lab docs/notebooks/`` (or ``jupyter nbconvert --to notebook --execute
docs/notebooks/<name>.ipynb --output /tmp/<name>.ipynb``); the documentation site renders them
with their outputs (``mkdocs build`` executes them).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "docs" / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 300


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def test_there_are_notebooks():
    names = {p.stem for p in NOTEBOOKS}
    expected = {
        "n2m1_landscape",
        "n3m2_candidates",
        "bounds_and_tests",
        "geometry",
        "training_tour",
    }
    assert expected <= names, f"missing notebooks in {NOTEBOOK_DIR}: {sorted(expected - names)}"


def test_every_notebook_is_in_the_documentation_site():
    nav = (NOTEBOOK_DIR.parents[1] / "mkdocs.yml").read_text()
    missing = [p.name for p in NOTEBOOKS if f"notebooks/{p.name}" not in nav]
    assert not missing, f"add these notebooks to the nav of mkdocs.yml: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_committed_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: clear the outputs of cells {dirty} before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_executes(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TOYSUP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    errors = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error" or (output.get("name") == "stderr")
    ]
    assert not errors, f"{path.name} wrote errors or warnings: {errors}"
