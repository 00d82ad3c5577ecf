"""The documentation's Python examples run as written: every ```python block of the
getting-started page and the package guides is executed (in a temporary folder, in order, one
namespace per page). And the project speaks for itself: no tracked file cites material a user does
not have (docs/conventions.md, "Citations")."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [DOCS / "getting_started.md", *sorted((DOCS / "guides").glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_python_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    assert blocks, f"{page.name} has no python example"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOYSUP_CACHE_DIR", str(tmp_path / "cache"))
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(page), "exec"), namespace)


# Built from pieces so that this file does not match itself.
_NOT_CITED = "|".join(
    [
        "DESIGN" + r"\.md",
        "REFERENCE" + r"\.md",
        "STYLE" + r"\.md",
        r"\.\./" + "shared",
        "this " + "task",
        "device " + "tool",
        "closing " + "note",
        "can_start_" + "another",
        "[Ii]ssue" + " [0-9]",
        "the " + "issue( |\\))",
        "(first|second|third|this|a|one) " + "session",
    ]
)


def test_no_file_cites_what_users_do_not_have():
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    pattern = re.compile(_NOT_CITED)
    hits = []
    for name in listed.decode().split("\0"):
        path = ROOT / name
        if not name or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.search(line):
                hits.append(f"{name}:{number}: {line.strip()[:120]}")
    assert not hits, "cite docs/conventions.md, the paper or a derivation page instead:\n" + (
        "\n".join(hits)
    )
