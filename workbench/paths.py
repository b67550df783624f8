"""Where a project's folders live. WORKBENCH_ROOT overrides the repository root (tests use it)."""

import os
import re
import tempfile
from pathlib import Path

from workbench.errors import UsageError

REPO_ROOT = Path(__file__).resolve().parent.parent


def project_root() -> Path:
    return Path(os.environ.get("WORKBENCH_ROOT", REPO_ROOT)).resolve()


def shown_path(path: Path) -> str:
    """A path as a reader (and a submission) may see it: relative to the project or the repository when inside
    one, else with the home folder as ~, so a PDF or notebook handed in does not carry the user's name."""
    for base in (project_root(), REPO_ROOT):
        try:
            return path_text(path.relative_to(base))
        except ValueError:
            pass
    try:
        home = Path.home()
    except RuntimeError:  # no home known
        return path_text(path)
    # runs record resolved paths, and HOME may lead through a link (/home -> /usr/home)
    for base in (home, home.resolve()) if home.is_absolute() else ():
        try:
            return path_text(Path("~") / path.relative_to(base))
        except ValueError:
            pass
    return path_text(path)


_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")


def path_text(path) -> str:
    """A path as text for a record (config.json): its bytes read as UTF-8. Where the file system encoding is ASCII
    (the C locale with PYTHONUTF8=0), str() keeps a non-ASCII name's bytes as surrogate escapes, which a UTF-8
    session reads as another path (and a UTF-8 file cannot hold). Only those are decoded: a path read back from a
    record is text already, which os.fsencode could not encode there."""
    return _ESCAPED_BYTES.sub(lambda m: m.group().encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
                              os.fspath(path))


def shown_paths(value):
    """A JSON value (a run's config.json) with every absolute path string written as shown_path writes it."""
    if isinstance(value, dict):
        return {k: shown_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shown_paths(v) for v in value]
    return shown_path(Path(value)) if isinstance(value, str) and os.path.isabs(value) else value


def project_hint(given: str) -> str:
    """For a relative path not found from the current folder but found in the project (the CLI run from
    elsewhere): words for the error's fix naming both; else ""."""
    path = Path(given).expanduser()
    there = project_root() / path
    # os.path: False for a name too long for the file system, where Path.exists raises
    if path.is_absolute() or os.path.exists(path) or not os.path.exists(there):
        return ""
    return f"; paths are read from the current folder ({Path.cwd()}): the project's is {there}"


def problems_dir() -> Path:
    return project_root() / "problems"


def prompts_dir() -> Path:
    return project_root() / "prompts"


def traces_dir() -> Path:
    return project_root() / "traces"


def solutions_dir() -> Path:
    return project_root() / "solutions"


def results_dir(pack: str) -> Path:
    """A pack's pinned training runs (`pin` writes them; verify and the writeup quote them)."""
    return solutions_dir() / pack / "results"


def runs_dir() -> Path:
    return project_root() / "runs"


def build_dir() -> Path:
    return project_root() / "build"


def file_in_the_way(path: Path) -> Path | None:
    """The file (not a folder) at `path` or at one of the folders above it, which keeps a folder from being made
    there ("traces/1.1: Not a directory" when traces is a file), or None."""
    return next((p for p in (path, *path.parents) if os.path.lexists(p) and not os.path.isdir(p)), None)


# where pathconf cannot say (no such folder yet, another system): Linux's limits
NAME_MAX, PATH_MAX = 255, 4096


def path_problem(path, want: str | None = None, write: bool = False) -> tuple[str, str] | None:
    """What keeps `path` from being used, as (what is wrong, how to fix it), or None: a name in it or the whole of it
    longer than the file system allows, a file where a folder must be above it, a folder where a file is wanted
    (want="file") or the other way round (want="folder"), and, to write (write=True), a folder above it that takes
    no new file. Nothing is created or left behind, so a path can be checked before anything else happens."""
    full = os.path.abspath(os.path.expanduser(os.fspath(path)))  # as commands use it: from any folder
    existing = next(p for p in (full, *map(os.fspath, Path(full).parents)) if os.path.isdir(p))  # "/" at worst
    name_max, path_max = _limit(existing, "PC_NAME_MAX", NAME_MAX), _limit(existing, "PC_PATH_MAX", PATH_MAX)
    for name in Path(full).parts:
        if len(os.fsencode(name)) > name_max:
            return (f"a name in it is {len(os.fsencode(name))} bytes, more than the {name_max} the file system allows "
                    "(File name too long)", "shorten that name")
    if len(os.fsencode(full)) >= path_max:  # PATH_MAX counts the closing NUL
        return (f"it is {len(os.fsencode(full))} bytes, more than the {path_max - 1} the system allows for a path "
                "(File name too long)", "give a shorter path")
    blocking = _file_on_the_way(Path(os.getcwd(), os.path.expanduser(os.fspath(path))).parent)
    if blocking is not None:
        return f"{blocking} is a file, not a folder", "give a path under a folder, not under that file"
    if want == "file" and os.path.isdir(full):
        return "it is a folder, not a file", "give a file's name"
    if want == "folder" and os.path.lexists(full) and not os.path.isdir(full):
        return "it is a file, not a folder", "give a folder's path (a new one is made)"
    if write:
        try:  # a real write, not os.access: root passes os.access everywhere, and /proc refuses anyway
            with tempfile.TemporaryFile(dir=existing, prefix=".probe-"):
                pass
        except OSError as exc:
            return f"cannot write in {existing} ({exc.strerror or exc})", "give a path in a folder you can write to"
    return None


