"""Paths named on the command line are checked once, while the arguments are parsed: a bad one is one line naming
its flag, exit 2, before the command runs (no data loaded, nothing judged or built), and nothing is created."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import cli

# (command words before the path, the flag as the error names it, what the path must be, written?)
COMMANDS = {
    "build-writeup --out": (["build-writeup", "--out"], "--out", "folder", True),
    "train --out": (["train", "unet", "--out"], "--out", "folder", True),
    "sweep --out": (["sweep", "seed", "0", "--out"], "--out", "folder", True),
    "study --plot": (["study", "--plot"], "--plot", "file", True),
    "check FILE": (["check", "3.1"], "FILE", "file", False),
    "import-chat FILE": (["import-chat", "--problem", "3.1"], "FILE", "file", False),
    "train --data": (["train", "unet", "--data"], "--data", None, False),
    "train --palette": (["train", "unet", "--palette"], "--palette", "file", False),
    "pin RUN": (["pin"], "RUN", None, False),  # a name under runs/ too: either kind
}

# the command functions: none may run when a path is refused at parsing
HANDLERS = [("workbench.commands.submission", "cmd_build_writeup"), ("workbench.commands.training", "cmd_train"),
            ("workbench.commands.training", "cmd_sweep"), ("workbench.commands.training", "cmd_pin"),
            ("workbench.commands.study", "cmd_study"), ("workbench.commands.checking", "cmd_check"),
            ("workbench.commands.tracing", "cmd_import_chat")]


def _bad_paths(base: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, words the error must hold); `base` holds notes.txt (a file), plots.png (a folder) and
    locked/ (no write permission)."""
    return {
        "name too long": (base / ("a" * 300 + ".png"), "more than the 255"),
        "path too long": (base.joinpath(*["b" * 200] * 25, "c.png"), "File name too long"),
        "parent is a file": (base / "notes.txt" / "x.png", f"{base / 'notes.txt'} is a file, not a folder"),
        # the kernel reads notes.txt/.. as a folder of notes.txt (ENOTDIR); abspath's text made it base/x.png
        "through a file and back": (base / "notes.txt" / ".." / "x.png",
                                    f"{base / 'notes.txt'} is a file, not a folder"),
        "folder given for a file": (base / "plots.png", "is a folder, not a file"),
        "file given for a folder": (base / "notes.txt", "is a file, not a folder"),
        "not writable": (base / "locked" / "new" / "x.png", f"cannot write in {base / 'locked'}"),
    }


def _applies(case: str, kind: str | None, write: bool) -> bool:
    return {"folder given for a file": kind == "file", "file given for a folder": kind == "folder",
            "not writable": write}.get(case, True)


CASES = [(cmd, case) for cmd, (_, _, kind, write) in COMMANDS.items() for case in _bad_paths(Path("/x"))
         if _applies(case, kind, write)]


def _listing(*roots: Path) -> list[str]:
    return sorted(str(p) for root in roots for p in root.rglob("*"))


@pytest.mark.parametrize("command, case", CASES)
def test_a_bad_path_is_refused_at_parsing_in_one_line_naming_its_flag(project, tmp_path, capsys, monkeypatch,
                                                                      command, case):
    root = case == "not writable" and os.geteuid() == 0  # root writes in any folder, though not in /proc
    if root and not os.path.isdir("/proc"):
        pytest.skip("root writes in any folder, and there is no /proc")
    base = tmp_path / "given"
    base.mkdir()
    (base / "notes.txt").write_text("mine")
    (base / "plots.png").mkdir()
    (base / "locked").mkdir(mode=0o555)
    for module, name in HANDLERS:
        monkeypatch.setattr(f"{module}.{name}", lambda args: pytest.fail("the command ran with a bad path"))
    words, flag, _, _ = COMMANDS[command]
    path, reason = _bad_paths(base)[case] if not root else (Path("/proc/wb-new/x.png"), "cannot write in /proc")
    before = _listing(base, project)
    argv = [*words, str(path)] if command != "import-chat FILE" else ["import-chat", str(path), *words[1:]]

    as_json = command != "build-writeup --out"  # the one without --json
    assert cli.main([*argv, *(["--json"] if as_json else [])]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"error: {flag} ") and err.count("\n") == 1 and reason in err, err
    if as_json:  # the same line as a document
        assert json.loads(out)["error"] in err and json.loads(out)["exit_code"] == 2
    assert _listing(base, project) == before and (base / "notes.txt").read_text() == "mine"


