"""Where a project's folders live. WORKBENCH_ROOT overrides the repository root (tests use it)."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def project_root() -> Path:
    return Path(os.environ.get("WORKBENCH_ROOT", REPO_ROOT)).resolve()


def problems_dir() -> Path:
    return project_root() / "problems"


def prompts_dir() -> Path:
    return project_root() / "prompts"


def traces_dir() -> Path:
    return project_root() / "traces"


def solutions_dir() -> Path:
    return project_root() / "solutions"


def runs_dir() -> Path:
    return project_root() / "runs"


def build_dir() -> Path:
    return project_root() / "build"
