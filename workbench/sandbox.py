"""Run untrusted Python (e.g. code an LLM wrote) in a child process: time and memory limits, temp dir as cwd, HOME and
TMPDIR, scrubbed environment, no TCP/IP network, and no file creation or content changes outside that temp dir
where the kernel allows it.

What is isolated:
- TCP/IP network, twice over: the child starts in a new network namespace (`unshare -rn`) when the system
  allows it, and in any case a prelude replaces the socket constructors with ones that raise before the code runs;
  where Landlock is 4 or newer (Linux 6.7+), it also refuses every TCP bind and connect of the child and what it starts;
- file writes: where the kernel has Landlock (Linux 5.13+, unprivileged), the child can create, write,
  rename or delete files only inside its temp dir (and write to /dev/null); elsewhere it can only read.
  Without Landlock (`SandboxResult.isolated_filesystem` is False) it can write wherever the user can.
  Where Landlock is 6 or newer (Linux 6.12+), the child and what it starts can neither signal processes outside the
  sandbox (the workbench itself, the user's programs) nor connect to their abstract Unix sockets, namespaces or not.
  With it, worker processes fail: multiprocessing's semaphores (a Pool, a Queue, a DataLoader with workers) are files
  under /dev/shm, and a Manager needs a socket (`SandboxResult.started_workers`, `workers_reason`);
- output: no file it writes (its stdout and stderr too) may grow beyond OUTPUT_LIMIT_BYTES (not on Windows);
- memory: its heap and private writable mappings may not grow beyond MEMORY_LIMIT_BYTES (per process: RLIMIT_DATA;
  not on Windows); an allocation past it fails (MemoryError, `SandboxResult.out_of_memory`) instead of taking the
  machine's memory;
- processes: where unshare gives the child its own user namespace, it and what it starts may run at most
  PROCESS_LIMIT processes and threads together; past it fork fails (a fork bomb stops there);
- time: on timeout the whole process group is killed, and where unshare allows a PID namespace the child is
  its init, so every process it started (even in a new session) dies when it exits; the result never waits
  for such leftovers; the temp dir is removed afterwards (that of a workbench killed by SIGKILL, by the next run).

Secrets: the child's environment holds no API key, this process is made non-dumpable (Linux) so the child cannot
read its /proc/<pid>/environ, and the values of secret-looking variables are blanked in what the child prints.

What is not: reading files (the code can read whatever the user can); changing the permissions or times of
the user's files (chmod, utime: Landlock does not cover them); connecting to Unix-domain sockets outside the
temp dir (a local service such as a desktop bus is reachable, though TCP/IP is not); shared memory (/dev/shm,
MAP_SHARED), which the memory limit does not count, and the sum over the processes it starts (each has the
limit); CPU use (only the time limit); and, without a PID namespace, other processes of the user (signals, before
Landlock 6) and processes it starts in a new session (on Windows, which has no process groups: any process it starts), which
outlive it. This contains accidents and sloppy code; it is not a security boundary against code written to
escape (use a container for that). Nor is a verdict proof against code written to cheat it: the probe that reports
the model runs in the same interpreter after the code, whose stdout is the result channel, so code that prints a
forged result can pass a check.
"""

from __future__ import annotations

import atexit
import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from workbench.atomic import remove_orphans
from workbench.errors import CheckError

OUTPUT_LIMIT_BYTES = 16 * 1024 * 1024  # per file the child writes, its stdout and stderr included

# A file may grow to OUTPUT_LIMIT_BYTES, no further (Python then gets "OSError: [Errno 27] File too large"): a
# loop that printed forever had filled the disk and the caller's memory (3 GB in 5 s) before the time limit.
# Memory: a model that allocates without bound (a list grown in a loop, a huge tensor) took the machine's whole
# memory before the time limit. RLIMIT_DATA, not RLIMIT_AS: it counts the heap and private writable mappings, not
# the shared libraries or the huge PROT_NONE reservations of a CUDA build of torch (its import needs ~0.8 GiB of
# data but over 3 GiB of address space). Past it, allocations fail (MemoryError) instead of the machine.
MEMORY_LIMIT_BYTES = 4 * 1024 ** 3

# Windows has no resource module: there the child runs without these limits (its output is still read up to
# OUTPUT_LIMIT_BYTES).
LIMITS_GUARD = '''
try:
    import resource as _resource
except ImportError:
    pass
else:
    def _wb_limit(kind, value):  # setrlimit may not raise a hard limit: a lower one the user set (ulimit -f) stays
        hard = _resource.getrlimit(kind)[1]
        value = value if hard == _resource.RLIM_INFINITY else min(value, hard)
        _resource.setrlimit(kind, (value, value))
    _wb_limit(_resource.RLIMIT_FSIZE, {output})
    _wb_limit(_resource.RLIMIT_DATA, {memory})
    del _resource, _wb_limit
'''

