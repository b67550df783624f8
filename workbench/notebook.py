"""Export the code notebook (nbformat v4): the real source of every package or module the solutions' `code:`
pointers name (one cell per module, in dependency order), the training configurations and the pinned outputs of
every run the writeup shows. Never executed."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import pprint
from pathlib import Path

from workbench.evidence import Entry, Run
from workbench.paths import REPO_ROOT, project_root, shown_path, shown_paths
from workbench.problems import Pack
from workbench.atomic import atomic_write


def code_sources(entries: list[Entry]) -> list[str]:
    """The top-level packages or modules the solutions' `code:` pointers name, in order (e.g. ["colourize"])."""
    return list(dict.fromkeys(e.code.pointer.split(":")[0].split(".")[0]
                              for e in entries if e.code is not None and e.code.pointer))


def source_path(name: str) -> Path | None:
    """The package folder or single-module file of a top-level name, in the project or the repository."""
    for base in (project_root(), REPO_ROOT):
        # a folder of modules without __init__.py is a namespace package: verify and the writeup import from it too
        if (base / name / "__init__.py").is_file() or any((base / name).glob("*.py")):
            return base / name
        if (base / f"{name}.py").is_file():
            return base / f"{name}.py"
    return None


def _intra(node: ast.AST, package: str) -> tuple[str, ...]:
    """Modules of the package an import statement names (empty when it imports from elsewhere)."""
    if isinstance(node, ast.ImportFrom):
        if node.level:  # relative: from .data import x / from . import data
            return (node.module.split(".")[0],) if node.module else tuple(a.name for a in node.names)
        if node.module == package:
            return tuple(a.name for a in node.names)
        if node.module and node.module.startswith(package + "."):
            return (node.module.split(".")[1],)
    elif isinstance(node, ast.Import):
        return tuple(a.name.split(".")[1] for a in node.names if a.name.startswith(package + "."))
    return ()


