"""The untrusted-code runner: no network, killed on timeout, scrubbed environment, temp dir as cwd and HOME."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from workbench.sandbox import landlock_abi, run_python


@pytest.fixture
def listener():
    """A real TCP server on 127.0.0.1 that records whether anything connected."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(5)
    hits = []

    def accept():
        try:
            conn, _ = server.accept()
            hits.append(True)
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], hits
    server.close()


@pytest.mark.parametrize("snippet", [
    "import socket\nsocket.create_connection(('127.0.0.1', PORT), timeout=2)",
    "import socket\ns = socket.socket()\ns.connect(('127.0.0.1', PORT))",
    "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:PORT/', timeout=2)",
    "import _socket\ns = _socket.socket()\ns.connect(('127.0.0.1', PORT))",  # below the guard: the namespace stops it
])
def test_network_is_refused(listener, snippet):
    port, hits = listener
    result = run_python(snippet.replace("PORT", str(port)) + "\nprint('CONNECTED')", timeout_s=20)
    if "_socket" in snippet and not result.isolated_network:
        pytest.skip("no unprivileged network namespace here; only the socket guard applies")
    assert "CONNECTED" not in result.stdout
    assert result.returncode != 0
    time.sleep(0.2)
    assert hits == []


@pytest.mark.parametrize("snippet", [
    "import socket\nsocket.create_connection(('127.0.0.1', PORT), timeout=2)",
    "import socket\ns = socket.socket()\ns.connect(('127.0.0.1', PORT))",
])
def test_without_a_network_namespace_the_socket_guard_still_refuses(listener, snippet):
    """network_namespace=False (or no unshare): the prelude alone must stop TCP/IP, and the result says so."""
    port, hits = listener
    result = run_python(snippet.replace("PORT", str(port)) + "\nprint('CONNECTED')", timeout_s=20,
                        network_namespace=False)
    assert result.isolated_network is False
    assert "CONNECTED" not in result.stdout and result.returncode != 0
    assert "network access is disabled in the workbench sandbox" in result.stderr
    time.sleep(0.2)
    assert hits == []


@pytest.mark.skipif(landlock_abi() < 4, reason="Landlock before 4 has no network rules: only the socket guard applies")
@pytest.mark.parametrize("snippet", [
    "import _socket\ns = _socket.socket()\ns.connect(('127.0.0.1', PORT))",
    "import subprocess\nsubprocess.run(['bash', '-c', 'echo > /dev/tcp/127.0.0.1/PORT'], check=True)",
])
def test_without_a_network_namespace_code_below_the_socket_guard_is_refused(listener, snippet):
    """With no network namespace, _socket (under the guard's patched `socket`) or a subprocess connected to
    127.0.0.1, where a real local LLM server may listen; Landlock refuses TCP connects."""
    port, hits = listener
    result = run_python(snippet.replace("PORT", str(port)) + "\nprint('CONNECTED')", timeout_s=20,
                        network_namespace=False)
    assert "CONNECTED" not in result.stdout and result.returncode != 0, result
    time.sleep(0.2)
    assert hits == []


@pytest.mark.skipif(landlock_abi() < 4, reason="Landlock before 4 has no network rules: only the socket guard applies")
def test_without_a_network_namespace_code_cannot_listen_on_a_tcp_port():
    """Landlock refuses TCP binds as well as connects: code below the socket guard could otherwise serve on a port
    of the machine that other local processes reach."""
    result = run_python("import _socket\ns = _socket.socket()\ns.bind(('127.0.0.1', 0))\nprint('LISTENING')",
                        timeout_s=20, network_namespace=False)
    assert "LISTENING" not in result.stdout and "PermissionError" in result.stderr, result


def test_killed_on_timeout_with_its_children():
    code = ("import subprocess, sys, time\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "print('started', flush=True)\n"
            "while True:\n    time.sleep(0.05)\n")
    start = time.monotonic()
    result = run_python(code, timeout_s=1.5)
    assert result.timed_out and result.returncode is None and not result.ok
    assert time.monotonic() - start < 10
    assert "started" in result.stdout


