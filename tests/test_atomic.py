"""Atomic writes: all or nothing, never over an exclusive file, ordinary permissions."""

import os
import stat

import pytest

from workbench.atomic import atomic_path, atomic_write
from workbench.errors import TraceError


def test_write_replaces_and_follows_umask(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


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