# Processes: a fork bomb filled the machine's process table and memory until the time limit. In the child's own user
# namespace (unshare -r) RLIMIT_NPROC counts only the processes and threads in that namespace, so past PROCESS_LIMIT
# fork (and thread creation) fails; outside one it would count every process of the user, so it is set only there.
PROCESS_LIMIT = 64

PROCESS_GUARD = '''
import resource as _resource
_hard = _resource.getrlimit(_resource.RLIMIT_NPROC)[1]
_n = {processes} if _hard == _resource.RLIM_INFINITY else min({processes}, _hard)
_resource.setrlimit(_resource.RLIMIT_NPROC, (_n, _n))
del _resource, _hard, _n
'''

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


# Landlock, through ctypes (no dependency): allow every kind of write only beneath `folder`. It binds this
# process and its children for good, so it runs before the untrusted code; if it fails, nothing runs.
FILESYSTEM_GUARD = '''
def _wb_writes_only_beneath(folder, abi):
    import ctypes, os, struct
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long

    def check(result):
        if result < 0:
            raise SystemExit(f"sandbox: cannot restrict file writes (errno {ctypes.get_errno()}); nothing was run")
        return result

    def call(number, *args):
        return check(libc.syscall(*(ctypes.c_long(a) if isinstance(a, int) else a for a in (number, *args))))

    # write, remove dir/file, make char/dir/reg/sock/fifo/block/sym; refer (abi 2); truncate (abi 3)
    writes = sum(1 << b for b in (1, 4, 5, 6, 7, 8, 9, 10, 11, 12)) | (1 << 13) * (abi >= 2) | (1 << 14) * (abi >= 3)
    # abi 4: TCP bind and connect handled too, and no rule allows them (what the socket guard misses: _socket, a
    # subprocess), as where no network namespace could be made
    attr = struct.pack("=QQ", writes, 0b11) if abi >= 4 else struct.pack("=Q", writes)
    if abi >= 6:  # scoped: no signal to a process outside the sandbox (the workbench, the user's other programs) and
        attr += struct.pack("=Q", 0b11)  # no abstract Unix socket of one, as where no PID/network namespace was made
    ruleset = call(444, ctypes.create_string_buffer(attr), len(attr), 0)
    for path, rights in ((folder, writes), ("/dev/null", 1 << 1 | (1 << 14) * (abi >= 3))):
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        call(445, ruleset, 1, ctypes.create_string_buffer(struct.pack("=Qi", rights, fd)), 0)
        os.close(fd)
    check(libc.prctl(38, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)))  # NO_NEW_PRIVS
    call(446, ruleset, 0)
    os.close(ruleset)
'''


