"""User-facing errors. The CLI prints each as one line (message + fix) and exits non-zero.

Anything that is not a WorkbenchError is a bug and keeps its traceback.
"""


class WorkbenchError(Exception):
    """Base class: `message` says what is wrong, `fix` says what to do about it."""

    exit_code = 2

    def __init__(self, message: str, fix: str | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} ({self.fix})" if self.fix else self.message

    def __reduce__(self):  # keep `fix` (and subclass fields) when a worker process sends the error back
        return type(self), (self.message, self.fix), self.__dict__


class MissingWorkError(WorkbenchError):
    """Required work (a trace, a solution) is not there yet: exit 1, as a failed check."""

    exit_code = 1


class Interrupted(WorkbenchError):
    """Ctrl-C, with what was kept and how to continue: exit 130, as for any interrupted command."""

    exit_code = 130


class UsageError(WorkbenchError):
    """Bad arguments or an unknown id."""


class ProblemError(WorkbenchError):
    """A problem record or pack is malformed."""


class ConfigError(WorkbenchError):
    """Settings are missing or invalid (API key, base URL, config file)."""


class LLMError(WorkbenchError):
    """An LLM request failed for good (after retries). `status`: the HTTP status, when the server answered."""

    exit_code = 3

    def __init__(self, message: str, fix: str | None = None, status: int | None = None):
        super().__init__(message, fix)
        self.status = status


class TraceError(WorkbenchError):
    """A trace is unreadable, edited, or would be overwritten."""


class CheckError(WorkbenchError):
    """A reference check could not run."""


class DataError(WorkbenchError):
    """Training data missing or unusable."""


class TrainingError(WorkbenchError):
    """Bad training settings, device, or checkpoint."""


class WriteError(WorkbenchError):
    """A file could not be written (disk full, file too large, an I/O error). `reason`: the system's words;
    `advice`: what to do about it, for a fix that goes on otherwise (how to continue)."""

    def __init__(self, message: str, fix: str | None = None, reason: str = "", advice: str = ""):
        super().__init__(message, fix)
        self.reason, self.advice = reason, advice

    def moved(self, old, new) -> "WriteError":
        """The same error naming `new` where it named `old` (a staging folder that is about to go)."""
        return WriteError(self.message.replace(str(old), str(new)), self.fix, self.reason, self.advice)


class WriteupError(WorkbenchError):
    """The writeup could not be built."""


def yaml_problem(exc) -> str:
    """What a PyYAML error says, on one line: a ReaderError (a NUL or other control character, a byte that is not
    UTF-8) has no `problem`, and its str() runs over two lines."""
    if getattr(exc, "problem", None):
        if exc.problem.startswith("but ") and getattr(exc, "context", None):  # front matter: "but found another document"
            return f"{exc.context}, {exc.problem}"
        return exc.problem
    if getattr(exc, "reason", None) and isinstance(getattr(exc, "character", None), int):
        return f"{exc.reason} (character {exc.character:#04x} at offset {exc.position})"
    return " ".join(str(exc).split())
