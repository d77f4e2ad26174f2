"""Every code block of docs/tutorial.md runs, in order, as a reader would run it.

``bash`` blocks run with ``bash -euo pipefail`` in one working folder; ``python`` blocks run
in one shared namespace in the same folder. A block fenced as ``text`` is output shown to
the reader and is not run. The tutorial's figures are written under that folder too, so the
test also checks that each image the tutorial shows exists in docs/images/.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(TUTORIAL.read_text())]


def test_tutorial_has_both_halves():
    langs = [lang for lang, _ in blocks()]
    assert langs.count("bash") >= 3 and langs.count("python") >= 3
    assert set(langs) <= {"bash", "python", "text"}


def test_tutorial_images_exist():
    for ref in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", TUTORIAL.read_text()):
        assert (TUTORIAL.parent / ref).is_file(), ref


def test_every_block_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "MPLBACKEND": "Agg"}
    namespace: dict[str, object] = {"__name__": "__tutorial__"}
    for i, (lang, code) in enumerate(blocks()):
        if lang == "bash":
            proc = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, f"block {i} (bash) failed:\n{code}\n{proc.stderr[-2000:]}"
        elif lang == "python":
            try:
                exec(compile(code, f"tutorial-block-{i}", "exec"), namespace)
            except Exception as exc:  # pragma: no cover - shown on failure
                pytest.fail(f"block {i} (python) raised {exc!r}:\n{code}")