@lru_cache(maxsize=1)
def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0 when it has none); asking changes nothing for this process."""
    import ctypes

    if not sys.platform.startswith("linux"):  # 444 is Landlock's syscall number on Linux only
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        version = libc.syscall(ctypes.c_long(444), None, ctypes.c_long(0), ctypes.c_long(1))  # ..._CREATE_RULESET_VERSION
    except (OSError, AttributeError):
        return 0
    return max(0, int(version))


@dataclass(frozen=True)
class SandboxResult:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    isolated_network: bool  # True when the child ran in its own network namespace
    isolated_filesystem: bool = False  # True when Landlock kept its writes inside its temp dir

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def out_of_memory(self) -> bool:
        """The child ended on a failed allocation (its last error line says so): it hit MEMORY_LIMIT_BYTES."""
        return not self.ok and is_out_of_memory((self.stderr.strip().splitlines() or [""])[-1])

    @property
    def started_workers(self) -> bool:
        """The child ended on the sandbox refusing worker processes (see is_worker_failure): its traceback's
        last error line and innermost frame say so."""
        if self.ok:
            return False
        lines = self.stderr.strip().splitlines()
        frames = [m.group(1) for m in map(_TRACEBACK_FRAME.match, lines) if m]
        return bool(lines and frames) and is_worker_failure(lines[-1], frames[-1])


# MemoryError (numpy's _ArrayMemoryError too); torch's "DefaultCPUAllocator: can't allocate memory ... (Cannot
# allocate memory)"; a C++ std::bad_alloc
_OUT_OF_MEMORY = re.compile(r"MemoryError\b|can't allocate memory|Cannot allocate memory|std::bad_alloc")


def is_out_of_memory(error: str) -> bool:
    """Whether an error line (an exception the child printed or reported) is a failed allocation."""
    return bool(_OUT_OF_MEMORY.search(error))


_TRACEBACK_FRAME = re.compile(r'\s*File "(.*)", line \d+')

# Worker processes: multiprocessing's semaphores are files under /dev/shm, which the file-write guard keeps
# closed to the child (shared memory is not counted by the memory limit), so a Pool, a Queue or a DataLoader with
# workers fails on a bare "PermissionError: [Errno 13] Permission denied" raised in multiprocessing/synchronize.py;
# a Manager's server process cannot open its socket, and the Manager fails on an EOFError in connection.py.
_WORKER_ERROR = re.compile(r"(PermissionError|EOFError)\b")
_MULTIPROCESSING_FILE = re.compile(r"[/\\]multiprocessing[/\\][\w.]+\.py$")


def is_worker_failure(error: str, frame_file: str) -> bool:
    """Whether an error line, raised in `frame_file` (the innermost frame of its traceback), is the sandbox
    refusing worker processes; the same error raised elsewhere (the code opening a file it may not write) is not."""
    return bool(_WORKER_ERROR.match(error) and _MULTIPROCESSING_FILE.search(frame_file))


def workers_reason() -> str:
    return ("it starts worker processes (multiprocessing: a Pool, a DataLoader with num_workers > 0, a Manager), "
            "which the sandbox does not allow: run the model without workers")


def memory_limit_reason() -> str:
    return f"it ran out of the sandbox's {MEMORY_LIMIT_BYTES / 1024 ** 3:g} GiB memory limit"


def is_past_output_limit(error: str) -> bool:
    """Whether an error line is a write past OUTPUT_LIMIT_BYTES ("OSError: [Errno 27] File too large")."""
    return "File too large" in error


def output_limit_reason() -> str:
    # the child keeps a lower hard file size limit it inherits from here (ulimit -f): that is the one it hit
    try:
        import resource

        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        hard = None if hard == resource.RLIM_INFINITY else hard
    except ImportError:  # Windows: no such limit
        hard = None
    if hard is None or hard >= OUTPUT_LIMIT_BYTES:
        return (f"it wrote past the sandbox's {OUTPUT_LIMIT_BYTES / 1024 ** 2:g} MiB limit on its output "
                "(per file, stdout and stderr included)")
    return (f"it wrote past the {hard / 1024 ** 2:.3g} MiB limit on its output (the file size limit, ulimit -f, "
            "the workbench runs under; per file, stdout and stderr included)")


@lru_cache(maxsize=1)
def _unshare_prefix() -> tuple[str, ...]:
    """unshare with new network and PID namespaces if this system lets an unprivileged process make them
    (then the child is PID 1 and everything it starts dies with it), else only a network one, else ()."""
    exe = shutil.which("unshare")
    if not exe:
        return ()
    for flags in (("-rnpf", "--kill-child"), ("-rn",)):
        try:
            if subprocess.run([exe, *flags, "true"], capture_output=True, timeout=5).returncode == 0:
                return (exe, *flags)
        except (OSError, subprocess.SubprocessError):
            pass
    return ()


def scrubbed_env(home: str) -> dict[str, str]:
    """Only what an interpreter needs: no API keys, proxies or user configuration leak into the child."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if os.name == "nt":  # Windows: without SYSTEMROOT no interpreter starts (DLLs, random numbers, sockets), without
        # the user's PATH a conda env's numpy and torch find no DLLs; the home and temp folders go by other names
        env.update({k: os.environ[k] for k in ("SYSTEMROOT", "WINDIR", "PATH") if k in os.environ})
        env.update(USERPROFILE=home, TEMP=home, TMP=home)
    return env


_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.I)


@lru_cache(maxsize=1)
def _hide_own_environment() -> None:
    """Make this process non-dumpable, so a child of the same user cannot read /proc/<our pid>/environ (where
    OPENAI_API_KEY is) when no user namespace keeps it out; core dumps of the workbench are off as a result."""
    if not sys.platform.startswith("linux"):  # prctl is Linux's; on Windows ctypes.CDLL(None) raises TypeError
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):  # not Linux
        pass


def redact_secrets(text: str) -> str:
    """The child's output with the values of this process's secret-looking variables (API keys, tokens) blanked,
    so no error line or description can carry one into a verdict, a log or the PDF."""
    for name, value in os.environ.items():
        if len(value) >= 8 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, f"[{name} redacted]")
    return text


_SANDBOX_FOLDER = re.compile(r"wb-sandbox-(\d+)-[a-z0-9_]+")
# The system temp folder may be shared with processes this one cannot see (another container's PID namespace on a
# shared /tmp): their pids look gone. Only folders untouched for longer than any check runs count as orphans.
_SANDBOX_ORPHAN_AGE_S = 3600.0


