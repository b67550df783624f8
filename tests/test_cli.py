"""The command line as a whole: what every command's parser accepts and refuses."""

from __future__ import annotations

import argparse
import json

import pytest

from conftest import REPO  # noqa: F401  (puts the repository on sys.path)


def _parsers():
    """(name, parser) of the top level and of every command."""
    from cli import build_parser

    top = build_parser()
    yield "cli.py", top
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


@pytest.mark.parametrize("argv", [["list", "--js"], ["list", "--pa", "a2"], ["train", "--ep", "1", "unet"],
                                  ["prompt", "1.2.1", "--dry"]])
def test_an_abbreviated_option_is_refused_not_taken_for_the_whole_one(project, capsys, argv):
    from cli import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""  # nothing ran: `list --js` printed the JSON document of `list --json`
    abbreviation = next(word for word in argv if word.startswith("--"))
    assert f"unrecognized arguments: {abbreviation}" in err


@pytest.mark.parametrize("argv, command", [(["train", "unet", "--ep", "2"], "train"), (["list", "--bogus"], "list"),
                                           (["traces", "show", "abcd", "--stream"], "traces")])
def test_an_unknown_option_is_refused_with_its_command_s_usage(project, capsys, argv, command):
    """`train unet --ep 2` printed the top level's usage (`cli.py [-h] [--version] COMMAND ...`) and `cli.py: error`,
    which lists none of train's options; the command's own usage and name come with the message."""
    from cli import main

    with pytest.raises(SystemExit) as exc:
        main(argv + ["--json"])
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    unknown = " ".join(argv[argv.index(next(w for w in argv if w in ("--ep", "--bogus", "--stream"))):])
    assert err.startswith(f"usage: cli.py {command} ") and f"cli.py {command}: error: unrecognized arguments: {unknown}\n" in err
    assert json.loads(out)["error"] == f"cli.py {command}: unrecognized arguments: {unknown}"
    assert json.loads(out)["fix"] == f"see `python cli.py {command} --help`"  # not COMMAND: the command is known


def test_no_parser_reads_a_prefix_of_any_of_its_long_options():
    """Every long option of every command, shortened by one letter, is no option of that command."""
    checked = 0
    for name, parser in _parsers():
        for option in parser._option_string_actions:
            if option.startswith("--") and len(option) > 3:
                found = parser._parse_optional(option[:-1])
                assert found is None or found[0] is None, f"{name} reads {option[:-1]} as {option}"
                checked += 1
    assert checked > 50  # the walk reached the commands' options, not only the top level's


def test_starting_the_cli_imports_no_numpy():
    """Every command's parser is built at start: a module-level import of workbench.stats (numpy) in one command's
    module made every command, `list` and `--help` too, pay ~50 ms for numpy (ARCHITECTURE: heavy imports happen in
    the functions that need them)."""
    import subprocess
    import sys

    code = "import sys, cli; cli.main(['list']); print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr


def test_study_help_names_the_problems_a_type_needs_for_an_interval():
    """The help states stats.MIN_PROBLEMS as a number (it is built before numpy may be imported): it must be the one
    the study uses."""
    from workbench.stats import MIN_PROBLEMS

    study = dict(_parsers())["study"]
    assert f"none for a Type of fewer than {MIN_PROBLEMS} problems" in " ".join(study.description.split())


