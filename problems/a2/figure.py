"""Figure 1 of A2 as data: the three colourization networks block by block (layer types and order, channels,
stride, padding for kernel 3, the tensor shape after each block), a symbolic count derived from it (for 4.3),
and the block-by-block comparison of a model description (model_probe.describe) with it (for 4.1, 5.1, 6.1).
"""

from __future__ import annotations

import re

from dataclasses import dataclass

import sympy

from workbench.verdicts import detail

LAYER_TYPES = ("Conv2d", "ConvTranspose2d", "MaxPool2d", "Upsample", "BatchNorm2d", "ReLU")
KERNEL = 3
_SYM = {name: sympy.Symbol(name) for name in ("NIC", "NF", "NC")}


@dataclass(frozen=True)
class Layer:
    type: str
    cin: str = ""  # channel expressions in NIC, NF, NC
    cout: str = ""
    stride: int = 1
    padding: int | None = None  # for kernel 3
    output_padding: int | None = None

    def describe(self) -> str:
        return self.type


@dataclass(frozen=True)
class Block:
    label: str
    layers: tuple[Layer, ...]
    out: tuple[str, int]  # (channels, height = width) after the block
    inp: tuple[str, int] | None = None  # the block's input where a skip connection makes it special
    skip: str | None = None  # what the skip connection joins to the previous block's output: a block or "input"


def _conv(cin, cout, stride=1):
    return Layer("Conv2d", cin, cout, stride, 1)


def _tconv(cin, cout):
    return Layer("ConvTranspose2d", cin, cout, 2, 1, 1)


def _bn_relu(c):
    return (Layer("BatchNorm2d", cout=c), Layer("ReLU"))


FIGURE1: dict[str, tuple[Block, ...]] = {
    "PoolUpsampleNet": (
        Block("block 1", (_conv("NIC", "NF"), Layer("MaxPool2d"), *_bn_relu("NF")), ("NF", 16)),
        Block("block 2", (_conv("NF", "2*NF"), Layer("MaxPool2d"), *_bn_relu("2*NF")), ("2*NF", 8)),
        Block("block 3", (_conv("2*NF", "NF"), Layer("Upsample"), *_bn_relu("NF")), ("NF", 16)),
        Block("block 4", (_conv("NF", "NC"), Layer("Upsample"), *_bn_relu("NC")), ("NC", 32)),
        Block("final", (_conv("NC", "NC"),), ("NC", 32)),
    ),
    "ConvTransposeNet": (
        Block("block 1", (_conv("NIC", "NF", 2), *_bn_relu("NF")), ("NF", 16)),
        Block("block 2", (_conv("NF", "2*NF", 2), *_bn_relu("2*NF")), ("2*NF", 8)),
        Block("block 3", (_tconv("2*NF", "NF"), *_bn_relu("NF")), ("NF", 16)),
        Block("block 4", (_tconv("NF", "NC"), *_bn_relu("NC")), ("NC", 32)),
        Block("final", (_conv("NC", "NC"),), ("NC", 32)),
    ),
    "UNet": (
        Block("block 1", (_conv("NIC", "NF", 2), *_bn_relu("NF")), ("NF", 16)),
        Block("block 2", (_conv("NF", "2*NF", 2), *_bn_relu("2*NF")), ("2*NF", 8)),
        Block("block 3", (_tconv("2*NF", "NF"), *_bn_relu("NF")), ("NF", 16)),
        Block("block 4", (_tconv("NF+NF", "NC"), *_bn_relu("NC")), ("NC", 32), inp=("NF+NF", 16), skip="block 1"),
        Block("final", (_conv("NIC+NC", "NC"),), ("NC", 32), inp=("NIC+NC", 32), skip="input"),
    ),
}


def channels(expr: str, **values):
    """A channel expression as sympy (no values) or as an int."""
    e = sympy.sympify(expr, locals=_SYM)
    return int(e.subs({_SYM[k]: v for k, v in values.items()})) if values else e


