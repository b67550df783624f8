#!/usr/bin/env python
"""Command-line entry point: parse arguments, call one library function, render the result."""

from __future__ import annotations

import argparse
import importlib
import sys

from workbench import __version__
from workbench.errors import WorkbenchError

# Each module registers its subcommands; heavy imports stay inside the handlers.
COMMAND_MODULES = (
    "workbench.commands.catalog",
    "workbench.commands.prompting",
    "workbench.commands.tracing",
    "workbench.commands.checking",
    "workbench.commands.training",
    "workbench.commands.submission",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cli.py",
        description="LLM-assisted assignment workbench: problems, prompts, traces, checks, writeup.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except WorkbenchError as exc:
        from workbench.console import print_error

        print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