def test_environment_is_scrubbed_and_cwd_is_a_temp_home(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fixture-secret")
    code = ("import os, json, tempfile\n"
            "print(json.dumps({'cwd': os.getcwd(), 'home': os.environ.get('HOME'), 'tmp': tempfile.gettempdir(),"
            " 'keys': sorted(os.environ)}))")
    result = run_python(code, timeout_s=20)
    assert result.ok, result.stderr
    import json

    data = json.loads(result.stdout)
    assert data["cwd"] == data["home"] == data["tmp"] and os.path.basename(data["cwd"]).startswith("wb-sandbox-")
    assert "OPENAI_API_KEY" not in data["keys"] and "sk-fixture-secret" not in result.stdout
    assert not os.path.exists(data["cwd"])  # removed afterwards


def test_the_parent_s_secrets_do_not_come_back_in_the_output(tmp_path):
    """The child could find the key in /proc/<parent>/environ where no user namespace keeps it out (and root can
    always): the parent makes itself non-dumpable, and a secret value printed anyway comes back blanked."""
    import subprocess
    import sys

    driver = tmp_path / "driver.py"
    driver.write_text(
        "import ctypes, glob\n"
        "from workbench.sandbox import run_python\n"
        "code = ('import glob\\nfor p in glob.glob(\"/proc/[0-9]*/environ\"):\\n'\n"
        "        '    try: data = open(p, \"rb\").read()\\n'\n"
        "        '    except OSError: continue\\n'\n"
        "        '    if b\"sk-fixture-9f8e7d6c\" in data: print(data.decode(errors=\"replace\"))\\n')\n"
        "result = run_python(code, timeout_s=20, network_namespace=False)\n"
        "print('dumpable', ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))\n"
        "print('OUT', result.stdout)\n")
    import workbench

    env = dict(os.environ, OPENAI_API_KEY="sk-fixture-9f8e7d6c", PYTHONPATH=os.path.dirname(os.path.dirname(workbench.__file__)))
    out = subprocess.run([sys.executable, str(driver)], capture_output=True, text=True, env=env, timeout=60).stdout
    assert "dumpable 0" in out and "OUT" in out
    assert "sk-fixture-9f8e7d6c" not in out.split("OUT", 1)[1]  # not read (non-root), or blanked (root)


def test_secret_looking_variables_are_blanked_in_the_output(monkeypatch):
    """Any variable whose name says key, token, secret, password or credential, in any case; values under 8
    characters are left alone (blanking '1' would garble every number)."""
    from workbench.sandbox import redact_secrets

    monkeypatch.setenv("HF_TOKEN", "hf_0123456789abcdef")
    monkeypatch.setenv("my_db_password", "hunter2-hunter2")
    monkeypatch.setenv("DEBUG_KEY", "1")
    assert (redact_secrets("token hf_0123456789abcdef, pw hunter2-hunter2, 1 and 10")
            == "token [HF_TOKEN redacted], pw [my_db_password redacted], 1 and 10")


def test_output_without_end_is_capped_not_read_into_memory():
    """A loop printing forever wrote 3 GB in 5 s into the temp file the parent then read whole."""
    from workbench.sandbox import OUTPUT_LIMIT_BYTES

    result = run_python("import sys\nwhile True:\n    sys.stdout.write('x' * 1000000)\n", timeout_s=20)
    assert not result.timed_out and len(result.stdout) <= OUTPUT_LIMIT_BYTES and "File too large" in result.stderr


def test_memory_is_capped(monkeypatch):
    """Code that allocated without bound (a list grown in a loop) took the machine's whole memory before the time
    limit; past MEMORY_LIMIT_BYTES an allocation fails instead, and the result says it ran out of memory."""
    monkeypatch.setattr("workbench.sandbox.MEMORY_LIMIT_BYTES", 256 * 2**20, raising=False)
    result = run_python("small = bytearray(64 * 2**20)\nprint('small ok')\nbig = bytearray(300 * 2**20)\nprint('big ok')",
                        timeout_s=20)  # bytearray is calloc'd: untouched pages, nothing real is used either way
    assert result.stdout == "small ok\n" and result.stderr.rstrip().endswith("MemoryError") and result.out_of_memory
    assert not run_python("raise ValueError('boom')", timeout_s=20).out_of_memory



def test_the_memory_limit_leaves_reservations_alone(monkeypatch):
    """What the limit counts is memory written to, not address space: a CUDA build of torch reserves GiBs of it
    (PROT_NONE) on import, and an address-space limit made every sandboxed model fail before it ran."""
    monkeypatch.setattr("workbench.sandbox.MEMORY_LIMIT_BYTES", 256 * 2**20, raising=False)
    result = run_python("import mmap\nm = mmap.mmap(-1, 2 * 2**30, flags=mmap.MAP_PRIVATE, prot=0)\nprint(len(m))",
                        timeout_s=20)
    assert result.ok and result.stdout == f"{2 * 2**30}\n", result.stderr


def test_processes_are_capped(monkeypatch):
    """A fork bomb filled the machine's process table (and its memory) until the time limit: in the child's own user
    namespace it and what it starts may be PROCESS_LIMIT processes and threads in all; past that, fork fails."""
    from workbench import sandbox

    if not sandbox._unshare_prefix():
        pytest.skip("no unprivileged user namespace here: only the user's own process limit applies")
    monkeypatch.setattr(sandbox, "PROCESS_LIMIT", 16, raising=False)
    code = ("import os, resource, time\nstarted = 0\nfor _ in range(40):\n"
            "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
            "    if pid == 0:\n        time.sleep(5)\n        os._exit(0)\n    started += 1\n"
            "print(*resource.getrlimit(resource.RLIMIT_NPROC), started)\n")
    result = sandbox.run_python(code, timeout_s=20)
    limit, hard, started = map(int, result.stdout.split())
    assert limit == hard == 16, result  # the hard limit too: the code cannot raise its own limit back
    if os.getuid() != 0:  # the kernel does not hold root (mapped to itself) to RLIMIT_NPROC
        assert started < 16, result


def test_a_process_limit_above_the_hard_limit_is_the_hard_limit(monkeypatch):
    """setrlimit may not raise a hard limit: a PROCESS_LIMIT above the user's own must not stop the code running."""
    import resource

    from workbench import sandbox

    if not sandbox._unshare_prefix():
        pytest.skip("no unprivileged user namespace here: no process limit is set")
    hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no hard process limit here to go above")
    monkeypatch.setattr(sandbox, "PROCESS_LIMIT", hard + 1, raising=False)
    result = sandbox.run_python("import resource\nprint(*resource.getrlimit(resource.RLIMIT_NPROC))", timeout_s=20)
    assert result.ok and result.stdout.split() == [str(hard), str(hard)], result


def test_without_a_user_namespace_the_process_limit_is_left_alone():
    """Outside its own user namespace RLIMIT_NPROC counts every process of the user: 64 would stop a child from
    starting any process where the user already runs more, so the child keeps the user's limit."""
    import resource

    result = run_python("import resource\nprint(*resource.getrlimit(resource.RLIMIT_NPROC))", timeout_s=20,
                        network_namespace=False)
    assert result.ok and result.stdout.split() == [str(n) for n in resource.getrlimit(resource.RLIMIT_NPROC)], result


@pytest.mark.parametrize("line, oom", [
    ("MemoryError", True),
    ("numpy.core._exceptions._ArrayMemoryError: Unable to allocate 8.00 GiB for an array", True),
    ("RuntimeError: [enforce fail at alloc_cpu.cpp:114] data. DefaultCPUAllocator: can't allocate memory: you tried "
     "to allocate 8589934592 bytes. Error code 12 (Cannot allocate memory)", True),
    ("RuntimeError: DefaultCPUAllocator: can't allocate memory: you tried to allocate 8589934592 bytes.", True),  # cut
    ("terminate called after throwing an instance of 'std::bad_alloc'", True),
    ("ValueError: boom", False),
    ("NameError: name 'MemoryErrorCount' is not defined", False),
])
def test_which_error_lines_are_out_of_memory(line, oom):
    from workbench.sandbox import is_out_of_memory

    assert is_out_of_memory(line) is oom


SEMAPHORE = "/usr/lib/python3.11/multiprocessing/synchronize.py"


@pytest.mark.parametrize("line, frame, workers", [
    ("PermissionError: [Errno 13] Permission denied", SEMAPHORE, True),  # a Pool's semaphore under /dev/shm
    ("EOFError", "C:\\Python311\\Lib\\multiprocessing\\connection.py", True),  # a Manager's server, any separator
    ("PermissionError: [Errno 13] Permission denied: '/etc/x'", "llm_code.py", False),  # the code's own write
    ("PermissionError: [Errno 13] Permission denied", "/home/me/my_multiprocessing.py", False),
    ("RuntimeError: EOFError while reading the data", SEMAPHORE, False),  # named in another error's message
    ("ValueError: boom", SEMAPHORE, False),
])
def test_which_errors_are_the_sandbox_refusing_worker_processes(line, frame, workers):
    from workbench.sandbox import is_worker_failure

    assert is_worker_failure(line, frame) is workers


@pytest.mark.parametrize("returncode, stderr, workers", [
    (1, f'Traceback (most recent call last):\n  File "llm_code.py", line 3, in <module>\n  File "{SEMAPHORE}", '
        'line 57, in __init__\nPermissionError: [Errno 13] Permission denied\n', True),  # the innermost frame counts
    (1, f'Traceback (most recent call last):\n  File "{SEMAPHORE}", line 57, in __init__\n  File "llm_code.py", '
        'line 3, in <module>\nPermissionError: [Errno 13] Permission denied\n', False),
    (0, f'Traceback (most recent call last):\n  File "{SEMAPHORE}", line 57, in __init__\n'
        'PermissionError: [Errno 13] Permission denied\n', False),  # printed and handled: the run ended well
    (1, "PermissionError: [Errno 13] Permission denied\n", False),  # no traceback to say where
    (1, "", False),
])
def test_a_run_started_workers_only_when_it_ended_on_their_refusal(returncode, stderr, workers):
    from workbench.sandbox import SandboxResult

    result = SandboxResult(returncode, "", stderr, timed_out=False, seconds=0.1, isolated_network=True)
    assert result.started_workers is workers


def test_a_run_that_ends_well_did_not_run_out_of_memory():
    """A MemoryError the code caught and printed is not how it ended."""
    result = run_python("import sys\ntry:\n    raise MemoryError\nexcept MemoryError as e:\n"
                        "    print('handled', repr(e), file=sys.stderr)\n", timeout_s=20)
    assert result.ok and result.stderr.strip() == "handled MemoryError()" and not result.out_of_memory

def test_errors_come_back_as_output():
    result = run_python("raise ValueError('boom')", timeout_s=20)
    assert result.returncode == 1 and "ValueError: boom" in result.stderr


def test_output_that_is_not_utf8_comes_back_with_replacement_characters():
    result = run_python("import sys\nsys.stdout.buffer.write(b'ok \\xff\\n')\nsys.stderr.buffer.write(b'\\xfe')", timeout_s=20)
    assert result.ok and result.stdout == "ok \ufffd\n" and result.stderr == "\ufffd"


def test_the_child_writes_and_opens_files_in_utf8_whatever_the_locale():
    """On Windows the child's stdout (a file) and open() used the code page (cp1252): model code printing "→" failed
    with UnicodeEncodeError there, and passed here. UTF-8 mode makes them UTF-8 on every system."""
    result = run_python("import sys, locale\nprint('→ é', sys.flags.utf8_mode, locale.getpreferredencoding(False))",
                        timeout_s=20)
    assert result.ok, result.stderr
    assert result.stdout == "→ é 1 utf-8\n"


def test_the_child_reads_no_input_from_the_caller_s_stdin():
    """stdin is /dev/null: code that reads input ends at once, even when the caller's stdin stays open."""
    read_end, write_end = os.pipe()
    saved = os.dup(0)
    os.dup2(read_end, 0)  # an open pipe nobody writes to, like a terminal nobody types into
    try:
        result = run_python("import sys\nprint(repr(sys.stdin.read()))", timeout_s=5)
    finally:
        os.dup2(saved, 0)
        for fd in (saved, read_end, write_end):
            os.close(fd)
    assert result.ok and not result.timed_out and result.stdout == "''\n", result


def test_writes_are_confined_to_the_temp_dir(tmp_path):
    outside, kept = tmp_path / "outside.txt", tmp_path / "kept.txt"
    kept.write_text("keep")
    (tmp_path / "kept-dir").mkdir()
    child = f"open({str(outside)!r}, 'w')"  # tried directly, and by a process the code starts (bound too)
    attempts = [child, f"open({str(kept)!r}, 'a')", f"os.remove({str(kept)!r})",
                f"os.rename({str(kept)!r}, 'moved.txt')", f"os.mkdir({str(tmp_path / 'd')!r})",
                f"os.rmdir({str(tmp_path / 'kept-dir')!r})", f"os.symlink('x', {str(tmp_path / 'link')!r})",
                f"subprocess.run([sys.executable, '-c', {child!r}], check=True)"]
    if landlock_abi() >= 3:  # truncation is covered from Landlock ABI 3 on
        attempts.append(f"os.truncate({str(kept)!r}, 0)")
    code = ("import os, subprocess, sys, tempfile\n"
            "open('inside.txt', 'w').write('x'); os.mkdir('sub'); os.remove('inside.txt')\n"
            "tempfile.NamedTemporaryFile().close(); open(os.devnull, 'w').write('x')\n"
            f"for attempt in {attempts!r}:\n"
            "    try:\n        exec(attempt)\n        print('ESCAPED', attempt)\n"
            "    except (PermissionError, subprocess.CalledProcessError):\n        print('denied')\n")
    result = run_python(code, timeout_s=30)
    if not result.isolated_filesystem:
        pytest.skip("no Landlock on this kernel: writes are not confined (see workbench/sandbox.py)")
    assert result.ok, result.stderr
    assert result.stdout.split() == ["denied"] * len(attempts), result.stdout
    assert not outside.exists() and kept.read_text() == "keep" and sorted(os.listdir(tmp_path)) == ["kept-dir", "kept.txt"]


def _pids(marker: str) -> list[int]:
    """The processes whose command line holds `marker`."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if marker.encode() in fh.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def _pid_namespaces_allowed() -> bool:
    """Whether this system lets an unprivileged process make a PID namespace (asked here, not of the sandbox)."""
    import shutil
    import subprocess

    exe = shutil.which("unshare")
    return bool(exe) and subprocess.run([exe, "-rnpf", "--kill-child", "true"], capture_output=True,
                                        timeout=5).returncode == 0


@pytest.mark.parametrize("namespaces", [True, False])
def test_a_process_started_in_a_new_session_does_not_hold_up_the_result(monkeypatch, namespaces):
    from workbench import sandbox

    if not namespaces:  # as on a system without unshare: the orphan lives on, but nobody waits for it
        monkeypatch.setattr(sandbox, "_unshare_prefix", lambda: ())
    marker = f"75.{os.getpid()}{int(namespaces)}"
    code = ("import subprocess\n"
            f"subprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n"
            "print('answer', flush=True)\n")
    start = time.monotonic()
    try:
        result = sandbox.run_python(code, timeout_s=30)
        assert result.ok and not result.timed_out and result.stdout == "answer\n", result
        assert time.monotonic() - start < 10
        if namespaces and _pid_namespaces_allowed():  # the child was PID 1 of its namespace: the orphan died with it
            assert _pids(marker) == []
    finally:
        for pid in _pids(marker):  # only the sleep this test started
            os.kill(pid, 9)


def test_the_timeout_kills_the_whole_process_group_without_a_pid_namespace(monkeypatch):
    """As on a system without unshare: a process the code started (same group, same session) dies with it."""
    from workbench import sandbox

    monkeypatch.setattr(sandbox, "_unshare_prefix", lambda: ())
    marker = f"76.{os.getpid()}"
    code = ("import subprocess, time\n"
            f"subprocess.Popen(['sleep', '{marker}'])\n"
            "print('started', flush=True)\n"
            "while True:\n    time.sleep(0.05)\n")
    try:
        result = sandbox.run_python(code, timeout_s=1.5)
        assert result.timed_out and "started" in result.stdout
        deadline = time.monotonic() + 5
        while _pids(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _pids(marker) == []
    finally:
        for pid in _pids(marker):  # only the sleep this test started
            os.kill(pid, 9)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads the process state from /proc")
def test_a_check_still_running_when_the_program_exits_is_killed():
    """Ctrl-C while a check runs in a worker thread: the program exits, and the sandboxed child (in its own
    session, so the terminal's SIGINT never reaches it) must not spin on."""
    import subprocess
    import sys

    driver = ("import threading, time\n"
              "from workbench import sandbox\n"
              "threading.Thread(target=sandbox.run_python, args=('while True: pass',), kwargs={'timeout_s': 60},"
              " daemon=True).start()\n"
              "deadline = time.monotonic() + 20\n"
              "while not sandbox._RUNNING and time.monotonic() < deadline:\n"
              "    time.sleep(0.05)\n"
              "print(*[p.pid for p in sandbox._RUNNING])\n")  # then exits, as cli.main does after Ctrl-C
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", driver], cwd=root, capture_output=True, text=True, timeout=30)
    (pid,) = map(int, done.stdout.split())
    time.sleep(0.5)
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        state = "gone"
    if state != "gone" and state != "Z":
        os.killpg(pid, 9)
    assert state in ("gone", "Z")


def test_on_windows_the_child_keeps_what_its_interpreter_needs_and_no_secret(monkeypatch):
    """On Windows the child got no SYSTEMROOT (Python there cannot start without it) and a POSIX PATH (a conda env's
    numpy found no DLLs), and its home (USERPROFILE) and temp folder (TEMP) were still the user's own."""
    from workbench import sandbox

    home = r"C:\Users\me\AppData\Local\Temp\wb-sandbox-12-abc"
    for name, value in (("SYSTEMROOT", r"C:\Windows"), ("PATH", r"C:\conda\Library\bin;C:\Windows\system32"),
                        ("USERPROFILE", r"C:\Users\me"), ("TEMP", r"C:\Users\me\AppData\Local\Temp"),
                        ("OPENAI_API_KEY", "sk-fixture-secret")):
        monkeypatch.setenv(name, value)
    with monkeypatch.context() as windows:  # only around the call: pytest's own reporting needs the real os.name
        windows.setattr(os, "name", "nt")
        env = sandbox.scrubbed_env(home)
    assert env["SYSTEMROOT"] == r"C:\Windows" and env["PATH"] == r"C:\conda\Library\bin;C:\Windows\system32"
    assert env["USERPROFILE"] == env["TEMP"] == env["TMP"] == env["HOME"] == env["TMPDIR"] == home
    assert "OPENAI_API_KEY" not in env and "sk-fixture-secret" not in env.values()


def test_not_linux_the_parent_does_not_call_prctl(monkeypatch):
    """On Windows ctypes.CDLL(None) raises TypeError (not OSError): every check of LLM code crashed before running."""
    import ctypes
    import sys

    from workbench import sandbox

    def no_libc(name, *args, **kwargs):
        raise TypeError("argument of type 'NoneType' is not iterable")

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    sandbox._hide_own_environment.cache_clear()
    try:
        assert sandbox._hide_own_environment() is None
    finally:
        sandbox._hide_own_environment.cache_clear()


def test_without_process_groups_the_child_is_still_killed_on_timeout(monkeypatch):
    """As on Windows, where os has no killpg: every check crashed with AttributeError once the child ended."""
    from workbench import sandbox

    monkeypatch.delattr(os, "killpg")
    result = sandbox.run_python("print('started', flush=True)\nwhile True:\n    pass\n", timeout_s=1.5)
    assert result.timed_out and "started" in result.stdout and not sandbox._RUNNING
    assert sandbox.run_python("print('hi')", timeout_s=10).stdout == "hi\n"


def test_the_limits_guard_runs_where_there_is_no_resource_module(monkeypatch):
    """Windows has no `resource`: the child's prelude failed there, so every model code 'did not run'."""
    import sys

    from workbench import sandbox

    monkeypatch.setitem(sys.modules, "resource", None)  # import resource now raises ImportError
    exec(sandbox.LIMITS_GUARD.format(output=1, memory=1), {})


def test_limits_above_the_user_s_hard_limits_are_the_hard_limits():
    """Under `ulimit -f 8000` (a hard file size limit below OUTPUT_LIMIT_BYTES) the child's prelude raised ValueError
    ('not allowed to raise maximum limit'), so every model code 'did not run' and a right model was judged incorrect."""
    import subprocess
    import sys

    pytest.importorskip("resource")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    fsize, data = 8 * 2**20, 3 * 2**30  # below the sandbox's 16 MiB and 4 GiB
    parent = ("import resource\n"
              f"resource.setrlimit(resource.RLIMIT_FSIZE, ({fsize}, {fsize}))\n"
              f"resource.setrlimit(resource.RLIMIT_DATA, ({data}, {data}))\n"
              "from workbench.sandbox import run_python\n"
              "r = run_python('import resource\\nprint(*resource.getrlimit(resource.RLIMIT_FSIZE), "
              "*resource.getrlimit(resource.RLIMIT_DATA))', timeout_s=20)\n"
              "print(r.returncode, r.stdout.strip(), r.stderr.strip()[-200:])\n")
    out = subprocess.run([sys.executable, "-c", parent], cwd=repo, capture_output=True, text=True, timeout=60).stdout
    assert out.split() == ["0", *[str(n) for n in (fsize, fsize, data, data)]], out


def test_a_temp_folder_it_cannot_write_in_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    """A full (or missing) temp folder was an OSError out of run_python: verify called it 'the check itself failed
    (OSError: [Errno 28] No space left on device); please report it', naming neither the folder nor the fix."""
    import errno
    import tempfile

    from workbench import sandbox
    from workbench.errors import CheckError

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(sandbox, "open", full, raising=False)  # the script's write
    with pytest.raises(CheckError) as caught:
        run_python("print('hi')", timeout_s=10)
    message = caught.value.message
    assert f"temp folder {tmp_path} (no space left on device)" in message and "TMPDIR" in message, message
    assert list(tmp_path.iterdir()) == []  # its folder is removed again
    monkeypatch.undo()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    with pytest.raises(CheckError, match=f"temp folder {tmp_path / 'gone'} \\(no such file or directory\\)"):
        run_python("print('hi')", timeout_s=10)


def test_a_temp_folder_that_filled_up_during_the_run_is_one_line(tmp_path, monkeypatch):
    """The child's output is a file in the temp folder: when that filled up, its output ended where the disk did (a
    JSON line cut short, or nothing with status 0), which verify took for the code's own result."""
    import tempfile
    import types

    from workbench import sandbox
    from workbench.errors import CheckError

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert run_python("print('hi')", timeout_s=10).stdout == "hi\n"  # room left: the result as it is
    statvfs = os.statvfs
    monkeypatch.setattr(os, "statvfs", lambda path: types.SimpleNamespace(f_bavail=0, f_bfree=0) if str(path).startswith(
        str(tmp_path)) else statvfs(path))
    with pytest.raises(CheckError, match=f"temp folder {tmp_path} \\(no space left on device\\): free space"):
        run_python("print('hi')", timeout_s=10)
    assert list(tmp_path.iterdir()) == []


def test_a_temp_folder_full_only_for_others_or_output_that_is_whole_is_no_failure(tmp_path, monkeypatch):
    """root writes into the blocks reserved for it: a temp folder with none left for others (f_bavail 0) but some
    free (f_bfree) was said to have filled up, and a check that ran fine as root was unchecked. Nor does a full disk
    fail a run whose output the caller finds whole (its result parses): the disk did not cut it."""
    import tempfile
    import types

    from workbench.errors import CheckError

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    statvfs, free = os.statvfs, {"f_bavail": 0, "f_bfree": 5}
    monkeypatch.setattr(os, "statvfs", lambda path: types.SimpleNamespace(**free) if str(path).startswith(
        str(tmp_path)) else statvfs(path))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert run_python("print('hi')", timeout_s=10).stdout == "hi\n"
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # another user may not use root's reserve
    with pytest.raises(CheckError, match="no space left on device"):
        run_python("print('hi')", timeout_s=10)
    free["f_bfree"] = 0
    assert run_python("print('hi')", timeout_s=10, complete=lambda out: out == "hi\n").stdout == "hi\n"
    with pytest.raises(CheckError, match="no space left on device"):  # output the caller cannot read may be cut
        run_python("print('h')", timeout_s=10, complete=lambda out: out == "hi\n")
    assert list(tmp_path.iterdir()) == []


def test_the_temp_folders_of_a_killed_workbench_are_removed_by_the_next_run(tmp_path, monkeypatch):
    """A workbench killed by SIGKILL mid-check (no cleanup runs) left its wb-sandbox-* folder in the temp folder for
    good: nothing in the name said whose it was. It carries the owner's pid now, and a run removes the folders of
    owners that are gone, untouched for an hour; a live owner's folder, a fresh one, an old name without a pid, a
    file and anything else stay."""
    import subprocess
    import tempfile

    gone = subprocess.Popen(["true"])
    gone.wait()
    alive = subprocess.Popen(["sleep", "60"])
    try:
        orphan = tmp_path / f"wb-sandbox-{gone.pid}-k1l2m3n4"
        (orphan / "sub").mkdir(parents=True)
        (orphan / "sub" / "main.py").write_text("print('hi')\n")
        kept = [f"wb-sandbox-{alive.pid}-a1b2c3d4", "wb-sandbox-q1w2e3r4", f"wb-sandbox-{gone.pid}-k1l2.keep",
                f"other-{gone.pid}-k1l2m3n4"]
        for name in kept:
            (tmp_path / name).mkdir()
        (tmp_path / f"wb-sandbox-{gone.pid}-f1l2e3").write_text("a file, not a folder of ours")
        kept.append(f"wb-sandbox-{gone.pid}-f1l2e3")
        # a fresh folder whose owner only looks gone (another PID namespace sharing the temp folder) stays
        kept.append(f"wb-sandbox-{gone.pid}-n5e6w7")
        (tmp_path / kept[-1]).mkdir()
        hour_ago = time.time() - 3700
        for old in (orphan, orphan / "sub"):
            os.utime(old, (hour_ago, hour_ago))
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        result = run_python("import os\nprint(os.path.basename(os.getcwd()))", timeout_s=20)
        assert result.ok, result.stderr
        assert result.stdout.startswith(f"wb-sandbox-{os.getpid()}-"), result.stdout
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
    finally:
        alive.kill()
        alive.wait()


def test_past_a_user_s_lower_file_size_limit_the_reason_names_that_limit():
    """Under `ulimit -f 8000` the child keeps the lower limit, but code that wrote past it was said to have passed the
    sandbox's 16 MiB limit; the reason names the limit that stopped it."""
    import subprocess
    import sys

    pytest.importorskip("resource")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parent = ("import resource\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (8000 * 1024, 8000 * 1024))\n"
              "from workbench.sandbox import is_past_output_limit, output_limit_reason, run_python\n"
              "r = run_python(\"open('big.bin', 'w').write('x' * (10 * 2**20))\", timeout_s=20)\n"
              "print(is_past_output_limit(r.stderr.strip().splitlines()[-1]), output_limit_reason())\n")
    out = subprocess.run([sys.executable, "-c", parent], cwd=repo, capture_output=True, text=True, timeout=60)
    expected = "True it wrote past the 7.81 MiB limit on its output (the file size limit, ulimit -f"
    assert out.stdout.startswith(expected), (out.stdout, out.stderr[-300:])
    import resource

    from workbench.sandbox import output_limit_reason

    if resource.getrlimit(resource.RLIMIT_FSIZE)[1] == resource.RLIM_INFINITY:  # no such limit: the sandbox's own
        assert output_limit_reason().startswith("it wrote past the sandbox's 16 MiB limit")


def test_the_child_cannot_raise_its_limits_back():
    """The output and memory limits are set as hard limits too (4 GiB, 16 MiB as documented): code that raised its own
    soft limit back (resource.setrlimit) would write or allocate without bound again."""
    import resource

    if resource.getrlimit(resource.RLIMIT_FSIZE)[1] != resource.RLIM_INFINITY or \
            resource.getrlimit(resource.RLIMIT_DATA)[1] != resource.RLIM_INFINITY:
        pytest.skip("the workbench runs under a lower hard limit here: the child keeps that one")
    code = ("import resource\nprint(*resource.getrlimit(resource.RLIMIT_FSIZE), *resource.getrlimit(resource.RLIMIT_DATA))\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n")
    result = run_python(code, timeout_s=20)
    assert result.stdout.split() == [str(16 * 2**20)] * 2 + [str(4 * 2**30)] * 2, result
    nproc = run_python("import resource\nprint(*resource.getrlimit(resource.RLIMIT_NPROC))", timeout_s=20)
    if nproc.isolated_network:  # a user namespace: 64 processes and threads at most (or the user's lower limit)
        hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
        assert nproc.stdout.split() == [str(64 if hard == resource.RLIM_INFINITY else min(64, hard))] * 2, nproc
    if os.getuid() != 0 or result.isolated_network:  # root outside a user namespace may raise any limit
        assert result.stderr.rstrip().endswith("ValueError: not allowed to raise maximum limit"), result


def test_a_kernel_without_landlock_is_abi_0(monkeypatch):
    """The version call fails there (-1, ENOSYS or EOPNOTSUPP when it is built but off): read as a version, the child
    tried to restrict its writes, failed, and no model code ever ran."""
    import ctypes
    import sys

    from workbench import sandbox

    class NoLandlock:
        def __init__(self, *args, **kwargs):
            self.syscall = lambda *args: -1

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(ctypes, "CDLL", NoLandlock)
    sandbox.landlock_abi.cache_clear()
    try:
        assert sandbox.landlock_abi() == 0
    finally:
        sandbox.landlock_abi.cache_clear()


def test_the_timeout_ends_everything_the_code_started_in_its_pid_namespace():
    """Code that left its process group (os.setsid) outlived the group's kill on timeout, as PID 1 of its namespace,
    with what it started, unless unshare was told to take its child with it (--kill-child)."""
    if not _pid_namespaces_allowed():
        pytest.skip("no unprivileged PID namespace here")
    marker = f"77.{os.getpid()}"
    code = ("import os, subprocess, time\nos.setsid()\n"
            f"subprocess.Popen(['sleep', '{marker}'])\n"
            "print('started', flush=True)\n"
            "for _ in range(300):\n    time.sleep(0.05)\n")  # ends by itself within 15 s should it outlive the kill
    try:
        result = run_python(code, timeout_s=1.5)
        assert result.timed_out and "started" in result.stdout
        deadline = time.monotonic() + 5
        while _pids(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _pids(marker) == []
    finally:
        for pid in _pids(marker):  # only the sleep this test started
            os.kill(pid, 9)


def test_a_secret_of_eight_characters_is_blanked_and_one_of_seven_is_not(monkeypatch):
    from workbench.sandbox import redact_secrets

    monkeypatch.setenv("SHORT_TOKEN", "abcd1234")
    monkeypatch.setenv("TINY_TOKEN", "abc1234")
    assert redact_secrets("abcd1234 abc1234") == "[SHORT_TOKEN redacted] abc1234"


def test_a_run_that_timed_out_is_a_timeout_even_on_a_full_temp_folder(tmp_path, monkeypatch):
    """A timed-out run is reported as such (its output is not read as a result), not as a temp folder that filled up."""
    import tempfile
    import types

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    statvfs = os.statvfs
    monkeypatch.setattr(os, "statvfs", lambda path: types.SimpleNamespace(f_bavail=0, f_bfree=0) if str(path).startswith(
        str(tmp_path)) else statvfs(path))
    result = run_python("print('started', flush=True)\nwhile True:\n    pass\n", timeout_s=1)
    assert result.timed_out and result.stdout == "started\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(landlock_abi() < 6, reason="Landlock before 6 cannot scope signals and abstract Unix sockets")
def test_without_namespaces_code_cannot_signal_or_reach_the_user_s_other_processes():
    """Where no PID or network namespace could be made (no unshare, or user namespaces refused, as by Ubuntu's
    AppArmor default), the code could kill the workbench itself (os.kill(os.getppid(), 9)) or any program of the
    user, and talk to their abstract Unix sockets (an X server, a desktop bus); it may still signal its own children."""
    import signal
    import subprocess

    victim = subprocess.Popen(["sleep", "60"])
    name = f"\0wb-sandbox-test-{os.getpid()}"
    server = socket.socket(socket.AF_UNIX)
    server.bind(name)
    server.listen(1)
    code = ("import _socket, os, signal, subprocess\n"
            "child = subprocess.Popen(['sleep', '60'])\nchild.kill()\nprint('own child', child.wait())\n"
            f"for attempt in ('os.kill({victim.pid}, signal.SIGKILL)', 'os.kill(os.getppid(), 0)',\n"
            f"                {f'_socket.socket(_socket.AF_UNIX).connect({name!r})'!r}):\n"
            "    try:\n        exec(attempt)\n        print('ESCAPED', attempt)\n"
            "    except PermissionError:\n        print('denied')\n")
    try:
        result = run_python(code, timeout_s=20, network_namespace=False)
        assert result.stdout.split("\n") == ["own child -9", "denied", "denied", "denied", ""], result
        assert victim.poll() is None
    finally:
        server.close()
        victim.kill()
        victim.wait()


@pytest.mark.parametrize("call", ["socket.getaddrinfo('localhost', 80)", "socket.gethostbyname('localhost')"])
def test_without_a_network_namespace_name_lookups_are_refused(call):
    """A lookup asks the system's DNS resolver over UDP, which Landlock does not cover: a way out for what the code
    read, where no network namespace could be made."""
    result = run_python(f"import socket\nprint({call})", timeout_s=20, network_namespace=False)
    assert result.stdout == "" and "network access is disabled in the workbench sandbox" in result.stderr, result
