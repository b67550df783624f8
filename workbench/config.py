"""Project settings: `workbench.toml` at the project root, overridden by a git-ignored `workbench.local.toml`.

    [llm]                      # defaults for `prompt`, `chat` and anything else that calls llm.py
    base_url = "http://localhost:11434/v1"
    model = "gpt-4o"
    temperature = 0.2
    max_tokens = 2048
    timeout = 120              # seconds per request
    max_retry_seconds = 60     # total time spent retrying one request

    [student]                  # printed on the writeup
    name = "Ada Lovelace"
    id = "1001234567"

The API key never goes in these files: it comes from the environment (OPENAI_API_KEY).
"""

from __future__ import annotations

import re
import tomllib
from urllib.parse import parse_qsl
from pathlib import Path

from workbench.errors import ConfigError
from workbench.llm_settings import LIMITS, check_base_url, file_error
from workbench.paths import project_root

FILES = ("workbench.toml", "workbench.local.toml")
_NUMBER = (int, float)
SCHEMA = {
    "llm": {"base_url": str, "model": str, "temperature": _NUMBER, "top_p": _NUMBER, "max_tokens": int,
            "timeout": _NUMBER, "max_retry_seconds": _NUMBER},
    "student": {"name": str, "id": (str, int)},
}
_SECRET_KEYS = {"api_key", "openai_api_key", "key", "token", "api_token"}


def _check(path: Path, data: dict) -> dict:
    for table, values in data.items():
        if table not in SCHEMA:
            raise ConfigError(f"{path}: unknown table [{table}]", f"use only: {', '.join(f'[{t}]' for t in SCHEMA)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: {table!r} must be a table", f"write it as a [{table}] section")
        for key, value in values.items():
            if key.lower() in _SECRET_KEYS:
                raise ConfigError(f"{path}: [{table}] {key} is not allowed: an API key must never be stored in a project file",
                                  "remove the line and set OPENAI_API_KEY in the environment instead")
            if key not in SCHEMA[table]:
                raise ConfigError(f"{path}: unknown key {key!r} in [{table}]",
                                  f"use only: {', '.join(SCHEMA[table])}")
            kind = SCHEMA[table][key]
            if isinstance(value, bool) or not isinstance(value, kind):
                want = "a number" if kind is _NUMBER else "an integer" if kind is int else "text"
                raise ConfigError(f"{path}: [{table}] {key} = {value!r} must be {want}", f"fix the value of {key}")
            if key == "base_url" and _may_hold_a_key(value):  # never echo it: it holds a secret
                raise ConfigError(f"{path}: [llm] base_url holds user:password or a query string (where gateways take "
                                  "keys; only api-version may be stored): a key must never be stored in a project file",
                                  "drop them here and pass the whole URL with --base-url, or drop base_url here and "
                                  "set OPENAI_BASE_URL in the environment")
            if key == "base_url":
                try:
                    check_base_url(value.strip())  # as resolve_settings takes it
                except ConfigError as exc:
                    raise ConfigError(f"{path}: [llm] base_url: {exc.message}", exc.fix) from None
            if table == "llm" and key in LIMITS and not LIMITS[key][0](value):
                raise file_error(path, key, value)
    return data


def _may_hold_a_key(url: str) -> bool:
    """user:password, or a query parameter other than an Azure-style gateway's api-version (not a secret)."""
    query = url.partition("?")[2].partition("#")[0]
    return bool(re.search(r"//[^/?#]*@", url)) or any(name.strip().lower() != "api-version"
                                                      for name, _ in parse_qsl(query, keep_blank_values=True))


def load_config(root: Path | None = None) -> dict:
    """The merged settings as {"llm": {...}, "student": {...}}; missing files give empty tables."""
    merged: dict = {table: {} for table in SCHEMA}
    for name in FILES:
        path = (root or project_root()) / name
        if not path.is_symlink() and not path.exists():
            continue
        if path.is_dir():  # skipping it would drop the user's settings without a word
            raise ConfigError(f"{path}: is a folder, not a file", f"remove or rename the folder {path}")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # -sig: editors that save a BOM
        except OSError as exc:  # unreadable, or a link to nothing
            raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})",
                              f"make it a readable file (e.g. chmod 644 {path}) or remove it") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})", "save the file as UTF-8") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: malformed TOML ({exc})", "fix the syntax, e.g. key = \"value\"") from None
        for table, values in _check(path, data).items():
            merged[table].update(values)
    if "id" in merged["student"]:
        merged["student"]["id"] = str(merged["student"]["id"])
    return merged