def test_dot_dot_is_read_as_the_system_reads_it_through_links_and_folders_not_made_yet(tmp_path, monkeypatch):
    """`..` after a name is the folder above what that name is (a link's target's parent), not the name struck
    from the text; after a folder not made yet it is the folder the command makes it in."""
    from workbench.paths import path_problem

    (tmp_path / "far" / "deep").mkdir(parents=True)
    (tmp_path / "far" / "blocker").write_text("a file")
    (tmp_path / "blocker").mkdir()  # as text, link/../blocker is this folder
    (tmp_path / "link").symlink_to(tmp_path / "far" / "deep", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    assert path_problem("link/../blocker/x.png", "file", write=True) == (
        f"{tmp_path / 'link' / '..' / 'blocker'} is a file, not a folder",
        "give a path under a folder, not under that file")
    (tmp_path / "far" / "blocker").unlink()
    (tmp_path / "far" / "blocker").mkdir()
    (tmp_path / "blocker").rmdir()
    (tmp_path / "blocker").write_text("a file")  # as text, link/../blocker is this file: the system reads a folder
    assert path_problem("link/../blocker/x.png", "file", write=True) is None
    assert path_problem("new/../blocker/x.png", "file")[0] == f"{tmp_path / 'blocker'} is a file, not a folder"
    assert path_problem("new/../new2/x.png", "file", write=True) is None and sorted(os.listdir(tmp_path)) == \
        ["blocker", "far", "link"]


@pytest.mark.parametrize("argv", [["build-writeup", "--out", "new/deeper"], ["study", "--plot", "new/study.png"],
                                  ["train", "unet", "--out", "new/run"], ["check", "3.1", "-"]])
def test_a_good_path_reaches_the_command_unchanged_and_creates_nothing(project, tmp_path, monkeypatch, argv):
    """A folder not there yet is fine (the command makes it when it writes), and checking it makes nothing."""
    seen = []
    for module, name in HANDLERS:
        monkeypatch.setattr(f"{module}.{name}", lambda args: seen.append(args) or 0)
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 0
    assert getattr(seen[0], {"--out": "out", "--plot": "plot"}.get(argv[-2], "file")) == argv[-1]
    assert list(tmp_path.iterdir()) == [project]


def test_a_path_starting_with_a_tilde_is_the_home_folders_for_every_command(project, tmp_path, capsys, monkeypatch):
    """`check 3.1 "~/answer.md"` (quoted, or `--out=~/x`, where the shell leaves ~ alone) said 'cannot read', and
    build-writeup made a folder named ~ in the current one, where train, sweep, pin and study read ~ as the home
    folder (and the argument check looked there); every path flag reads it so."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "answer.md").write_text("The answer is 42.\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    code = cli.main(["check", "3.1", "~/answer.md"])
    err = capsys.readouterr().err
    assert code in (0, 1) and "cannot read" not in err, err
    seen = []
    monkeypatch.setattr("workbench.commands.submission.cmd_build_writeup", lambda args: seen.append(args.out) or 0)
    monkeypatch.setattr("workbench.commands.tracing.cmd_import_chat", lambda args: seen.append(args.file) or 0)
    assert cli.main(["build-writeup", "--out=~/build"]) == 0
    assert cli.main(["import-chat", "~/answer.md", "--problem", "3.1"]) == 0
    assert seen == [str(home / "build"), str(home / "answer.md")] and not (tmp_path / "~").exists()
