"""Shared fixtures. Every test that writes gets its own project root (WORKBENCH_ROOT) in a temp dir."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

# rich reads these when workbench.console builds its consoles (at import): FORCE_COLOR=1 (set by some CI) or an
# exported COLUMNS in the user's shell would put colour codes or another width into the piped output tests read;
# TERM=dumb (some CI) would take the terminal behaviour away from the tests that force a terminal.
for _var in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES", "JUPYTER_COLUMNS", "JUPYTER_LINES",
             "TERM"):
    os.environ.pop(_var, None)

# A shell that starts a job in the background without job control (`nohup .ci/run &`, `cmd & ` in a script) makes it
# ignore SIGINT, and every process the tests start inherits that: the Ctrl-C tests' commands then ran to the end
# (exit 0) or hung. The workbench does honour an ignored SIGINT (the shell's wish); the tests test a terminal's Ctrl-C.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a handled signal is reset to default by exec

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


@pytest.fixture(autouse=True)
def _loopback_bypasses_proxies(monkeypatch):
    """The fake OpenAI servers listen on 127.0.0.1: an HTTP_PROXY / ALL_PROXY set in the user's shell must not
    route the tests' requests through a proxy (httpx honours NO_PROXY; the lower-case form wins when both are set)."""
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost,::1")


_GUARDED = (".cache", ".cache/colourize", ".cache/judge", "runs", "traces", "build", "solutions/a2",
            "solutions/a2/results")


def _listing() -> dict[str, set[str]]:
    return {d: set(p.name for p in (REPO / d).iterdir()) if (REPO / d).is_dir() else set() for d in _GUARDED}


@pytest.fixture(autouse=True)
def _nothing_written_into_the_real_project():
    """Tests work in temp projects; a test that adds a file to the real one (e.g. after undoing its
    WORKBENCH_ROOT) fails here, naming what it left."""
    before = _listing()
    yield
    added = {d: sorted(names - before[d]) for d, names in _listing().items() if names - before[d]}
    assert not added, f"the test wrote into the real project: {added}"


@pytest.fixture
def file_size_limit():
    """Call with a byte count: any file this process writes may grow to that size, no further (RLIMIT_FSIZE; Python
    ignores SIGXFSZ, so the write fails with EFBIG, as it fails with ENOSPC on a full disk); None lifts it, as the
    end of the test does."""
    resource = pytest.importorskip("resource")
    before = resource.getrlimit(resource.RLIMIT_FSIZE)
    yield lambda size: resource.setrlimit(resource.RLIMIT_FSIZE, (before[0] if size is None else size, before[1]))
    resource.setrlimit(resource.RLIMIT_FSIZE, before)