def test_a_project_path_given_from_another_folder_is_named_where_it_is(project, tmp_path, monkeypatch, capsys):
    """Run from another folder (`cd /tmp && python ~/wb/cli.py ...`), `check 3.1 solutions/a2/3.1.md` and
    `pin runs/unet`, as the README writes them, said only that the file or run is not there (paths are read from
    the current folder) while `train unet` had written runs/unet into the project: the fix names the project's."""
    from cli import main

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["check", "3.1", "solutions/a2/3.1.md"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read solutions/a2/3.1.md" in err
    assert f"{project / 'solutions' / 'a2' / '3.1.md'}" in err and str(elsewhere) in err, err
    (project / "runs" / "unet").mkdir()
    assert main(["pin", "runs/unet", "--as", "unet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{project / 'runs' / 'unet'}" in err and str(elsewhere) in err, err
    for argv in (["train", "--out", "runs/unet", "--resume"], ["train", "unet", "--out", "runs/unet", "--resume"],
                 ["sweep", "seed", "0", "1", "--out", "runs/unet", "--resume"]):  # a resume there is 'nothing to resume'
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: nothing to resume: {elsewhere / 'runs' / 'unet'}") and err.count("\n") == 1, err
        assert f"{project / 'runs' / 'unet'}" in err, err
    monkeypatch.chdir(project)  # from the project itself: no such words
    assert main(["check", "3.1", "solutions/a2/nope.md"]) == 2
    assert "current folder" not in capsys.readouterr().err


def test_a_pack_path_given_from_another_folder_is_named_where_it_is(project, tmp_path, monkeypatch, capsys):
    """`--pack problems/a2` run from another folder said "no problem pack 'problems/a2' (looked in
    <project>/problems/problems/a2)"; the fix names the current folder and the project's pack folder."""
    from cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["list", "--pack", "problems/a2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"the project's is {project / 'problems' / 'a2'}" in err and str(tmp_path) in err, err


def _run_cli_with(setup: str, *argv: str):
    """cli.py run as a script in a fresh interpreter after `setup` (Python code) has run."""
    import subprocess
    import sys

    code = (f"import runpy, sys\n{setup}\nsys.argv = ['cli.py', *{list(argv)!r}]\n"
            f"runpy.run_path({str(REPO / 'cli.py')!r}, run_name='__main__')\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)


@pytest.mark.parametrize("blocked, package", [("rich", "rich"), ("yaml", "pyyaml")])
def test_a_missing_package_is_one_line_naming_it_and_the_install_command(blocked, package):
    """A fresh clone run before `pip install -r requirements-dev.txt` (or in another Python than the one it went
    into) ended in a ModuleNotFoundError traceback; it is one line naming the package and the command, exit 2."""
    result = _run_cli_with(f"sys.modules[{blocked!r}] = None", "list")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"error: the Python package {package} is not installed"), result.stderr
    assert "pip install -r requirements.txt" in result.stderr and result.stderr.count("\n") == 1, result.stderr
    result = _run_cli_with(f"sys.modules[{blocked!r}] = None", "list", "--json")
    assert result.returncode == 2 and json.loads(result.stdout)["exit_code"] == 2, result.stdout


def test_a_python_older_than_the_workbench_needs_is_one_line():
    """On Python 3.10 (Ubuntu 22.04's) the workbench ended in a traceback (tomllib, `str | None`) that named
    neither Python's version nor the one it needs."""
    result = _run_cli_with("sys.version_info = (3, 10, 12, 'final', 0)", "list")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: the workbench needs Python 3.11 or newer") and result.stderr.count("\n") == 1


POOL_UPSAMPLE_NET = """import torch.nn as nn

class PoolUpsampleNet(nn.Module):
    def __init__(self, kernel, num_filters, num_colours, num_in_channels):
        super().__init__()
        p, nf = kernel // 2, num_filters
        def block(cin, cout, resize):
            return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=p), resize, nn.BatchNorm2d(cout), nn.ReLU())
        self.block1 = block(num_in_channels, nf, nn.MaxPool2d(2))
        self.block2 = block(nf, 2 * nf, nn.MaxPool2d(2))
        self.block3 = block(2 * nf, nf, nn.Upsample(scale_factor=2))
        self.block4 = block(nf, num_colours, nn.Upsample(scale_factor=2))
        self.final = nn.Conv2d(num_colours, num_colours, kernel, padding=p)

    def forward(self, x):
        return self.final(self.block4(self.block3(self.block2(self.block1(x)))))
"""


def test_check_reads_a_jupyter_notebook_s_code_cells(project, tmp_path, capsys):
    """The handout's code is a notebook: `check 4.1 mine.ipynb` read the file's JSON as text and said 'no code block
    defining class PoolUpsampleNet found' of a notebook that defines it; its code cells are read as Python blocks."""
    import nbformat

    from cli import main

    source = POOL_UPSAMPLE_NET
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# My A2"), nbformat.v4.new_code_cell("!pip install torch"),
                nbformat.v4.new_code_cell(source)]
    path = tmp_path / "mine.ipynb"
    nbformat.write(nb, str(path))
    assert main(["check", "4.1", str(path), "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["status"] == "correct" and verdict["subject"] == "mine.ipynb", verdict
    broken = source.replace("def forward(self, x):", "def forward(self, x)")
    nb.cells[-1] = nbformat.v4.new_code_cell(broken)
    nbformat.write(nb, str(path))
    assert main(["check", "4.1", str(path), "--json"]) == 1  # the cell's code itself, not the notebook's JSON
    assert "SyntaxError: expected ':'" in json.loads(capsys.readouterr().out)["critique"]
    # a damaged notebook (a cell that is no object, a source of another type) is read as far as it goes
    path.write_text(json.dumps({"nbformat": 4, "cells": [1, None, {"cell_type": "code", "source": 7},
                                                         {"cell_type": "code", "source": POOL_UPSAMPLE_NET}]}))
    assert main(["check", "4.1", str(path), "--json"]) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["status"] == "correct"


def test_check_reads_a_notebook_saved_with_a_byte_order_mark(project, tmp_path, capsys):
    """A notebook saved with a UTF-8 byte-order mark (Windows editors add one) was not recognised as a notebook:
    its JSON was read as text, with no code block found. The mark is read as no part of the answer."""
    import nbformat

    from cli import main

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# My A2"), nbformat.v4.new_code_cell(POOL_UPSAMPLE_NET)]
    path = tmp_path / "mine.ipynb"
    path.write_bytes(b"\xef\xbb\xbf" + nbformat.writes(nb).encode("utf-8"))
    assert main(["check", "4.1", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "correct"
