"""Shared fixtures. Every test that writes gets its own project root (WORKBENCH_ROOT) in a temp dir."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
HORSE_DATA = SHARED / "data" / "cifar10-horse-jpeg"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """An isolated project root: the real problems/, prompts/ and solutions/ (read through symlinks),
    and empty traces/, runs/, build/ of its own."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("problems", "prompts", "solutions"):
        if (REPO / name).exists():
            (root / name).symlink_to(REPO / name, target_is_directory=True)
    for name in ("traces", "runs", "build"):
        (root / name).mkdir()
    monkeypatch.setenv("WORKBENCH_ROOT", str(root))
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"):
        monkeypatch.delenv(var, raising=False)
    return root


@pytest.fixture
def horse_data() -> Path:
    if not HORSE_DATA.is_dir():
        pytest.skip(f"shared horse data not present at {HORSE_DATA}")
    return HORSE_DATA