def _file_on_the_way(folder: Path) -> Path | None:
    """The first file (not a folder) that `folder` leads through, read as the system reads it: `notes.txt/..`
    is refused (abspath's text made it the folder of notes.txt), and `link/..` is the folder above the link's
    target. Past a folder not there yet, the rest is text: the command makes those folders, no links."""
    here, to_make = Path(folder.anchor), []
    for name in folder.parts[1:]:
        if to_make and name == "..":  # under a folder to be made: `..` only leaves one of them
            to_make.pop()
        elif to_make:
            to_make.append(name)
        elif not os.path.lexists(here / name):
            to_make.append(name)
        elif not os.path.isdir(here / name):
            return here / name
        else:
            here = here / name
    return None


def _limit(folder: str, name: str, default: int) -> int:
    try:
        return os.pathconf(folder, name)
    except (OSError, ValueError):
        return default


def path_arg(flag: str, want: str | None = None, write: bool = False, stdin: bool = False):
    """argparse type of a path flag (`flag` as the error names it): the path as given when path_problem finds
    nothing wrong (with ~ read as the home folder, as the shell does where it leaves ~ alone: `--out=~/x`, quotes),
    else a UsageError, which cli.main prints as one line, exit 2, before the command runs.
    "" (an unset shell variable, `--out "$OUT"`) is no path: as Path("") it was the current folder. With stdin,
    "-" passes as stdin."""
    def check(text: str) -> str:
        if not text.strip():
            raise UsageError(f"{flag}: an empty path (an unset shell variable?)", "give a file or folder")
        if stdin and text == "-":
            return text
        problem = path_problem(text, want, write)
        if problem is not None:
            shown = text if len(text) <= 120 else f"{text[:50]}…{text[-50:]}"  # one line a reader can take in
            raise UsageError(f"{flag} {shown}: {problem[0]}", problem[1])
        return os.path.expanduser(text)  # the path checked is the path used, by every command
    return check


def inside_traces(path: Path) -> bool:
    """Whether `path` (through .. or a link too) is in traces/, where verify and study read every file as evidence:
    nothing but the LLM's traces may be written there. A name the system cannot resolve is said elsewhere."""
    try:
        return path.resolve().is_relative_to(traces_dir().resolve())
    except OSError:
        return False


def make_folder(path: Path, keep: bool = True) -> str:
    """Create `path` (and parents) and probe that a file can be written in it: '' if so, else the reason.
    With keep=False the folders this call created are removed again (while empty): a check before a send that
    may still fail must not leave empty folders behind.

    A real write, not os.access: root passes os.access everywhere, and /proc or a read-only mount refuse anyway."""
    created = missing_folders(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        blocking = file_in_the_way(path)  # name it: not the "Not a directory" of the folder below it
        if blocking is not None:
            return "it is a file, not a folder" if blocking == path else f"{blocking} is a file, not a folder"
        reason = exc.strerror or str(exc)
        if not os.path.isdir(path):  # it could not be made: the folder that refused is the one above it that exists
            above = next((p for p in path.parents if os.path.isdir(p)), None)
            return f"{reason} (making it in {above})" if above is not None else reason
        return reason
    finally:
        if not keep:
            remove_empty(created)
    return ""


def missing_folders(path: Path) -> list[Path]:
    """`path` and those of its parents that do not exist yet, deepest first: what `mkdir -p` would make
    (a name too long for the file system counts as absent)."""
    return [p for p in (path, *path.parents) if not os.path.exists(p)]


def remove_empty(folders: list[Path]) -> None:
    """Remove, deepest first, folders a command made and no longer needs (it failed): only while empty, as one
    that holds anything is someone else's now."""
    for folder in folders:
        try:
            folder.rmdir()
        except FileNotFoundError:  # never made: the mkdir failed before it
            continue
        except OSError:
            break
