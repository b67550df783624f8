"""A2 5.4: the padding / output_padding that keep Figure 1b's shapes for kernels 4 and 5, found by searching
small integers with real nn.Conv2d / nn.ConvTranspose2d shape checks; an output_padding >= stride is rejected
(PyTorch refuses it).
"""

from __future__ import annotations

import re
from functools import lru_cache

from workbench import grids
from workbench.verdicts import detail

from .ref_cnn import single_thread

STRIDE = 2


@lru_cache(maxsize=4)
def padding_search(kernel: int) -> dict:
    """All (padding) for the strided convs and (padding, output_padding) for the transposed convs that keep
    Figure 1b's shapes, by building the layers and running tensors through them."""
    import torch
    from torch import nn

    conv_ok, tconv_ok, rejected = [], [], []
    with torch.no_grad(), single_thread():
        for p in range(0, kernel + 1):
            conv = nn.Conv2d(1, 1, kernel, stride=STRIDE, padding=p)
            if all(conv(torch.zeros(1, 1, h, h)).shape[-1] == h // 2 for h in (32, 16)):
                conv_ok.append(p)
            for op in range(0, STRIDE + 1):
                try:
                    tconv = nn.ConvTranspose2d(1, 1, kernel, stride=STRIDE, padding=p, output_padding=op)
                    good = all(tconv(torch.zeros(1, 1, h, h)).shape[-1] == 2 * h for h in (8, 16))
                except (RuntimeError, ValueError) as exc:
                    rejected.append({"padding": p, "output_padding": op, "error": str(exc).splitlines()[0][:120]})
                    continue
                if good:
                    tconv_ok.append((p, op))
    return {"conv_padding": conv_ok, "tconv": tconv_ok, "rejected": rejected}


def reference_padding() -> dict:
    answer, valid = {}, {}
    for k in (4, 5):
        s = padding_search(k)
        answer[f"k{k}"] = {"conv_padding": s["conv_padding"][0], "tconv_padding": s["tconv"][0][0],
                           "output_padding": s["tconv"][0][1]}
        valid[f"k{k}"] = {"conv_padding": s["conv_padding"], "tconv (padding, output_padding)": s["tconv"],
                          "rejected by PyTorch": len(s["rejected"])}
        if s["conv_padding"][0] > 0 and len(s["tconv"]) > 1:
            answer[f"k{k}"]["note"] = "several combinations work; the smallest padding is shown"
    return {"answer": answer, "all_valid": valid,
            "method": "search over padding 0..k and output_padding 0..2 with real nn.Conv2d (stride 2: 32->16, 16->8) "
                      "and nn.ConvTranspose2d (stride 2: 8->16, 16->32) shape checks"}


_PAD_LINE = re.compile(r"(output[_ ]padding|padding)\s*(?:=|:|of|to|is|should be|becomes|set to)?\s*\(?\s*(?:either\s+)?(\d+)", re.I)
# "1 or 2", "1 (or possibly 2)", "1, or maybe 2", "1, but it could be 2": two answers for one padding
# (not "1 (or 2 for kernel 5)": the other kernel's; nor "padding/output_padding = 1/0", each respectively)
_HEDGE = re.compile(r"[\s)]*(?:,?\s*\(?\s*or(?:\s+(?:possibly|maybe|perhaps|even))?|,?\s*but\s+(?:it\s+)?"
                    r"(?:could|might|may)(?:\s+also)?\s+be)\s*(\d+)(?!\s*(?:x|×|\\times)\s*\d|\s*(?:for|with|when|if|in|on)\b[^,.;)\n]*?\b(?:kernel|k)\b)", re.I)
_LINE_BREAK = re.compile(r"\n|(?<=[.;])\s")
# A layer named in prose or code; group 1 is set for a transposed convolution ("transposed conv", ConvTranspose2d).
# "transposed-conv", "conv-transpose": one layer, not a transposed one followed by a plain "conv"
_LAYER = re.compile(r"(conv\w*?[\s-]*transpose\w*|transpos\w*(?:[\s-]+conv\w*)?|tconv\w*|deconv\w*)|conv\w*", re.I)


def _transposed(text: str, at: int, end: int) -> bool:
    """Whether the padding written at text[at:end] belongs to a transposed convolution: the layer it is said to
    be for ("padding 1 for the transposed convolutions"), else the layer named last before it on its line
    ("conv padding = 1, transposed conv padding = 1"), else the first one after it, unless that one names a
    padding of its own ("padding=1 (transpose padding 1)": the first is the plain convolution's)."""
    start = max((b.end() for b in _LINE_BREAK.finditer(text, 0, at)), default=0)
    stop = (_LINE_BREAK.search(text, end) or re.search(r"$", text)).start()
    after = _LAYER.search(text, end, stop)
    between = text[end:after.start()] if after else ""
    said_for = bool(re.search(r"\b(?:for|in|of|on)\s+(?:\w+\s+){0,2}$", between, re.I)) \
        and not re.search(r"(?<!output[_ ])\bpadding", between, re.I)
    before = list(_LAYER.finditer(text, start, at))
    own_padding = after and re.match(r"\s*(?:\w+\s+)?padding", text[after.end():stop], re.I)
    layer = after if said_for or not (before or own_padding) else before[-1] if before else None
    return bool(layer and layer.group(1))


_BOTH = re.compile(r"\b(?:both|same|every|all|each)\b", re.I)


def _for_both(text: str, at: int, end: int) -> bool:
    """Whether the padding ending at `at` is said of both layer kinds in the rest of its sentence (up to the next
    padding): "padding = 1 for both the Conv2d and ConvTranspose2d layers", "(same for conv and transposed conv)"."""
    stop = min(end, (_LINE_BREAK.search(text, at) or re.search(r"$", text)).start())
    layers = list(_LAYER.finditer(text, at, stop))
    return bool(_BOTH.search(text, at, stop)) and any(x.group(1) for x in layers) and any(not x.group(1) for x in layers)


# "kernel 4", "k = 5", "kernel size 4x4", and a size before the word: "a 4x4 kernel", "5 x 5 filters" (not "block 4")
_KERNEL = re.compile(r"\b(?:kernel(?:[_ ]size)?|k)\s*(?:=|of|:|is|size)?\s*\(?\s*([45])(?!\d)"
                     r"|(?<![\w.])([45])\s*(?:x|×|\\times)\s*[45](?=[\s-]*(?:kernel|filter))", re.I)


# A value for another kernel in brackets after a padding: "1 (or 2 for k=5)", "1 (2 when kernel 5)"; its kernel
# starts no kernel's block
_ASIDE = re.compile(r"\(\s*(?:or\s+(?:\w+\s+)?)?\d+\s*,?\s*(?:for|with|when|if|in|on|at)\b[^()\n]*\)", re.I)


def _kernel(m: re.Match) -> str:
    return m.group(1) or m.group(2)


def padding_from_text(text: str) -> dict:
    """Per kernel (4, 5) the paddings mentioned after "kernel ... 4/5", each given to the layer it is said of;
    Markdown tables are read as tables (padding_from_tables), and win."""
    tables = padding_from_tables(text)
    text = grids.without_tables(text).replace("$", " ")  # "padding $= 1$"
    out: dict = {}
    asides = [a.span() for a in _ASIDE.finditer(text)]
    marks = [m for m in _KERNEL.finditer(text) if not any(a < m.start() < b for a, b in asides)]
    for i, m in enumerate(marks):
        k = f"k{_kernel(m)}"
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        block = out.setdefault(k, {})
        pads = list(_PAD_LINE.finditer(text, m.start(), end))
        for j, pm in enumerate(pads):
            name = "output_padding" if pm.group(1).lower().startswith("output") else \
                "tconv_padding" if _transposed(text, pm.start(), pm.end()) else "conv_padding"
            hedge = _HEDGE.match(text, pm.end())
            value = (int(pm.group(2)), int(hedge.group(1))) if hedge and hedge.group(1) != pm.group(2) else int(pm.group(2))
            if name != "output_padding" and _for_both(text, pm.end(), pads[j + 1].start() if j + 1 < len(pads) else end):
                block.setdefault("conv_padding", value)
                name = "tconv_padding"
            block.setdefault(name, value)
    for k, block in tables.items():
        out[k] = {**out.get(k, {}), **block}
    return {k: v for k, v in out.items() if v}


def padding_from_tables(text: str) -> dict:
    """Paddings from Markdown tables, either way round (`| kernel | Conv2d padding | ... |` / `| 4 | 1 | ... |`, or
    `| | k = 4 | k = 5 |` / `| ConvTranspose2d padding | 1 | 2 |`)."""
    out: dict = {}
    for f in grids.table_cells(text):
        row, col, cell = f.value
        kernels = {_kernel(m) for m in _KERNEL.finditer(f"{row} | {col}")}
        layer = _LAYER.search(f"{row} {col}") if re.search(r"\bpad(?:ding)?\b", f"{row} {col}", re.I) else None  # "conv pad"
        out_pad = re.search(r"output[_ -]?pad", f"{row} {col}", re.I)  # not "output size"
        if len(kernels) != 1 or not re.fullmatch(r"\d+", cell) or not (layer or out_pad):
            continue
        name = "output_padding" if out_pad else \
            "tconv_padding" if layer.group(1) else "conv_padding"
        out.setdefault(f"k{kernels.pop()}", {}).setdefault(name, int(cell))
    return out


def check_padding(answer, text: str) -> list[dict]:
    given = answer if isinstance(answer, dict) and any(k in answer for k in ("k4", "k5")) else padding_from_text(text)
    details = []
    for k in (4, 5):
        s = padding_search(k)
        want = reference_padding()["answer"][f"k{k}"]
        got = given.get(f"k{k}") or {}
        if not isinstance(got, dict) or not got:
            details.append(detail(f"kernel {k}", want, None, None, note=f"no paddings found for kernel {k}"))
            continue
        # "padding 1 or 2" (a tuple): two answers for one padding, right only if each is
        cp, tp, op = (v if isinstance(v := got.get(n), tuple) else _int(v)
                      for n in ("conv_padding", "tconv_padding", "output_padding"))
        if isinstance(cp, tuple):
            ok = all(v in s["conv_padding"] for v in cp)
            details.append(detail(f"kernel {k}: Conv2d padding", want["conv_padding"], " or ".join(map(str, cp)), ok,
                                  note="" if ok else "two answers for one quantity: only one can be the answer"))
        elif cp is None:
            details.append(detail(f"kernel {k}: Conv2d padding", s["conv_padding"], None, None, note="not stated"))
        else:
            details.append(detail(f"kernel {k}: Conv2d padding", want["conv_padding"], cp, cp in s["conv_padding"],
                                  note="" if cp in s["conv_padding"] else "does not map 32->16->8 with stride 2"))
        if tp is None or op is None:
            details.append(detail(f"kernel {k}: ConvTranspose2d padding/output_padding",
                                  [want["tconv_padding"], want["output_padding"]], [tp, op], None, note="not stated"))
            continue
        if isinstance(tp, tuple) or isinstance(op, tuple):
            ok = all((a, b) in s["tconv"] for a in (tp if isinstance(tp, tuple) else (tp,))
                     for b in (op if isinstance(op, tuple) else (op,)))
            details.append(detail(f"kernel {k}: ConvTranspose2d padding/output_padding",
                                  [want["tconv_padding"], want["output_padding"]],
                                  [" or ".join(map(str, v)) if isinstance(v, tuple) else v for v in (tp, op)], ok,
                                  note="" if ok else "two answers for one quantity: only one can be the answer"))
            continue
        if op >= STRIDE or op < 0:
            details.append(detail(f"kernel {k}: ConvTranspose2d padding/output_padding", [want["tconv_padding"], want["output_padding"]],
                                  [tp, op], False, note=f"output_padding {op} is invalid: PyTorch requires output_padding < stride ({STRIDE})"))
            continue
        ok = (tp, op) in s["tconv"]
        details.append(detail(f"kernel {k}: ConvTranspose2d padding/output_padding",
                              [want["tconv_padding"], want["output_padding"]], [tp, op], ok,
                              note="" if ok else "does not map 8->16->32 with stride 2"))
    return details


def _int(v):
    try:
        return None if v is None or isinstance(v, bool) else int(v)
    except (TypeError, ValueError):
        return None