def module_order(folder: Path, package: str) -> list[Path]:
    """The package's modules, each after the modules it imports (file order breaks ties and cycles)."""
    found = {}
    for path in sorted(folder.glob("*.py")):
        if path.stem in ("__init__", "__main__"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        deps = [d for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for d in _intra(node, package) if d != path.stem]
        found[path.stem] = (path, list(dict.fromkeys(deps)))
    order, state = [], {}

    def visit(name: str) -> None:
        if name in state or name not in found:
            return
        state[name] = "visiting"
        for dep in found[name][1]:
            visit(dep)
        order.append(name)

    for name in found:
        visit(name)
    return [found[n][0] for n in order]


def project_imports(paths: list[Path], package: str, root: Path) -> list[Path]:
    """Modules of the project's other packages (e.g. workbench/errors.py) and its single-module files that `paths`
    import, transitively, each after its own dependencies and its package's __init__.py: the notebook must run on
    its own."""
    order: list[Path] = []
    seen: set[Path] = set()

    def imported(path: Path) -> list[Path]:
        out = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for top, *rest in (name.split(".") for name in names):
                init = root / top / "__init__.py"
                if top != package and (root / f"{top}.py").is_file():  # a single-module file of the project
                    out.append(root / f"{top}.py")
                if top == package or not init.is_file():
                    continue  # the package itself, the standard library or a third-party package
                module = root / top / f"{rest[0]}.py" if rest else None
                out += [init] + ([module] if module and module.is_file() else [])
        return out

    def visit(path: Path) -> None:  # depth-first: dependencies land in `order` before their importers
        if path in seen:
            return
        seen.add(path)
        for dep in imported(path):
            visit(dep)
        order.append(path)

    for path in paths:
        for dep in imported(path):
            visit(dep)
    return order


def _writefile_cells(path: Path, root: Path) -> list:
    from nbformat.v4 import new_code_cell, new_markdown_cell

    rel = path.relative_to(root).as_posix()
    text = path.read_text(encoding="utf-8")
    doc = (ast.get_docstring(ast.parse(text)) or "").strip().splitlines()
    return [new_markdown_cell(f"### `{rel}`" + (f"\n\n{doc[0]}" if doc else "")),
            new_code_cell(f"%%writefile {rel}\n{text.rstrip()}\n")]


def source_cells(path: Path, name: str, written: set[Path]) -> list:
    """One `%%writefile` cell per module, verbatim and in dependency order (the project modules it imports
    first): a package's modules, or a single module file. Modules in `written` (by an earlier call) are not
    written again; the ones this call writes are added to it.

    The modules stay modules: pasted into one namespace they would clash (a module's import alias can
    share its name with another module's function), and their own imports between modules keep working."""
    from nbformat.v4 import new_code_cell, new_markdown_cell

    root = path.parent
    init = [path / "__init__.py"] if (path / "__init__.py").is_file() else []
    modules = init + module_order(path, name) if path.is_dir() else [path]
    support = [m for m in project_imports(modules, name, root) if m not in written]
    modules = [m for m in modules if m not in written]
    written.update(support + modules)
    folders = sorted({p.parent.relative_to(root).as_posix() for p in support + modules} - {"."})
    what = f"the `{name}` package" if path.is_dir() else f"the module `{path.name}`"
    itself = f"`{name}/` itself" if path.is_dir() else f"`{path.name}` itself"
    cells = [new_markdown_cell(f"## {what[0].upper()}{what[1:]}\n\nEach cell below writes one module, unchanged: first "
                               f"the project modules {what} imports ({', '.join(f'`{p.relative_to(root).as_posix()}`' for p in support) or 'none'}), "
                               f"then {itself}.")]
    if folders:
        cells.append(new_code_cell("import os\n\n" + "\n".join(f"os.makedirs({f!r}, exist_ok=True)" for f in folders)))
    for module in support + modules:
        cells += _writefile_cells(module, root)
    return cells


def import_cell(entries: list[Entry]):
    """A cell importing the model classes the writeup shows from the modules the cells above wrote."""
    from nbformat.v4 import new_code_cell

    imports: dict[str, list[str]] = {}
    for e in entries:
        if e.code is not None and not e.code.error and e.code.pointer:
            module, _, name = e.code.pointer.partition(":")
            imports.setdefault(module, []).append(name)
    lines = ["import os", "import sys", "", "sys.path.insert(0, os.getcwd())  # the folder the cells above wrote into"]
    lines += [f"from {module} import {', '.join(dict.fromkeys(names))}" for module, names in imports.items()]
    return new_code_cell("\n".join(lines))


def retrain_cells(folder: Path, package: str, run: str) -> list:
    """A cell that retrains a pinned run, when the package has a `train.py` with `TrainConfig` and `train`."""
    from nbformat.v4 import new_code_cell, new_markdown_cell

    path = folder / "train.py"
    names = {n.name for n in ast.parse(path.read_text(encoding="utf-8")).body
             if isinstance(n, (ast.FunctionDef, ast.ClassDef))} if path.is_file() else set()
    if not {"TrainConfig", "train"} <= names:
        return []
    return [new_markdown_cell(f"### Retrain a pinned run\n\nUncomment to train `{run}` again with its recorded settings "
                              "(set `data` to a local CIFAR-10 copy, or `None` to download it)."),
            new_code_cell(f"from pathlib import Path\n\nfrom {package}.train import TrainConfig, train\n\n"
                          f"settings = dict(RUN_CONFIGS[{run!r}][\"settings\"], data=None)\n"
                          f"# metrics = train(TrainConfig(**settings), Path({f'runs/{run}-rerun'!r}))")]


def _png(path: Path | None) -> dict | None:
    if path is None:
        return None
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    mime = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
    return {mime: data, "text/plain": [f"<{path.name}>"]}


def _metrics_markdown(run: Run) -> str:
    if not run.epochs:
        return f"No per-epoch metrics recorded for run `{run.name}`."
    keys = list(dict.fromkeys(k for row in run.epochs for k in row))
    head = "| " + " | ".join(keys) + " |\n|" + "---|" * len(keys) + "\n"
    rows = "\n".join("| " + " | ".join(_cell(row.get(k)) for k in keys) + " |" for row in run.epochs)
    return head + rows


def _cell(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else ("" if value is None else str(value).replace("|", "\\|"))


def build_notebook(pack: Pack, entries: list[Entry], who, path: Path):
    """Write the notebook atomically and return it (validated with nbformat)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    student = " ".join(x for x in (who.name, f"({who.student_id})" if who.student_id else "") if x) or "(student name missing)"
    cells = [new_markdown_cell(
        f"# {pack.course}: {pack.title}, code\n\n{student}\n\n"
        "Generated by the workbench (`python cli.py build-writeup`) from the project's source files. It has not been "
        "executed: the outputs under each run are the pinned results that the writeup shows. Run top to bottom, the "
        "cells write the code's modules, unchanged, and then import the models from them.")]
    sources = {name: source_path(name) for name in code_sources(entries)}
    if not sources:
        cells.append(new_markdown_cell("No model code: no solution names a `code:` pointer (e.g. `package.module:Class`)."))
    written: set[Path] = set()
    for name, source in sources.items():
        cells += source_cells(source, name, written) if source else [new_markdown_cell(f"Code `{name}`: not found in the project.")]
    if any(sources.values()):
        cells.append(import_cell(entries))
    runs: dict[str, tuple[Run, list[str]]] = {}
    for e in entries:
        for run in e.runs:
            runs.setdefault(run.name, (run, []))[1].append(e.problem.id)
    # a folder of plots a pack names (a3's figs/loss.png) is no training run: no config to retrain with, no metrics
    plain = {name for name, (run, _) in runs.items() if run.plots_only}
    trained = [name for name in runs if name not in plain]
    if trained:
        configs = {name: shown_paths(runs[name][0].config) for name in trained}
        cells.append(new_markdown_cell("## Training configuration\n\nThe `config.json` of each pinned run (paths inside "
                                       "the project shown relative to it, those in the home folder under ~)."))
        cells.append(new_code_cell("RUN_CONFIGS = " + pprint.pformat(configs, sort_dicts=False, width=100)))
        for name, source in sources.items():  # the first package that can train
            retrain = retrain_cells(source, name, trained[0]) if source and source.is_dir() else []
            if retrain:
                cells += retrain
                break
    if runs:
        cells.append(new_markdown_cell("## Pinned outputs"))
    for name, (run, problems) in runs.items():
        which = f"question{'s' * (len(problems) > 1)} {', '.join(problems)}"
        cells.append(new_markdown_cell(f"### {'Plots' if name in plain else 'Run'} `{name}` ({which})\n\n"
                                       + ("; ".join(run.problems) if run.problems else "")))
        images = [new_output("display_data", data=d) for d in map(_png, (run.curves, run.samples, *run.figures)) if d]
        if name in plain:
            cells.append(new_code_cell(f"# Plots in {shown_path(run.path)!r}, as the writeup shows them: "
                                       f"{[f.name for f in run.figures]!r}", outputs=images))
            continue
        outputs = [new_output("display_data", data={"text/markdown": _metrics_markdown(run),
                                                    "text/plain": json.dumps(run.epochs[-1] if run.epochs else {})})]
        cells.append(new_code_cell(f"# Pinned outputs of run {name!r} ({shown_path(run.path)!r}): metrics per epoch, curves.png and\n"
                                   "# samples.png as training recorded them; training with RUN_CONFIGS[name] makes them again.",
                                   outputs=outputs + images))
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    for i, cell in enumerate(nb.cells):  # ids from position and content: the same inputs give the same file
        cell.id = f"c{i:03d}-" + hashlib.sha1(cell.source.encode("utf-8")).hexdigest()[:8]
    nbformat.validate(nb)
    atomic_write(path, nbformat.writes(nb).encode("utf-8"))
    return nb
