"""The README's architecture section names every module of the package tree (issue #12)."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# modules that are plumbing, not part of either pipeline
PLUMBING = {"__init__.py", "__main__.py", "_version.py", "_optional.py", "exceptions.py"}


def architecture_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Architecture")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_every_subpackage_and_module_is_named() -> None:
    section = architecture_section()
    named = set(re.findall(r"[\w*]+\.py", section))
    missing = []
    for path in sorted((ROOT / "graphneg").rglob("*.py")):
        if path.name in PLUMBING:
            continue
        if not any(fnmatch.fnmatch(path.name, pattern) for pattern in named):
            missing.append(str(path.relative_to(ROOT)))
    assert not missing, f"README architecture does not name: {missing}"
    for sub in sorted(p.name for p in (ROOT / "graphneg").iterdir() if (p / "__init__.py").is_file()):
        assert f"graphneg/{sub}/" in section, sub


def test_named_modules_exist() -> None:
    files = {p.name for p in (ROOT / "graphneg").rglob("*.py")}
    for name in set(re.findall(r"\b_[\w]+\.py\b", architecture_section())):
        assert name in files, f"README architecture names {name}, which is not in the tree"