def run_python(source: str, timeout_s: float = 30.0, network_namespace: bool = True,
               complete: Callable[[str], bool] | None = None) -> SandboxResult:
    """Run `source` with this interpreter in a sandboxed child and capture its output. `complete` tells whole output
    (the result the caller reads parses): a temp folder that filled up did not cut it, so it is no failure."""
    _hide_own_environment()
    prefix = _unshare_prefix() if network_namespace else ()
    abi = landlock_abi()
    with ExitStack() as stack:
        try:
            # ignore_cleanup_errors: a leftover process of the code may still be writing there
            # the pid in its name tells the folders of a workbench killed by SIGKILL (no cleanup ran) from those
            # of one still running; the former are removed here, never anything else
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"wb-sandbox-{os.getpid()}-",
                                                                  ignore_cleanup_errors=True))
            try:
                remove_orphans(Path(tmp).parent, _SANDBOX_FOLDER, older_than_s=_SANDBOX_ORPHAN_AGE_S)
            except OSError:  # a temp folder that cannot be listed: only the cleanup is lost
                pass
            out_file, err_file = (stack.enter_context(tempfile.TemporaryFile()) for _ in range(2))
            script = os.path.join(tmp, "main.py")
            fs_guard = f"{FILESYSTEM_GUARD}\n_wb_writes_only_beneath({tmp!r}, {abi})\ndel _wb_writes_only_beneath\n" if abi else ""
            with open(script, "w", encoding="utf-8") as fh:
                limits = LIMITS_GUARD.format(output=OUTPUT_LIMIT_BYTES, memory=MEMORY_LIMIT_BYTES)  # read now: tests lower them
                processes = PROCESS_GUARD.format(processes=PROCESS_LIMIT) if prefix else ""  # a user namespace
                fh.write(fs_guard + limits + processes + NETWORK_GUARD + "\n" + source)
        except OSError as exc:  # a full, read-only or missing temp folder: a traceback ('please report it') before
            raise temp_folder_error(exc) from None
        # -X utf8: its output (read back as UTF-8) and its open() are UTF-8 on Windows too, whose code page (cp1252)
        # cannot encode a print("→") of model code (PYTHONUTF8 would not do: -I ignores the environment)
        cmd = [*prefix, sys.executable, "-I", "-B", "-X", "utf8", script]
        start = time.monotonic()
        # Output goes to files, not pipes: a process the code started in a new session keeps a pipe open after
        # the child exits, and reading it to EOF would wait for that process instead of for the child.
        proc = subprocess.Popen(cmd, cwd=tmp, env=scrubbed_env(tmp), stdin=subprocess.DEVNULL,
                                stdout=out_file, stderr=err_file, start_new_session=True)
        _RUNNING.add(proc)
        try:
            proc.wait(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(proc)  # leftovers in its group; a PID namespace already took the rest
            proc.wait()
            _RUNNING.discard(proc)
        out, err = (redact_secrets(_text(f)) for f in (out_file, err_file))
        if not timed_out and _no_space_left(tmp) and not (complete is not None and complete(out)):
            # its output may end where the disk filled, even with status 0: a JSON line cut short or none at all
            raise temp_folder_error(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
        return SandboxResult(None if timed_out else proc.returncode, out, err, timed_out,
                             time.monotonic() - start, bool(prefix), bool(abi))


def _no_space_left(folder: str) -> bool:
    """Whether this user can write nothing more there: root may still use the blocks reserved for it (f_bfree)."""
    try:
        stats = os.statvfs(folder)
        return (stats.f_bfree if os.geteuid() == 0 else stats.f_bavail) == 0
    except (OSError, AttributeError):  # no statvfs or geteuid (Windows)
        return False


def temp_folder_error(exc: OSError) -> CheckError:
    """One line for a temp folder the sandbox cannot use: which folder, why, and what to do."""
    folder = tempfile.tempdir or os.environ.get("TMPDIR") or "the system temp folder"  # None: gettempdir() failed
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EFBIG:
        advice = "raise the file size limit (ulimit -f)"
    elif exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        advice = "free space there or set TMPDIR to another folder"
    else:
        advice = "set TMPDIR to a writable folder"
    return CheckError(f"the sandbox cannot write in the temp folder {folder} "
                      f"({reason[:1].lower()}{reason[1:]}): {advice}")


# Children still running when the interpreter exits (Ctrl-C while a check waits in a worker thread): being in
# their own session, the terminal's SIGINT never reaches them, so they are killed on the way out.
_RUNNING: set[subprocess.Popen] = set()


@atexit.register
def kill_running() -> None:
    for proc in list(_RUNNING):
        _kill_group(proc)


def _text(fh) -> str:
    fh.seek(0)
    return fh.read(OUTPUT_LIMIT_BYTES).decode("utf-8", errors="replace")  # the child cannot write more


def _kill_group(proc: subprocess.Popen) -> None:
    if not hasattr(os, "killpg"):  # Windows: no process groups (nor SIGKILL); only the child itself is ended
        proc.kill()
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the child leads its own session: this ends its children too
    except ProcessLookupError:
        pass
