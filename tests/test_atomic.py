"""Atomic writes: all or nothing, never over an exclusive file, ordinary permissions."""

import errno
import io
import os
import stat

import pytest

from workbench.atomic import atomic_path, atomic_write
from workbench.errors import TraceError, WriteError


def test_write_replaces_and_follows_umask(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_missing_parent_folders_are_made(tmp_path):
    target = tmp_path / "traces" / "1.1" / "t.json"
    atomic_write(target, b"{}", exclusive=True)
    assert target.read_bytes() == b"{}" and [p.name for p in target.parent.iterdir()] == ["t.json"]


def test_exclusive_never_overwrites(tmp_path):
    target = tmp_path / "trace.json"
    atomic_write(target, b"first", exclusive=True)
    with pytest.raises(TraceError, match="already exists"):
        atomic_write(target, b"second", exclusive=True)
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["trace.json"]


def test_failure_leaves_nothing(tmp_path):
    target = tmp_path / "a.pdf"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("pandoc failed")
    assert list(tmp_path.iterdir()) == []


def test_what_any_writer_wrote_is_synced_before_the_rename(tmp_path, monkeypatch):
    """torch.save and savefig write through atomic_path: their bytes reach the disk before the new name appears
    (only atomic_write's own bytes were fsynced), so a crash leaves the old file or the whole new one."""
    from colourize.runs import torch_save_atomic

    synced = []
    real = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    target = tmp_path / "checkpoint.pt"
    torch_save_atomic({"x": 1}, target)
    assert target.is_file() and len(synced) == 1 and ".checkpoint.pt." in synced[0] and synced[0].endswith(".tmp")


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")])
def test_a_figure_is_saved_in_the_format_its_suffix_names(tmp_path, suffix, magic):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from workbench.atomic import save_figure

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    save_figure(fig, tmp_path / f"study{suffix}")
    assert (tmp_path / f"study{suffix}").read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [f"study{suffix}"]


def test_remove_orphans_removes_only_whole_name_matches_of_dead_processes(tmp_path):
    """Only a folder whose whole name is of the form, and whose pid is no process, goes; a name with more after it
    (a copy the user kept), a live pid and a pid too large to be one stay, and none of them is an error."""
    import re
    import subprocess

    from workbench.atomic import remove_orphans

    gone = subprocess.Popen(["true"])
    gone.wait()
    names = [f".building-{gone.pid}-k1l2", f".building-{gone.pid}-k1l2.keep", f".building-{os.getpid()}-m4n5",
             ".building-" + "9" * 30 + "-x1"]
    for name in names:
        (tmp_path / name).mkdir()
    remove_orphans(tmp_path, re.compile(r"\.building-(\d+)-[a-z0-9_]+"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:])


class _FullDisk(io.FileIO):
    """A file on a full disk: opening works, every write fails with ENOSPC."""

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_write_on_a_full_disk_is_one_line_and_replaces_nothing(tmp_path, monkeypatch):
    """A full disk was an OSError traceback naming no file; now one line says which file, why, and what to do, and
    the file it would have replaced is untouched, with no temp file beside it."""
    target = tmp_path / "metrics.json"
    atomic_write(target, b"old")
    monkeypatch.setattr("workbench.atomic.open", _FullDisk, raising=False)
    with pytest.raises(WriteError) as caught:
        atomic_write(target, b"new")
    assert str(caught.value).startswith(f"cannot write {target}: no space left on device (free some space")
    assert "\n" not in str(caught.value)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
    monkeypatch.undo()  # space freed: the same write succeeds
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_a_torch_save_past_the_file_size_limit_names_the_limit(tmp_path, file_size_limit):
    from colourize.runs import torch_save_atomic

    target = tmp_path / "checkpoint.pt"
    torch_save_atomic({"x": 1}, target)
    before = target.read_bytes()
    file_size_limit(4096)
    with pytest.raises(WriteError, match=r"cannot write .*checkpoint\.pt: file too large \(.*ulimit -f"):
        torch_save_atomic({"x": list(range(10_000))}, target)
    file_size_limit(None)
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_a_failed_write_removes_the_folders_it_made_for_the_file(tmp_path):
    """The missing parents made for the file go again when the write fails; a folder that was there stays."""
    target = tmp_path / "runs" / "r1" / "plots" / "loss.png"
    with pytest.raises(RuntimeError):
        with atomic_path(target):
            raise RuntimeError("savefig failed")
    assert list(tmp_path.iterdir()) == []


def test_files_get_the_mode_a_plain_open_gives_under_a_group_writable_umask(tmp_path):
    mask = os.umask(0o002)
    try:
        atomic_write(tmp_path / "shared.txt", b"x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "shared.txt").stat().st_mode) == 0o664


@pytest.mark.parametrize("code, advice", [
    (errno.EDQUOT, "free some space there, or write somewhere else"),  # over quota is a full disk to the user
    (errno.EIO, "check the disk and that the folder is writable"),
])
def test_a_failed_write_gives_the_system_s_reason_and_what_to_do(tmp_path, code, advice):
    from workbench.atomic import cannot_write

    error = cannot_write(tmp_path / "x", OSError(code, "Some Reason"))
    assert str(error).startswith(f"cannot write {tmp_path / 'x'}: some Reason")
    assert error.reason == "Some Reason" and error.advice == advice
    assert error.fix == f"{advice}, then run it again; nothing was replaced"


def test_folder_lock_keeps_other_processes_out_while_held(tmp_path):
    import subprocess
    import sys

    from workbench.atomic import folder_lock

    probe = ("import fcntl, os, sys\nfd = os.open(sys.argv[1], os.O_RDONLY)\n"
             "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(3)\n")
    with folder_lock(tmp_path):
        assert subprocess.run([sys.executable, "-c", probe, str(tmp_path)]).returncode == 3
    assert subprocess.run([sys.executable, "-c", probe, str(tmp_path)]).returncode == 0  # released


def test_remove_orphans_without_an_age_removes_a_dead_process_s_folder_dated_in_the_future(tmp_path):
    """older_than_s=0 means no age check: a folder whose time is ahead of this clock (another machine's, on a
    shared disk) is still an orphan."""
    import re
    import subprocess
    import time

    from workbench.atomic import remove_orphans

    gone = subprocess.Popen(["true"])
    gone.wait()
    orphan = tmp_path / f".building-{gone.pid}-a1"
    orphan.mkdir()
    later = time.time() + 3600
    os.utime(orphan, (later, later))
    remove_orphans(tmp_path, re.compile(r"\.building-(\d+)-[a-z0-9_]+"))
    assert list(tmp_path.iterdir()) == []


def test_a_saved_figure_is_closed_cropped_to_its_content_and_at_120_dpi(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from workbench.atomic import save_figure

    fig = plt.figure(figsize=(4, 3))
    fig.text(0.5, 0.5, "x")  # one small text in a 480x360 figure: the tight box is far smaller
    save_figure(fig, tmp_path / "fig.png")
    assert not plt.fignum_exists(fig.number)  # no figure left open to pile up over a run's plots
    with Image.open(tmp_path / "fig.png") as im:
        assert im.width < 100 and im.height < 100
        assert im.info["dpi"] == pytest.approx((120, 120), abs=0.1)  # stored in dots per metre