def symbolic_counts(model: str, size: int) -> list[tuple[str, dict]]:
    """Per layer of Figure 1: (type, {weights, outputs, connections}) as polynomials in NIC, NF, NC (kernel 3).

    Conv2d: weights k^2 C_in C_out; outputs C_out H W; each output sees k^2 C_in inputs. MaxPool2d 2x2: each output
    sees 4 inputs. Upsample, BatchNorm2d, ReLU: one input per output; BatchNorm2d has C weights (gamma; beta is a bias).
    """
    h, c = sympy.Integer(size), channels("NIC")
    rows = []
    for block in FIGURE1[model]:
        for layer in block.layers:
            if layer.type == "Conv2d":
                cin, cout = channels(layer.cin), channels(layer.cout)
                h = h / layer.stride
                out = cout * h * h
                rows.append(("Conv2d", {"weights": KERNEL**2 * cin * cout, "outputs": out, "connections": out * KERNEL**2 * cin}))
                c = cout
            elif layer.type in ("MaxPool2d", "Upsample"):
                h = h / 2 if layer.type == "MaxPool2d" else h * 2
                out = c * h * h
                rows.append((layer.type, {"weights": 0, "outputs": out, "connections": out * (4 if layer.type == "MaxPool2d" else 1)}))
            elif layer.type in ("BatchNorm2d", "ReLU"):
                out = c * h * h
                rows.append((layer.type, {"weights": c if layer.type == "BatchNorm2d" else 0, "outputs": out, "connections": out}))
            else:
                raise ValueError(f"symbolic counts do not cover {layer.type}")
    return [(t, {k: sympy.expand(v) for k, v in d.items()}) for t, d in rows]


# ---------------------------------------------------------------- comparing a model with the figure

def _pair(v):
    if isinstance(v, (list, tuple)):
        return list(v)
    return [v, v] if isinstance(v, (int, float)) else v


def _layer_problems(layer: Layer, got: dict, cfg: dict) -> list[str]:
    vals = {"NIC": cfg["nic"], "NF": cfg["nf"], "NC": cfg["nc"]}
    problems = []
    if layer.type in ("Conv2d", "ConvTranspose2d"):
        for attr, want in (("in_channels", channels(layer.cin, **vals)), ("out_channels", channels(layer.cout, **vals))):
            if got.get(attr) != want:
                problems.append(f"{layer.type} {attr} {got.get(attr)}, expected {want} ({layer.cin if attr == 'in_channels' else layer.cout})")
        if _pair(got.get("kernel_size")) != [KERNEL, KERNEL]:
            problems.append(f"{layer.type} kernel {got.get('kernel_size')}, expected the kernel parameter ({KERNEL})")
        if _pair(got.get("stride")) != [layer.stride, layer.stride]:
            problems.append(f"{layer.type} stride {got.get('stride')}, expected {layer.stride}")
        pad = got.get("padding")
        if not (_pair(pad) == [layer.padding, layer.padding] or (pad == "same" and layer.stride == 1)):
            problems.append(f"{layer.type} padding {pad}, expected {layer.padding}")
        if layer.output_padding is not None and _pair(got.get("output_padding")) != [layer.output_padding] * 2:
            problems.append(f"ConvTranspose2d output_padding {got.get('output_padding')}, expected {layer.output_padding}")
    elif layer.type == "BatchNorm2d":
        want = channels(layer.cout, **vals)
        if got.get("num_features") != want:
            problems.append(f"BatchNorm2d features {got.get('num_features')}, expected {want} ({layer.cout})")
    elif layer.type == "MaxPool2d" and _pair(got.get("kernel_size")) != [2, 2]:
        problems.append(f"MaxPool2d kernel {got.get('kernel_size')}, expected 2")
    elif layer.type == "Upsample" and _pair(got.get("scale_factor")) not in ([2, 2], [2.0, 2.0]):
        problems.append(f"Upsample scale factor {got.get('scale_factor')}, expected 2")
    return problems


def _shape(ch: str, size: int, cfg: dict) -> list[int]:
    return [channels(ch, NIC=cfg["nic"], NF=cfg["nf"], NC=cfg["nc"]), size, size]


