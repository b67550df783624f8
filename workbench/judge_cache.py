"""The model grader's results, kept so that grading the same answer again costs no request and gives the same score.

One small JSON file per grade under .cache/judge/, named by the SHA-256 of everything that decides the grade: the
requested --judge model, the public base URL with its api-version (no credentials), the sampling settings sent (the
temperature it was graded at, top_p, seed, max_tokens) and the exact messages sent, with the random delimiter nonce
fixed (so the grading prompt's text, the question, the key points and the answer text). A file holds the score, the
notes, the model version the server reported and when it was graded: never the key, nothing from the environment.
Traces are write-once, so an answer's text, and with it its key, is stable.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from workbench.atomic import atomic_write
from workbench.errors import WorkbenchError
from workbench.paths import file_in_the_way, project_root
from workbench.traces import utc_now

SCHEMA = "workbench.judge-grade/1"
MAX_BYTES = 1 << 20  # a grade is a few hundred bytes: a larger file is not one of ours


def default_cache_dir() -> Path:
    return project_root() / ".cache" / "judge"


def grade_endpoint(settings) -> str:
    """The public base URL and its api-version (an Azure-style gateway's: another API version may grade otherwise);
    never user:password nor any other query parameter (where a gateway may take a key)."""
    query = [(name, value) for name, value in parse_qsl(urlsplit(settings.base_url).query, keep_blank_values=True)
             if name.strip().lower() == "api-version"]
    return settings.public_base_url + (f"?{urlencode(query)}" if query else "")


def sampling(settings, temperature: float | None) -> dict:
    """The request settings besides the model that can change a grade, at `temperature` (the one graded at)."""
    return {"temperature": temperature, "top_p": settings.top_p, "seed": settings.seed,
            "max_tokens": settings.max_tokens}


def grade_key(model: str, base_url: str, sampling: dict, messages: list[dict]) -> str:
    # ASCII JSON: an answer's lone surrogates (a C-locale file name pasted in) hash as their escapes, never fail
    blob = json.dumps([SCHEMA, model, base_url, sampling, messages], ensure_ascii=True, sort_keys=True)
    return hashlib.sha256(blob.encode("ascii")).hexdigest()


class GradeCache:
    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder is not None else default_cache_dir()
        self._warned = False  # a cache that cannot be written is said once per command, not once per grade
        self._lock = threading.Lock()  # study --jobs: workers put at once

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """{"score", "notes", "model", "graded_at"}, or None when there is none, or it is damaged or foreign (then the
        answer is graded again and the file replaced: a cache is never trusted past what it can show)."""
        try:
            with open(self.path(key), "rb") as fh:
                raw = fh.read(MAX_BYTES + 1)
            data = json.loads(raw) if len(raw) <= MAX_BYTES else None
        except (OSError, ValueError, RecursionError):  # missing, a folder, unreadable, not JSON (UnicodeDecodeError too)
            return None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            return None
        score, notes, model, when = data.get("score"), data.get("notes"), data.get("model"), data.get("graded_at")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1 \
                or not isinstance(notes, str) or not isinstance(model, (str, type(None))) or not isinstance(when, str):
            return None
        return {"score": float(score), "notes": notes, "model": model, "graded_at": when}

    def put(self, key: str, score: float, notes: str, model: str | None) -> None:
        """Written atomically (two workers grading the same answer each replace the file whole); a cache that cannot
        be written (read-only, full) only costs the request next time."""
        data = {"schema": SCHEMA, "score": score, "notes": notes, "model": model, "graded_at": utc_now()}
        try:
            atomic_write(self.path(key), (json.dumps(data, ensure_ascii=True, indent=1) + "\n").encode("ascii"))
        except (OSError, WorkbenchError) as exc:
            self._cannot_keep(exc)

    def _cannot_keep(self, exc: Exception) -> None:
        """The grade still counts, but a silent failure (a .cache that is a file) made every run pay for every grade."""
        with self._lock:
            if self._warned:
                return
            self._warned = True
        from workbench.console import print_warning

        blocking = file_in_the_way(self.folder)
        if blocking is not None:
            why, fix = f"{blocking} is a file, not a folder", "move that file away"
        else:
            why, fix = getattr(exc, "reason", "") or getattr(exc, "strerror", "") or str(exc), "make it a writable folder"
        print_warning(f"model grades cannot be kept in {self.folder}: {why}, so each run pays for them again — {fix}")
