"""Shared terminal output: rich consoles, one-line errors, stable JSON."""

from __future__ import annotations

import json
import sys

from rich.console import Console

from workbench.errors import WorkbenchError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def print_error(exc: WorkbenchError) -> None:
    """One line: what is wrong, then how to fix it."""
    line = f"error: {exc.message}"
    if exc.fix:
        line += f" — {exc.fix}"
    err_console.print(line, markup=False, soft_wrap=True)


def print_json(data) -> None:
    """Machine-readable output: sorted keys, UTF-8, newline-terminated, no rich markup."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def fmt_points(points: float) -> str:
    return f"{points:g}"
