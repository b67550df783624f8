"""Where and how to ask an LLM: Settings, resolved from CLI flags > workbench.toml [llm] > OPENAI_* environment >
defaults, and checked before anything is sent (the API key comes from OPENAI_API_KEY only and never shows in repr)."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from workbench.errors import ConfigError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o"
DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_RETRY_SECONDS = 60.0
MAX_TIMEOUT = 86400.0  # a socket timeout past ~1e10 s overflows time_t (OverflowError inside the HTTP client)
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}
PLACEHOLDER_KEY = "sk-local-no-key"  # local servers ignore the key, but the client insists on one


@dataclass(frozen=True)
class Settings:
    """Where and how to ask. Build with resolve_settings(); api_key never shows in repr."""

    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    api_key: str = field(default="", repr=False, compare=False)
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    max_tokens: int | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_retry_seconds: float = DEFAULT_MAX_RETRY_SECONDS
    stream: bool = False

    @property
    def public_base_url(self) -> str:
        """The base URL without user:password or query string (some gateways put keys there)."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{parts.port}" if parts.port else ""
        return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))

    def request(self, n: int = 1) -> dict:
        """The request parameters a trace records."""
        return {"model": self.model, "temperature": self.temperature, "top_p": self.top_p, "seed": self.seed,
                "max_tokens": self.max_tokens, "n": n, "stream": self.stream}

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


def is_local(base_url: str) -> bool:
    return (urlsplit(base_url).hostname or "") in LOCAL_HOSTS


def resolve_settings(*, model: str | None = None, base_url: str | None = None, temperature: float | None = None,
                     top_p: float | None = None, seed: int | None = None, max_tokens: int | None = None,
                     timeout: float | None = None, max_retry_seconds: float | None = None, stream: bool = False,
                     require_key: bool = True, config: dict | None = None) -> Settings:
    """Settings from CLI flags (the arguments) > workbench.toml [llm] > environment > defaults."""
    if config is None:
        from workbench.config import load_config

        config = load_config()
    conf = config.get("llm", {})

    sources: dict[str, str] = {}  # setting -> "flag", "file" or the variable: a bad value's error names it

    def pick(flag, key, env=None, default=None):
        if flag is not None:
            sources[key] = "flag"
            return flag
        if conf.get(key) is not None:
            sources[key] = "file"
            return conf[key]
        if env and os.environ.get(env, "").strip():  # blank: unset
            sources[key] = env
            return os.environ[env]
        return default

    url = str(pick(base_url, "base_url", "OPENAI_BASE_URL", DEFAULT_BASE_URL)).strip()
    try:
        check_base_url(url)
    except ConfigError as exc:
        source = sources.get("base_url")
        if source == "flag":
            raise ConfigError(f"--base-url: {exc.message}",
                              "give --base-url an http(s) URL, e.g. http://localhost:11434/v1, or drop it") from None
        if source == "file":  # a table handed in: load_config names the file itself
            raise ConfigError(f"{CONFIG_FILES}: [llm] base_url: {exc.message}", exc.fix) from None
        raise ConfigError(f"OPENAI_BASE_URL: {exc.message}", "set OPENAI_BASE_URL to an http(s) URL, "
                          "e.g. https://api.openai.com/v1, or unset it") from None
    settings = Settings(
        base_url=url, model=str(pick(model, "model", "OPENAI_MODEL", DEFAULT_MODEL)),
        temperature=pick(temperature, "temperature"), top_p=pick(top_p, "top_p"), seed=seed,
        max_tokens=pick(max_tokens, "max_tokens"), timeout=float(pick(timeout, "timeout", default=DEFAULT_TIMEOUT)),
        max_retry_seconds=float(pick(max_retry_seconds, "max_retry_seconds", default=DEFAULT_MAX_RETRY_SECONDS)),
        stream=stream)
    _validate(settings, sources)  # before the key: a bad flag is the first thing to fix, key or not
    key = os.environ.get("OPENAI_API_KEY", "").strip()
    bad = next((i for i, ch in enumerate(key) if not "!" <= ch <= "~"), None)
    if bad is not None:  # the HTTP client fails on it mid-request, misreported as a bad response or a network fault
        raise ConfigError(f"OPENAI_API_KEY has a character that cannot be sent in an HTTP header "
                          f"(character {bad + 1} of {len(key)}: a space, line break, quote mark or other non-ASCII)",
                          "set it again with the key alone, e.g. export OPENAI_API_KEY='sk-...'")
    if not key and is_local(url):
        key = PLACEHOLDER_KEY
    if not key and require_key:
        raise ConfigError(f"no API key for {settings.public_base_url}",
                          "set OPENAI_API_KEY in the environment, or use a local server with "
                          "--base-url http://localhost:11434/v1 (Ollama) or [llm] base_url in workbench.toml")
    # padding is never part of a name: a CRLF file's OPENAI_MODEL ends in \r, which the server would not know
    return settings.replace(api_key=key, model=settings.model.strip())


