"""Atomic file writes: write beside the target, then rename, so readers never see half a file.

Also folder_lock (a check-then-write that a second process cannot interleave) and remove_orphans (the temp
folders of a process killed by SIGKILL, told by the pid in their names, removed by the next one)."""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from workbench.errors import TraceError, WriteError
from workbench.paths import missing_folders, remove_empty


def creation_mode(base: int = 0o666) -> int:
    """The mode a plain open() (base 0o666) or mkdir() (0o777) would give; mkstemp/mkdtemp alone are private."""
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


@contextmanager
def atomic_path(path: Path, exclusive: bool = False):
    """Yield a temp path beside `path`; on success it becomes `path` (never replacing one if exclusive).
    On failure nothing is left: the folders it made for `path` are removed again while empty."""
    path = Path(path)
    tmp = None
    made = missing_folders(path.parent)
    done = False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        yield Path(tmp)
        with open(tmp, "rb") as fh:  # on disk before the rename, whoever wrote it (torch.save, savefig, ...)
            os.fsync(fh.fileno())
        os.chmod(tmp, creation_mode())
        if exclusive:
            try:
                os.link(tmp, path)  # fails if the name exists
            except FileExistsError:
                raise TraceError(f"{path} already exists", "it is never overwritten; nothing was written") from None
        else:
            os.replace(tmp, path)
        done = True
    except OSError as exc:  # a full disk, a file size limit, an I/O error: a traceback before
        raise cannot_write(path, exc) from exc
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if not done:
            remove_empty(made)


def cannot_write(path: Path, exc: OSError) -> WriteError:
    """One line for a failed write: what, where, why, and what to do."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        advice = "free some space there, or write somewhere else"
    elif exc.errno == errno.EFBIG:
        advice = "the file system or the file size limit (ulimit -f) allows no file this large: raise it or write elsewhere"
    else:
        advice = "check the disk and that the folder is writable"
    return WriteError(f"cannot write {path}: {reason[:1].lower()}{reason[1:]}",
                      f"{advice}, then run it again; nothing was replaced", reason, advice)


@contextmanager
def folder_lock(folder: Path):
    """Hold an exclusive lock on an existing folder while a check-then-write runs (flock on the folder itself: no
    file is made, and the lock goes with the process that held it, even on SIGKILL). Without fcntl, no lock."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def remove_orphans(folder: Path, names: re.Pattern, older_than_s: float = 0.0) -> None:
    """Remove the temp folders in `folder` whose whole name `names` matches, its group 1 the pid of the process
    that made it, when that process is gone (SIGKILL skips every cleanup). A live process keeps its own, and so
    does any folder changed in the last `older_than_s` seconds."""
    if os.name != "posix":  # os.kill(pid, 0) is no probe there
        return
    for path in folder.iterdir():
        found = names.fullmatch(path.name)
        if not found or not path.is_dir():
            continue
        if older_than_s and time.time() - path.stat().st_mtime < older_than_s:
            continue
        if pid_gone(int(found[1])):
            shutil.rmtree(path, ignore_errors=True)


def pid_gone(pid: int) -> bool:
    """Whether no process has this pid (then the temp folders named after it are orphans)."""
    if os.name != "posix":  # os.kill(pid, 0) is no probe there: it ends the process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # EPERM: alive, another user's
        pass
    return False


def atomic_write(path: Path, data: bytes, exclusive: bool = False) -> None:
    with atomic_path(path, exclusive=exclusive) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


def save_figure(fig, path: Path, dpi: int = 120) -> None:
    """Save a matplotlib Figure atomically, in the format its suffix names (.png, .pdf, .svg), and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
