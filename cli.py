#!/usr/bin/env python
"""Command-line entry point: parse arguments, call one library function, render the result."""

from __future__ import annotations

import argparse
import codecs
import importlib
import os
import signal
import sys

if sys.version_info < (3, 11):  # before the imports below (tomllib, `str | None`): a traceback said neither version
    print(f"error: the workbench needs Python 3.11 or newer, and this is {sys.version.split()[0]} — run it with "
          "python3.11 (or newer), and install requirements-dev.txt into that Python", file=sys.stderr)
    sys.exit(2)

from workbench import __version__
from workbench.errors import WorkbenchError

# Each module registers its subcommands; heavy imports stay inside the handlers.
COMMAND_MODULES = (
    "workbench.commands.catalog",
    "workbench.commands.prompting",
    "workbench.commands.tracing",
    "workbench.commands.checking",
    "workbench.commands.study",
    "workbench.commands.training",
    "workbench.commands.submission",
)


class _Parser(argparse.ArgumentParser):
    """argparse, remembering its last error so that main can repeat it as JSON for --json (subparsers share it)."""

    last_error: str | None = None
    last_prog = "cli.py COMMAND"  # whose --help the JSON error's fix names: the command's, where it is known

    def __init__(self, *args, **kwargs):
        # No prefix abbreviations (`--ep` for --epochs): a typo ran with another option, and an option added later
        # would change what an abbreviation means. Subparsers are built by this class too, so this covers them.
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message):
        _Parser.last_error = f"{self.prog}: {message}"
        _Parser.last_prog = self.prog if self.prog != "cli.py" else "cli.py COMMAND"
        super().error(message)

    def parse_known_args(self, args=None, namespace=None):
        # A command's words may sit on both sides of its options (`traces show --raw FILE`, `prompt 1.2.1 --stream
        # 2.2.3`): plain argparse fills a "*" positional from the first run of words only and calls the rest
        # unrecognized. Intermixed parsing (for the commands, not the top level, whose positional is the command)
        # reads them all; it calls back here for its two passes.
        if self._subparsers is not None or getattr(self, "_intermixing", False):
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cli.py",
        description="LLM-assisted assignment workbench: problems, prompts, traces, checks, writeup.",
        epilog="Exit codes: 0 ok; 1 a check failed or required work is missing; 2 bad input or settings, or a file that "
               "cannot be written (disk full); 3 LLM failure; 130 interrupted (Ctrl-C); 141 stdout's reader went away "
               "(`| head`). Errors are one line on stderr; with --json also {error, fix, exit_code} on stdout.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _unencodable(exc: UnicodeError):
    """A character stdout cannot encode is written as ?; a file name's undecodable byte (a surrogate escape, where
    the file system encoding is ASCII) is written back as that byte, so a path prints as it is on disk."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = exc.object[exc.start:exc.end]
    return b"".join(bytes([ord(c) - 0xDC00]) if 0xDC80 <= ord(c) <= 0xDCFF else b"?" for c in text), exc.end


_UNENCODABLE = "workbench-unencodable"
codecs.register_error(_UNENCODABLE, _unencodable)


# import name -> pip name of the packages requirements.txt installs (requirements-dev.txt adds the tests' own)
_PACKAGES = {"yaml": "pyyaml", "rich": "rich", "openai": "openai", "torch": "torch", "torchvision": "torchvision",
             "matplotlib": "matplotlib", "numpy": "numpy", "PIL": "pillow", "sympy": "sympy", "nbformat": "nbformat",
             "pypandoc": "pypandoc-binary", "typst": "typst"}


def _missing_package(exc: ModuleNotFoundError, argv: list[str]) -> int:
    """A package of requirements.txt that is not installed (a fresh clone before `pip install`, or another Python
    than the one it went into): one line, printed without rich, which may be the one missing. Anything else is a bug."""
    package = _PACKAGES.get((exc.name or "").partition(".")[0])
    if package is None:
        raise exc
    error = f"the Python package {package} is not installed in this Python ({sys.executable})"
    fix = "run `pip install -r requirements.txt` (requirements-dev.txt for the tests) with that Python"
    print(f"error: {error} — {fix}", file=sys.stderr)
    if "--json" in argv:
        import json

        print(json.dumps({"error": error, "fix": fix, "exit_code": 2}))
    return 2


def main(argv: list[str] | None = None) -> int:
    # A stdout that cannot encode every character (a Windows code page such as cp932 when piped, a Latin-1 or
    # ASCII locale) printed part of a table, then ended in a UnicodeEncodeError traceback: it gets ? instead.
    # Python gives the C/POSIX locale's ASCII stdout (PYTHONUTF8=0) surrogateescape, which fails the same way.
    if getattr(sys.stdout, "errors", None) in ("strict", "surrogateescape") and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors=_UNENCODABLE)
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser()
    except ModuleNotFoundError as exc:
        return _missing_package(exc, argv)
    except KeyboardInterrupt:  # Ctrl-C while the command modules load (the first half second): a traceback before
        print("interrupted", file=sys.stderr)
        if "--json" in argv:
            from workbench.console import print_json

            print_json({"error": "interrupted", "fix": None, "exit_code": 130})
        return 130
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # refused by the command's parser: its usage lists the options it has, the top level's none
            commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            commands.choices.get(args.command, parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as exc:  # bad arguments: argparse printed the usage and its message on stderr
        if exc.code and "--json" in argv and _Parser.last_error:
            from workbench.console import print_json

            print_json({"error": _Parser.last_error, "fix": f"see `python {_Parser.last_prog} --help`", "exit_code": exc.code})
        raise
    except WorkbenchError as exc:  # a path flag's type refused its path (paths.path_arg): one line, before the command
        from workbench import console

        console.print_error(exc)
        if "--json" in argv:
            console.print_json({"error": exc.message, "fix": exc.fix, "exit_code": exc.exit_code})
        return exc.exit_code
    if not getattr(args, "func", None):  # no command: bad input, so the help goes where errors go
        parser.print_help(sys.stderr)
        return 2
    from workbench import console

    console.json_written = console.reader_gone = False
    console.console.quiet = console.err_console.quiet = False  # an earlier command in this process lost its reader
    try:
        code = int(args.func(args) or 0)
        return console.EXIT_READER_GONE if console.reader_gone else code
    except WorkbenchError as exc:
        console.print_error(exc)
        return _json_error(args, exc.message, exc.fix, exc.exit_code)
    except ModuleNotFoundError as exc:  # imported where a command needs it (torch, openai, typst, ...)
        return _missing_package(exc, argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return _json_error(args, "interrupted", None, 130)
    except (console.ReaderGone, BrokenPipeError):
        console.silence()
        return console.EXIT_READER_GONE


def _json_error(args, message: str, fix: str | None, exit_code: int) -> int:
    """A script that asked for --json gets a JSON document on stdout even when the command fails (one only)."""
    from workbench import console

    if getattr(args, "json", False) and not console.json_written:
        console.print_json({"error": message, "fix": fix, "exit_code": exit_code})
    return exit_code


def exit_process(code: int) -> None:
    """sys.exit, unless a check was abandoned (timed out, or stopped by Ctrl-C) while it ran.

    Such a check may still be inside torch's C++ code, in its thread or torch's own, and interpreter
    shutdown pulls torch's state from under it: the process aborted ("terminate called without an
    active exception", exit 134) after its message was printed, even when the check's Python thread had
    just ended. So then the sandbox's children are killed and the process ends without that shutdown.
    A Ctrl-C from here on has nothing left to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    verify = sys.modules.get("workbench.verify")
    if verify is not None and verify.abandoned_checks():
        if "workbench.sandbox" in sys.modules:
            sys.modules["workbench.sandbox"].kill_running()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    exit_process(main())
