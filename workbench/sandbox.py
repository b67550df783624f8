"""Run untrusted Python (e.g. code an LLM wrote) in a child process: time limit, temp dir as cwd and HOME,
scrubbed environment, no network.

No network, twice over: the child starts in a new network namespace (`unshare -rn`) when the system allows
it, and in any case a prelude replaces the socket constructors with ones that raise before the code runs.
On timeout the whole process group is killed. This contains accidents and sloppy code; it is not a
security boundary against code written to escape (use a container for that).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache

NETWORK_GUARD = '''
import socket as _socket

def _no_network(*args, **kwargs):
    raise OSError("network access is disabled in the workbench sandbox")

class _NoSocket(_socket.socket):
    def __init__(self, *args, **kwargs):
        _no_network()

_socket.socket = _NoSocket
_socket.SocketType = _NoSocket
for _name in ("create_connection", "create_server", "socketpair", "fromfd", "getaddrinfo", "gethostbyname"):
    setattr(_socket, _name, _no_network)
del _name
'''


@dataclass(frozen=True)
class SandboxResult:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    isolated_network: bool  # True when the child ran in its own network namespace

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@lru_cache(maxsize=1)
def _unshare_prefix() -> tuple[str, ...]:
    """["unshare", "-rn"] if this system lets an unprivileged process make a network namespace."""
    exe = shutil.which("unshare")
    if not exe:
        return ()
    try:
        ok = subprocess.run([exe, "-rn", "true"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return (exe, "-rn") if ok else ()


def scrubbed_env(home: str) -> dict[str, str]:
    """Only what an interpreter needs: no API keys, proxies or user configuration leak into the child."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_python(source: str, timeout_s: float = 30.0, network_namespace: bool = True) -> SandboxResult:
    """Run `source` with this interpreter in a sandboxed child and capture its output."""
    prefix = _unshare_prefix() if network_namespace else ()
    with tempfile.TemporaryDirectory(prefix="wb-sandbox-") as tmp:
        script = os.path.join(tmp, "main.py")
        with open(script, "w", encoding="utf-8") as fh:
            fh.write(NETWORK_GUARD + "\n" + source)
        cmd = [*prefix, sys.executable, "-I", "-B", script]
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=tmp, env=scrubbed_env(tmp), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
            timed_out = True
        return SandboxResult(None if timed_out else proc.returncode, out, err, timed_out,
                             time.monotonic() - start, bool(prefix))


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the child leads its own session: this ends its children too
    except ProcessLookupError:
        pass