def compare_model(model: str, description: dict) -> list[dict]:
    """One detail per block of Figure 1 (types and order, settings, shapes) plus the output shape."""
    blocks = FIGURE1[model]
    configs = description.get("configs") or []
    broken = [c for c in configs if c.get("error")]
    if broken or not configs:
        error = broken[0]["error"] if broken else "no description"
        return [detail(f"{model} builds and runs on [2, NIC, 32, 32]", "a working model", error, False)]
    expected_types = [layer.type for b in blocks for layer in b.layers]
    per_block: dict[str, list[str]] = {b.label: [] for b in blocks}
    sequence_note = ""
    for cfg in configs:
        layers = cfg["layers"]
        got_types = [x["type"] for x in layers]
        tag = f" (NIC={cfg['nic']}, NF={cfg['nf']}, NC={cfg['nc']})" if cfg is not configs[0] else ""
        if len(got_types) != len(expected_types) and got_types[:len(expected_types)] != expected_types:
            sequence_note = sequence_note or ("layers in execution order: expected " + " → ".join(expected_types)
                                              + "; found " + " → ".join(got_types))
        pos, ends = 0, {"input": "input"}  # block label -> index of its last layer
        for i, block in enumerate(blocks):
            chunk = layers[pos: pos + len(block.layers)]
            pos += len(block.layers)
            ends[block.label] = pos - 1
            types = [x["type"] for x in chunk]
            want_types = [layer.type for layer in block.layers]
            if types != want_types:
                # what was found only: the detail's expected column (and the critique) already give Figure 1's order
                per_block[block.label].append(f"layers {' → '.join(types)}" if types else "no layers")
                continue
            for layer, got in zip(block.layers, chunk):
                per_block[block.label].extend(p + tag for p in _layer_problems(layer, got, cfg))
            if block.inp and chunk[0].get("in") != _shape(*block.inp, cfg):
                per_block[block.label].append(f"input {chunk[0].get('in')}, expected {_shape(*block.inp, cfg)} "
                                              f"([{block.inp[0]}, {block.inp[1]}, {block.inp[1]}]){tag}")
            if block.skip and "from" in chunk[0]:
                want = [blocks[i - 1].label, block.skip]
                names = {v: k for k, v in ends.items() if k != block.label}
                got = [names.get(s, f"layer {s + 1} ({layers[s]['type']})" if isinstance(s, int) else "something else")
                       for s in chunk[0]["from"]]
                if sorted(got) != sorted(want):
                    per_block[block.label].append(f"input joins {' + '.join(got) or 'nothing'}, expected the outputs "
                                                  f"of {' and '.join(w if w != 'input' else 'the input image' for w in want)}"
                                                  f" (skip connection){tag}")
            if chunk[-1].get("out") != _shape(*block.out, cfg):
                per_block[block.label].append(f"output {chunk[-1].get('out')}, expected {_shape(*block.out, cfg)} "
                                              f"([{block.out[0]}, {block.out[1]}, {block.out[1]}]){tag}")
        if got_types[:len(expected_types)] == expected_types and layers[pos:]:
            # a Softmax or Sigmoid after the final conv: the network's output is no longer its scores
            per_block[blocks[-1].label].append("followed by " + " → ".join(x["type"] for x in layers[pos:])
                                               + ", which Figure 1 does not have after the last Conv2d")
    details = []
    for block in blocks:
        # a fault the second size repeats (the same words, other numbers) is said once; one only it shows is kept
        kinds = {re.sub(r"\d+", "#", re.sub(r" \(NIC=\d+, NF=\d+, NC=\d+\)$", "", p)): p
                 for p in reversed(per_block[block.label])}
        problems = list(dict.fromkeys(kinds.values()))[::-1]
        spec = " → ".join(layer.type for layer in block.layers) + f", out [BS, {block.out[0]}, {block.out[1]}, {block.out[1]}]"
        details.append(detail(f"{model} {block.label}", spec, "as specified" if not problems else "; ".join(problems[:4]),
                              not problems))
    out_ok = all(c.get("output") == [c["nc"], 32, 32] for c in configs)
    details.append(detail(f"{model} output shape", "[BS, NC, 32, 32]", [c.get("output") for c in configs][0], out_ok))
    if sequence_note:
        details.append(detail(f"{model} layer count", " → ".join(expected_types), sequence_note, False, weight=0.0,
                              note="blocks after the first extra or missing layer are misaligned"))
    return details
