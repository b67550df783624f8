"""The untrusted-code runner: no network, killed on timeout, scrubbed environment, temp dir as cwd and HOME."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from workbench.sandbox import run_python


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
    code = ("import os, json\n"
            "print(json.dumps({'cwd': os.getcwd(), 'home': os.environ.get('HOME'), 'keys': sorted(os.environ)}))")
    result = run_python(code, timeout_s=20)
    assert result.ok, result.stderr
    import json

    data = json.loads(result.stdout)
    assert data["cwd"] == data["home"] and os.path.basename(data["cwd"]).startswith("wb-sandbox-")
    assert "OPENAI_API_KEY" not in data["keys"] and "sk-fixture-secret" not in result.stdout
    assert not os.path.exists(data["cwd"])  # removed afterwards


def test_errors_come_back_as_output():
    result = run_python("raise ValueError('boom')", timeout_s=20)
    assert result.returncode == 1 and "ValueError: boom" in result.stderr
