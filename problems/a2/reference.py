"""Reference checks of the A2 pack (CSC413/2516 W2023 Assignment 2): answer keys, solvers, checks.

Loaded by path by workbench/verify.py, which documents the interface (ANSWER_KEYS, reference, check,
plot_files, CITE_METRICS). Everything A2-specific lives in this folder, not in the engine:
    ref_math.py    1.2.1 RMSProp, 2.1.2 memory, 2.2.x / 2.3.x formulas (numpy first principles)
    ref_cnn.py     3.1 convolution, 3.2 network sizes (torch)
    ref_counts.py  4.3 counts (torch hooks, fitted and symbolic)
    ref_padding.py 5.4 paddings (torch shape checks)
    figure.py      Figure 1 as data: block-by-block model checks (4.1, 5.1, 6.1), symbolic counts
    model_probe.py describes a model as JSON, in-process or inside workbench.sandbox
    ref_runs.py    pinned runs, plots and comparative claims (4.2, 5.2, 6.2, 5.3, 6.3, 5.5)
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
import sys
import textwrap
from pathlib import Path

from workbench import answers as ans
from workbench import grids
from workbench.paths import project_root
from workbench.verify import Missing, Unchecked, judge_submission, pack_package

if not __package__:  # loaded by path as a lone file: make the folder a package so the siblings import
    __package__ = pack_package(Path(__file__).resolve().parent)

from . import figure, model_probe, ref_cnn, ref_counts, ref_math, ref_padding, ref_runs  # noqa: E402

# The shape of the `answer:` front matter of an own solution (solutions/a2/<id>.md), per checkable problem.
# Values: "expr" = a TeX or plain-text expression string (parsed by workbench/answers.py), "int" = an integer
# (21024 or "21,024"), "bool" = true/false, "text" = free text checked for key words; "(optional)" fields may
# be left out. Problems not listed here have no machine-checkable answer (free text judged against the
# record's key_points, or code / plots / runs checked through `code:` and `cites:`).
ANSWER_KEYS: dict[str, dict] = {
    "1.2.1": {
        "always_min_norm": "bool: does RMSProp always reach the minimum-norm solution? (the hint's case decides)",
        "limit_point": "(optional) [w1, w2]: where RMSProp converges for x1=[2,1], t=[2], w0=[0,0]",
        "min_norm": "(optional) [w1, w2]: the minimum-norm solution of that case",
    },
    "2.1.2": {
        "forward": "text: memory of forward propagation through t GD steps, big-O in t, e.g. \"O(1)\" (or constant/linear/quadratic)",
        "backward": "text: memory of standard back-propagation to get dL_t/d eta, big-O in t, e.g. \"O(t)\" (or constant/linear/quadratic)",
    },
    "2.2.1": {
        "w1": "expr in w_0, eta, t, X, n (vectors w_0, t; matrix X; transposes X^T / X^\\top)",
        "L1": "expr for L_1 as a function of eta (may use a = X w_0 - t; norms \\|v\\|^2 or ||v||^2)",
    },
    "2.2.2": {"convex": "bool: is L_1 convex in eta?"},
    "2.2.3": {
        "dL1_deta": "expr: dL_1/d eta (in a, X, eta, n or in X, w_0, t, eta, n)",
        "eta_star": "expr: the optimal learning rate eta^*",
    },
    "2.3.1": {
        "w1_l2": "expr: w_1 from one GD step on the L2-regularised loss (uses \\tilde\\lambda)",
        "w1_wd": "expr: w_1 from one GD step on the plain loss with weight decay (uses \\lambda)",
    },
    "2.3.2": {"lambda_tilde": "expr: \\tilde\\lambda in terms of \\lambda and eta"},
    "3.1": {
        "matrix": "5x5 list of numbers, row-major ([[..5 numbers..], ... 5 rows]): I * J with zero padding",
        "feature": "text: what the filter detects",
    },
    "3.2": {
        "cnn_neurons": "int: neurons of the CNN (outputs of every layer after the input, pooling included)",
        "cnn_params": "int: trainable parameters of the CNN (no biases)",
        "fcnn_neurons": "int: neurons of the FCNN (same convention; either reading of the FC layers, see docs)",
        "fcnn_params": "int: trainable parameters of the FCNN (no biases)",
        "disadvantage": "(optional) text: one disadvantage of more trainable parameters",
    },
    "4.3": {
        "weights": "expr in NIC, NF, NC (kernel 3, 32x32 input), e.g. \"9 NIC NF + 36 NF^2 + ...\"",
        "outputs": "expr in NIC, NF, NC",
        "connections": "expr in NIC, NF, NC",
        "weights_doubled": "expr: the same with a 64x64 input",
        "outputs_doubled": "expr",
        "connections_doubled": "expr",
        "convention": "(optional) text: which layers were counted, e.g. \"conv layers only\" or \"BatchNorm included\"",
    },
    "5.3": {"lower_val_loss": "bool: does ConvTransposeNet reach a lower validation loss than PoolUpsampleNet?"},
    "5.4": {
        "k4": "{conv_padding: int, tconv_padding: int, output_padding: int} for kernel 4",
        "k5": "{conv_padding: int, tconv_padding: int, output_padding: int} for kernel 5",
    },
    "6.3": {
        "improved_val_loss": "bool: did skip connections (UNet) lower the validation loss vs ConvTransposeNet?",
        "improved_val_acc": "bool: did they raise the validation accuracy?",
    },
}



# ---------------------------------------------------------------- reading `answer:` values

def _bool(value) -> str | None:
    return None if ans.parse_bool(value) is not None else "not true/false (or yes/no)"


def _int(value) -> str | None:
    number = ans.parse_number(value)
    return None if number is not None and float(number).is_integer() else "not a whole number"  # .inf, .nan: no


def _vector(value) -> str | None:
    ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(ans.parse_number(x) is not None for x in value)
    return None if ok else "not a list of two numbers [w1, w2]"


def _big_o(value) -> str | None:
    return None if ref_math._o_arg(value) is not None else "not a big-O term such as O(t), nor constant/linear/quadratic"


def _matrix(value) -> str | None:
    return None if grids.parse_matrix_value(value) is not None else "not a numeric matrix (a list of rows of numbers)"


def _formula(value) -> str | None:
    try:
        ref_math.parse_formula(str(value), ref_math.SYMBOLS)
    except ref_math.FormulaError as exc:
        return f"{exc} ({ref_math.SYNTAX_HINT})"
    return None


def _count(value) -> str | None:
    try:
        ref_counts._parse_count(value)
    except (ref_counts.FormulaError, TypeError, ValueError, ArithmeticError) as exc:  # .inf: OverflowError
        return f"{exc} ({ref_counts.COUNT_HINT})"
    return None


def _paddings(value) -> str | None:
    names = ("conv_padding", "tconv_padding", "output_padding")
    if not isinstance(value, dict) or sorted(value) != sorted(names):
        return f"not a mapping of exactly {', '.join(names)}"
    bad = [n for n in names if isinstance(value[n], bool) or _int(value[n])]
    return f"{bad[0]} is not a whole number" if bad else None


# How each `answer:` value is read (keys not listed are free text). A value that cannot be read is the
# student's error, named by verify and check like a misspelt key, never a silent "could not read".
_READERS = {
    "1.2.1": {"always_min_norm": _bool, "limit_point": _vector, "min_norm": _vector},
    "2.1.2": {"forward": _big_o, "backward": _big_o},
    **{pid: dict.fromkeys(keys, _formula) for pid, keys in ref_math.FORMULA_PROBLEMS.items()},
    "2.2.2": {"convex": _bool},
    "3.1": {"matrix": _matrix},
    "3.2": dict.fromkeys(("cnn_neurons", "cnn_params", "fcnn_neurons", "fcnn_params"), _int),
    "4.3": {k: _count for k in ANSWER_KEYS["4.3"] if k != "convention"},
    "5.3": {"lower_val_loss": _bool},
    "5.4": {"k4": _paddings, "k5": _paddings},
    "6.3": {"improved_val_loss": _bool, "improved_val_acc": _bool},
}


def answer_value_error(problem_id: str, key: str, value) -> str | None:
    """Why the `answer:` value of `key` cannot be read, or None (also for a value left empty: the text is read)."""
    reader = _READERS.get(problem_id, {}).get(key)
    return None if reader is None or value in (None, "") else reader(value)


# Front matter `code:` points at the model that is the solution of a coding problem: "module:Class".
CODE_PROBLEMS = {"4.1": "PoolUpsampleNet", "5.1": "ConvTransposeNet", "6.1": "UNet"}

# Front matter `cites: {"<run>.<metric>": value}`: <run> is a folder under solutions/a2/results/, <metric>
# one of these, read at the final epoch of the run's metrics.json; verify compares the value rounded to the
# number of decimals quoted, and requires the quoted number to appear in the solution text.
CITE_METRICS = ("train_loss", "val_loss", "val_acc")


# ---------------------------------------------------------------- dispatch

_REFERENCES = {
    "1.2.1": lambda p, c: ref_math.reference_rmsprop(),
    "2.1.2": lambda p, c: ref_math.reference_memory(),
    "2.2.1": lambda p, c: ref_math.reference_formulas("2.2.1"),
    "2.2.2": lambda p, c: ref_math.reference_convex(),
    "2.2.3": lambda p, c: ref_math.reference_formulas("2.2.3"),
    "2.3.1": lambda p, c: ref_math.reference_formulas("2.3.1"),
    "2.3.2": lambda p, c: ref_math.reference_formulas("2.3.2"),
    "3.1": lambda p, c: ref_cnn.reference_conv(),
    "3.2": lambda p, c: ref_cnn.reference_sizes(),
    "4.3": lambda p, c: ref_counts.reference_counts(),
    "5.4": lambda p, c: ref_padding.reference_padding(),
}
_CHECKS = {
    "1.2.1": lambda p, s, c: ref_math.check_rmsprop(s.answer, s.text),
    "2.1.2": lambda p, s, c: ref_math.check_memory(s.answer, s.text),
    "2.2.1": lambda p, s, c: ref_math.check_formulas("2.2.1", s.answer, s.text),
    "2.2.2": lambda p, s, c: ref_math.check_convex(s.answer, s.text),
    "2.2.3": lambda p, s, c: ref_math.check_formulas("2.2.3", s.answer, s.text),
    "2.3.1": lambda p, s, c: ref_math.check_formulas("2.3.1", s.answer, s.text),
    "2.3.2": lambda p, s, c: ref_math.check_formulas("2.3.2", s.answer, s.text),
    "3.1": lambda p, s, c: ref_cnn.check_conv(s.answer, s.text),
    "3.2": lambda p, s, c: ref_cnn.check_sizes(s.answer, s.text),
    "4.3": lambda p, s, c: ref_counts.check_counts(s.answer, s.text),
    "5.4": lambda p, s, c: ref_padding.check_padding(s.answer, s.text),
    "5.3": lambda p, s, c: ref_runs.check_comparison("5.3", s.answer, s.text, c) + judge_submission(p, s, c),
    "6.3": lambda p, s, c: ref_runs.check_comparison("6.3", s.answer, s.text, c) + judge_submission(p, s, c),
    "5.5": lambda p, s, c: ref_runs.check_sweep(s.text, c) + judge_submission(p, s, c),
}


def reference(problem, ctx) -> dict:
    """The computed reference answer of a problem (JSON-able)."""
    if problem.id in _REFERENCES:
        return _REFERENCES[problem.id](problem, ctx)
    if problem.id in CODE_PROBLEMS:
        name = CODE_PROBLEMS[problem.id]
        blocks = [{"block": b.label, "layers": [layer.type for layer in b.layers],
                   "output": f"[BS, {b.out[0]}, {b.out[1]}, {b.out[1]}]"} for b in figure.FIGURE1[name]]
        return {"answer": {"class": name, "blocks": blocks},
                "method": "Figure 1 as data; a model is built at (NIC, NF, NC) = (1, 32, 24) and (3, 8, 10), kernel 3, "
                          "run on a seeded random input, and compared layer by layer (skip connections traced by value)"}
    if problem.id in ref_runs.PLOT_PROBLEMS or problem.id in ref_runs.COMPARISONS or problem.id == "5.5":
        return ref_runs.reference_run(problem.id, ctx)
    if problem.key_points:
        return {"answer": None, "key_points": list(problem.key_points),
                "method": "free text: judged against the key points by a model grader (--judge MODEL)"}
    raise Unchecked(f"problem {problem.id} has no reference check")


def check(problem, sub, ctx) -> list[dict]:
    """Details for one submission; [] leaves the engine to judge free text against key points."""
    if problem.id in _CHECKS:
        return _CHECKS[problem.id](problem, sub, ctx)
    if problem.id in CODE_PROBLEMS:
        return check_code(problem.id, sub, ctx)
    if problem.id in ref_runs.PLOT_PROBLEMS:
        details = ref_runs.check_plot_problem(problem.id, ctx) if sub.own else []
        return details + judge_submission(problem, sub, ctx)
    return []


def plot_files(problem, ctx) -> list:
    return ref_runs.plot_files(problem.id, ctx) if problem.id in ref_runs.PLOT_PROBLEMS else []


def pin_note(run) -> str | None:
    return ref_runs.pin_note(run)


# ---------------------------------------------------------------- code (4.1, 5.1, 6.1)

PROBE_MARK = "@@MODEL-PROBE@@"
SANDBOX_TIMEOUT_S = 30.0


def check_code(problem_id: str, sub, ctx) -> list[dict]:
    name = CODE_PROBLEMS[problem_id]
    if sub.code:  # the student's own code in this repository: trusted, imported in-process
        cls = _import_pointer(sub.code)
        with ref_cnn.single_thread():
            return figure.compare_model(name, model_probe.describe(cls))
    python = [_NOTEBOOK_LINE.sub(r"\1pass", b.value) for b in ans.code_blocks(sub.text)  # `!pip ...`: not Python
              if b.source in ("python", "py", "python3", "code")]
    defining = [i for i, code in enumerate(python) if re.search(rf"^\s*class\s+{name}\b", code, re.M)]
    methods = [i for i, code in enumerate(python) if _METHODS_ONLY.match(textwrap.dedent(code))
               and not re.search(r"^\s*class\s", code, re.M)]
    if not defining and methods:  # "complete the __init__ and forward methods": the answer gives only those
        i = methods[-1]
        python = python[:i] + [f"class {name}(nn.Module):\n" + textwrap.indent(textwrap.dedent(python[i]), "    ")]
        defining = [i]
    if not defining:
        if sub.own:
            raise Missing(f"no `code:` pointer and no code block defining class {name}")
        raise Unchecked(f"no code block defining class {name} found")
    code = _definitions(python[:defining[-1] + 1], name)
    return figure.compare_model(name, describe_untrusted(code, name, ctx.timeout_s))


_NOTEBOOK_LINE = re.compile(r"^([ \t]*)[!%].*$", re.M)
# a block of methods alone: `def __init__(self, ...)` and `def forward(self, ...)` at its outer level, no class
_METHODS_ONLY = re.compile(r"(?=(?:.*\n)*?def __init__\(self\b)(?=(?:.*\n)*?def forward\(self\b)")


def _definitions(blocks: list[str], name: str) -> str:
    """The class `name` (defined in the last block) and what it uses from the blocks' top level, directly or through
    what it uses: imports, functions, classes, assignments. The blocks' other statements are left out: a training
    loop, input(), a dataset download, .cuda(), sys.exit() there would stop or fail the check of a model that is
    fine. Only parsed here; the code runs in the sandbox."""
    import ast
    import symtable

    nodes = []
    for i, code in enumerate(blocks):
        try:
            compile(code, "llm_code.py", "exec")  # compiled, never run: also finds errors ast.parse lets through
        except SyntaxError:
            if i == len(blocks) - 1:
                return code  # run as it is: the verdict names the SyntaxError
            continue  # an excerpt of a block, not whole Python
        nodes += ast.parse(code).body

    def tables(node):
        table = symtable.symtable(ast.unparse(node), "llm_code", "exec")
        stack, reads = [table], set()
        while stack:  # the global names it reads, not a function's own locals
            t = stack.pop()
            reads |= {s.get_name() for s in t.get_symbols()
                      if s.is_referenced() and (t is table or s.is_global())}
            stack += t.get_children()
        return {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}, reads

    kinds = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign,
             ast.AnnAssign, ast.AugAssign, ast.If, ast.Try)
    candidates = {i: tables(node) for i, node in enumerate(nodes) if isinstance(node, kinds)}
    kept = {i for i, node in enumerate(nodes)  # `from torch.nn import *`: what it binds is unknown here
            if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)}
    needed, grown = {name}, True
    while grown:
        grown = False
        for i, (binds, reads) in candidates.items():
            if i not in kept and binds & needed:
                kept.add(i)
                needed |= reads
                grown = True
    return "\n".join(ast.unparse(nodes[i]) for i in sorted(kept)) + "\n"


def _import_pointer(pointer: str):
    """The class a `code:` pointer names; only modules inside this project are imported (they are the
    student's own code; anything else would run without the sandbox)."""
    module, _, attr = pointer.partition(":")
    root = str(project_root())
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    inside = [project_root().resolve(), Path(__file__).resolve().parents[2]]
    origin = Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None  # not "frozen"/"built-in"
    if origin is None or not origin.is_absolute() or not any(origin.resolve().is_relative_to(p) for p in inside):
        raise Missing(f"code pointer {pointer!r} does not name a module of this project")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise Missing(f"code pointer {pointer!r} does not resolve: {exc}") from None


def describe_untrusted(code: str, class_name: str, timeout_s: float) -> dict:
    """Run an LLM's model code in the sandbox; the child prints the model's description as JSON."""
    from workbench.sandbox import (is_out_of_memory, is_past_output_limit, is_worker_failure, memory_limit_reason,
                                   output_limit_reason, run_python, workers_reason)

    source = "\n".join([
        "import json",
        "_ns = {'__name__': 'llm_code'}",
        "exec('import torch\\nimport torch.nn as nn\\nimport torch.nn.functional as F\\nimport numpy as np', _ns)",
        f"exec(compile({code!r}, 'llm_code.py', 'exec'), _ns)",
        inspect.getsource(model_probe),
        f"print({PROBE_MARK!r} + json.dumps(describe(_ns[{class_name!r}])))",
    ])
    limit = min(0.8 * timeout_s, SANDBOX_TIMEOUT_S)  # below the engine's limit, so the child is killed first
    result = run_python(source, timeout_s=limit, complete=lambda out: _printed_description(out) is not None)
    if result.timed_out:
        raise Unchecked(f"the model code did not finish within {limit:g} s (killed)")
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith(PROBE_MARK)), None)
    if line is None and result.started_workers:  # the model may be right: the sandbox stopped it
        raise Unchecked(workers_reason())
    if line is None:
        error = (result.stderr.strip().splitlines() or [_silent_end(result.returncode)])[-1][:200]
        at = re.findall(r'File "llm_code\.py", line (\d+)', result.stderr)
        if at and re.match(r"(SyntaxError|IndentationError|TabError)\b", error):  # the block runs as written then
            error += f" (line {at[-1]} of the code block)"
        error = memory_limit_reason() if result.out_of_memory else error
        description = {"configs": [{"error": f"the code does not run: {error}"}]}
    else:
        description = json.loads(line[len(PROBE_MARK):])
    for config in description["configs"]:  # "MemoryError: " says neither why nor how much
        if is_out_of_memory(config.get("error", "")):
            config["error"] = memory_limit_reason()
        elif is_past_output_limit(config.get("error", "")):  # "OSError: [Errno 27] File too large" neither
            config["error"] = output_limit_reason()
        elif is_worker_failure(config.get("error", ""), config.get("error_in", "")):
            raise Unchecked(workers_reason())
        elif _NO_GPU.search(config.get("error", "")):  # the model may be right: it cannot run on this machine
            raise Unchecked("the model code needs a CUDA GPU (it puts the model or its tensors on 'cuda'), "
                            "and this machine has none")
    return description


def _printed_description(stdout: str) -> dict | None:
    """The description the child printed, where its line is whole (a full disk may cut it short); else None."""
    line = next((ln for ln in stdout.splitlines() if ln.startswith(PROBE_MARK)), None)
    try:
        description = json.loads(line[len(PROBE_MARK):]) if line is not None else None
    except ValueError:
        return None
    return description if isinstance(description, dict) else None


# torch's errors for "cuda" without a usable GPU: a CUDA build without a driver or device; a CPU-only build
_NO_GPU = re.compile(r"Found no NVIDIA driver|No CUDA GPUs are available|Torch not compiled with CUDA enabled|"
                     r"CUDA driver initialization failed")


def _silent_end(returncode: int | None) -> str:
    """Why the child ended without describing the model when it printed no error."""
    if returncode is not None and returncode < 0:
        import signal

        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"it was killed by {name} before the model was built (out of memory, or a crash?)"
    return (f"it exited with status {returncode} before the model was built, printing no error "
            "(a sys.exit(), exit() or os._exit() in the model's code?)")
