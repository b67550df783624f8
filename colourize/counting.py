"""Weights, outputs and connections per layer of any model and input size, by forward hooks (A2 4.3).

Conventions (per image, biases ignored):
- Conv2d: weights = Cin/groups * Cout * k_h * k_w; outputs = elements of the conv's output;
  connections = outputs * Cin/groups * k_h * k_w (padded positions count, the handout's convention).
- ConvTranspose2d: weights as Conv2d; connections = input elements * Cout/groups * k_h * k_w (every
  input element feeds k_h*k_w positions of every output map, including those cropped by padding).
- `connections_unpadded` counts only taps that touch a real input and land in the output.
- MaxPool2d: connections = outputs * pool window; Upsample (nearest, nearest-exact): one per output,
  bilinear four, bicubic sixteen;
  BatchNorm2d: weights = C (the scales; the shifts are biases), one connection per output;
  ReLU and other elementwise layers: one connection per output, no weights.
The primary totals (question 4.3) sum the conv rows only; `totals(rows, kinds=...)` adds other kinds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from colourize.models import probe

CONV_KINDS = ("conv",)


@dataclass(frozen=True)
class LayerCount:
    """One leaf layer's counts for one image."""

    name: str
    type: str
    kind: str  # conv | pool | upsample | norm | activation | other
    weights: int
    outputs: int
    connections: int
    connections_unpadded: int
    in_shape: tuple[int, ...]  # (C, H, W), no batch dimension
    out_shape: tuple[int, ...]


@dataclass(frozen=True)
class Totals:
    weights: int
    outputs: int
    connections: int


def _taps(module: nn.Module, in_hw: tuple[int, int], transposed: bool) -> int:
    """Spatial (input position, output position) pairs of one in/out channel pair, ignoring padding."""
    ones = torch.ones((1, 1, *in_hw), dtype=torch.float64)
    kernel = torch.ones((1, 1, *module.kernel_size), dtype=torch.float64)
    if transposed:
        out = F.conv_transpose2d(ones, kernel, stride=module.stride, padding=module.padding,
                                 output_padding=module.output_padding, dilation=module.dilation)
    else:
        out = F.conv2d(ones, kernel, stride=module.stride, padding=module.padding, dilation=module.dilation)
    return int(out.sum().item())


def _count(name: str, m: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> LayerCount:
    in_shape, out_shape = tuple(inp.shape[1:]), tuple(out.shape[1:])
    outputs = math.prod(out_shape)
    kind, weights, connections, unpadded = "other", 0, outputs, outputs
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        kind = "conv"
        k = math.prod(m.kernel_size)
        cin_g, cout_g = m.in_channels // m.groups, m.out_channels // m.groups
        weights = cin_g * m.out_channels * k
        transposed = isinstance(m, nn.ConvTranspose2d)
        if transposed:
            connections = math.prod(in_shape) * cout_g * k
        else:
            connections = outputs * cin_g * k
        unpadded = _taps(m, in_shape[1:], transposed) * m.in_channels * cout_g
    elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        kind = "pool"
        ks = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size, m.kernel_size)
        connections = unpadded = outputs * math.prod(ks)
    elif isinstance(m, nn.Upsample):
        kind = "upsample"
        per_axis = {"nearest": 1, "nearest-exact": 1, "bicubic": 4}.get(m.mode, 2)  # (bi/tri)linear: 2
        connections = unpadded = outputs * per_axis ** (len(out_shape) - 1)
    elif isinstance(m, nn.modules.batchnorm._BatchNorm):
        kind = "norm"
        weights = m.num_features if m.affine else 0
    elif isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh)):
        kind = "activation"
    return LayerCount(name, type(m).__name__, kind, weights, outputs, connections, unpadded, in_shape, out_shape)


def count_layers(model: nn.Module, input_shape: tuple[int, int, int] = (1, 32, 32)) -> list[LayerCount]:
    """Counts for every leaf layer, in the order the forward pass runs them, for one (C, H, W) input."""
    rows: list[LayerCount] = []
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    probe(model, input_shape, leaves, lambda name, mod, inp, out: rows.append(_count(name, mod, inp, out)))
    return rows


def totals(rows: list[LayerCount], kinds: tuple[str, ...] = CONV_KINDS) -> Totals:
    """Sum of the rows of the given kinds (default: convolutions only, the handout's 4.3 convention)."""
    picked = [r for r in rows if r.kind in kinds]
    return Totals(sum(r.weights for r in picked), sum(r.outputs for r in picked), sum(r.connections for r in picked))