def check_base_url(url: str) -> str:
    """`url` if the HTTP client can use it; else a ConfigError (a bad port or host would crash inside openai)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed [ of an IPv6 address
        parts, problem = None, str(exc)
    if parts is not None:
        host = parts.hostname or ""
        try:
            port_ok = parts.port != 0  # .port raises ValueError above 65535
        except ValueError:
            port_ok = False
        problem = ("it needs http:// or https:// and a host" if parts.scheme not in ("http", "https") or not host else
                   "the port must be 1-65535" if not port_ok else
                   "" if _valid_host(host) else f"{host!r} is not a valid host name or IP address")
        if not problem and re.search(r"[\x00-\x20\x7f]", url):  # the http client would crash with a traceback
            problem = "it holds a space or control character"
    if problem:
        shown = re.sub(r"//[^/?#]*@", "//", url).split("?")[0]  # never echo user:password or a query-string key
        raise ConfigError(f"base URL {shown!r} is not an http(s) URL ({problem})",
                          "use e.g. https://api.openai.com/v1 or http://localhost:11434/v1")
    return url


def _valid_host(host: str) -> bool:
    """A DNS name, an IPv4 address with every part 0-255, or an IPv6 address."""
    import ipaddress

    if ":" in host or re.fullmatch(r"[\d.]+", host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return True
    return all(re.fullmatch(r"(?!-)[\w-]{1,63}(?<!-)", label) for label in host.rstrip(".").split("."))


# Each setting's range as (ok(value), what to use): checked here for flags, and by config.py for workbench.toml,
# whose error names the file (NaN fails every comparison, so it is out of range too)
LIMITS = {
    "temperature": (lambda v: 0 <= v <= 2, "a number from 0 to 2"),
    "top_p": (lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "max_tokens": (lambda v: v > 0, "a positive integer"),
    "timeout": (lambda v: 0 < v <= MAX_TIMEOUT, f"a positive number of seconds, at most {MAX_TIMEOUT:g} (a day)"),
    "max_retry_seconds": (lambda v: v >= 0, "zero or more seconds"),
    "model": (lambda v: bool(v.strip()), "a model name such as gpt-4o"),
}


# The flag of each setting that has one (max_retry_seconds is set in workbench.toml only)
FLAGS = {"base_url": "--base-url", "model": "--model", "temperature": "--temperature", "top_p": "--top-p",
         "max_tokens": "--max-tokens", "timeout": "--timeout"}
CONFIG_FILES = "workbench.toml or workbench.local.toml"


def _validate(s: Settings, sources: dict[str, str]) -> None:
    """A value out of its range is refused in one line naming where it came from (an environment variable's model
    is never blank here: a blank variable is unset)."""
    for name, (ok, want) in LIMITS.items():
        value = getattr(s, name)
        if value is None or ok(value):
            continue
        if sources.get(name) == "flag" and name in FLAGS:
            raise flag_error(name, value)
        if sources.get(name) == "file":  # a table handed in: load_config names the file itself
            raise file_error(CONFIG_FILES, name, value)
        raise ConfigError(f"{name} = {value!r} {_wrong(name)}", f"use {want}")


def _wrong(name: str) -> str:
    return "names no model" if name == "model" else "is out of range"


def flag_error(name: str, value) -> ConfigError:
    """`--top-p 0 is out of range`, with what to give the flag (as `--judge ''` says of the grader)."""
    flag = FLAGS[name]
    shown = repr(value) if isinstance(value, str) else f"{value:g}"
    fix = (f"give the model's name, e.g. --model {DEFAULT_MODEL}, or drop --model to use workbench.toml [llm] model, "
           f"OPENAI_MODEL or {DEFAULT_MODEL}" if name == "model" else f"give {flag} {LIMITS[name][1]}, or drop it")
    return ConfigError(f"{flag} {shown} {_wrong(name)}", fix)


def file_error(where, name: str, value) -> ConfigError:
    """`workbench.toml: [llm] top_p = 0 is out of range`, with what to write there."""
    fix = (f'give the model\'s name, e.g. model = "{DEFAULT_MODEL}", or remove the line' if name == "model"
           else f"use {LIMITS[name][1]}")
    return ConfigError(f"{where}: [llm] {name} = {value!r} {_wrong(name)}", fix)
