"""The three colourization CNNs of Figure 1 (CSC413 A2, questions 4-6), grouped in blocks as drawn.

Every model keeps the course's constructor order `(kernel, num_filters, num_colours, num_in_channels)`
and has the same block names: `block1` ... `block4` (nn.Sequential, one box group of the figure
each) and `final` (the last nn.Conv2d). Shapes below are for NIC=1, NF=32, NC=24 and 32x32 input.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import nn

from workbench.errors import TrainingError, UsageError


# PyTorch says so on every even-kernel "same" conv: the extra copy is the cost of the asymmetric padding
warnings.filterwarnings("ignore", message="Using padding='same' with even kernel lengths", category=UserWarning)


def same_padding(kernel: int) -> int | str:
    """Padding that keeps H and W for a stride-1 conv: (k-1)/2 on each side for an odd kernel.

    H_out = H + p_before + p_after - k + 1 = H needs k - 1 padding in all, which an even kernel cannot split
    evenly: for it PyTorch's "same" pads one more after than before (the handout's kernel // 2 on both sides
    would make 33x33 from 32x32 with kernel 4). The strided layers keep symmetric padding (strided_padding)."""
    if kernel < 1:
        raise TrainingError(f"kernel {kernel} is not a valid kernel size (the smallest is 1x1)", "use a positive kernel size, e.g. --kernel 3")
    return (kernel - 1) // 2 if kernel % 2 else "same"


def strided_padding(kernel: int) -> tuple[int, int]:
    """(padding, output_padding) that halve H with Conv2d(stride 2) and double it with ConvTranspose2d(stride 2).

    Conv2d: H_out = floor((H + 2p - k) / 2) + 1 = H/2 for even H  <=>  k - 2 <= 2p <= k - 1, so p = (k-1)//2.
    ConvTranspose2d: H_out = (H - 1)*2 - 2p + k + op = 2H  <=>  op = 2p + 2 - k, which is 1 for odd k
    and 0 for even k (and op < stride holds). k=3: (1, 1); k=4: (1, 0); k=5: (2, 1).
    """
    if kernel < 1:
        raise TrainingError(f"kernel {kernel} is not a valid kernel size (the smallest is 1x1)", "use a positive kernel, e.g. --kernel 3")
    padding = (kernel - 1) // 2
    return padding, 2 * padding + 2 - kernel


def _bn_relu(channels: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(channels), nn.ReLU()]


class PoolUpsampleNet(nn.Module):
    """Figure 1a: Conv2d -> MaxPool2d/Upsample -> BatchNorm2d -> ReLU blocks, then a Conv2d."""

    def __init__(self, kernel: int, num_filters: int, num_colours: int, num_in_channels: int):
        super().__init__()
        nic, nf, nc, p = num_in_channels, num_filters, num_colours, same_padding(kernel)
        self.block1 = nn.Sequential(nn.Conv2d(nic, nf, kernel, padding=p), nn.MaxPool2d(2), *_bn_relu(nf))
        self.block2 = nn.Sequential(nn.Conv2d(nf, 2 * nf, kernel, padding=p), nn.MaxPool2d(2), *_bn_relu(2 * nf))
        self.block3 = nn.Sequential(nn.Conv2d(2 * nf, nf, kernel, padding=p), nn.Upsample(scale_factor=2), *_bn_relu(nf))
        self.block4 = nn.Sequential(nn.Conv2d(nf, nc, kernel, padding=p), nn.Upsample(scale_factor=2), *_bn_relu(nc))
        self.final = nn.Conv2d(nc, nc, kernel, padding=p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, NIC, 32, 32)
        x = self.block1(x)  # (B, NF, 16, 16)
        x = self.block2(x)  # (B, 2NF, 8, 8)
        x = self.block3(x)  # (B, NF, 16, 16)
        x = self.block4(x)  # (B, NC, 32, 32)
        return self.final(x)  # (B, NC, 32, 32)


class ConvTransposeNet(nn.Module):
    """Figure 1b: two strided Conv2d blocks, two ConvTranspose2d blocks (each + BN + ReLU), a Conv2d."""

    def __init__(self, kernel: int, num_filters: int, num_colours: int, num_in_channels: int):
        super().__init__()
        nic, nf, nc = num_in_channels, num_filters, num_colours
        p, op = strided_padding(kernel)
        self.block1 = nn.Sequential(nn.Conv2d(nic, nf, kernel, stride=2, padding=p), *_bn_relu(nf))
        self.block2 = nn.Sequential(nn.Conv2d(nf, 2 * nf, kernel, stride=2, padding=p), *_bn_relu(2 * nf))
        self.block3 = nn.Sequential(
            nn.ConvTranspose2d(2 * nf, nf, kernel, stride=2, padding=p, output_padding=op), *_bn_relu(nf))
        self.block4 = nn.Sequential(
            nn.ConvTranspose2d(nf, nc, kernel, stride=2, padding=p, output_padding=op), *_bn_relu(nc))
        self.final = nn.Conv2d(nc, nc, kernel, padding=same_padding(kernel))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, NIC, 32, 32)
        x = self.block1(x)  # (B, NF, 16, 16)
        x = self.block2(x)  # (B, 2NF, 8, 8)
        x = self.block3(x)  # (B, NF, 16, 16)
        x = self.block4(x)  # (B, NC, 32, 32)
        return self.final(x)  # (B, NC, 32, 32)


def cat_channels(*tensors: torch.Tensor) -> torch.Tensor:
    """torch.cat on the channel dimension that keeps a channels_last layout.

    torch.cat returns NCHW when one input is ambiguous (a 1-channel image is both layouts), and the
    next conv then copies it back to channels_last: measured ~6 ms of UNet's ~75 ms CPU step.
    """
    last = tensors[-1]
    if last.dim() == 4 and not last.is_contiguous() and last.is_contiguous(memory_format=torch.channels_last):
        return torch.cat([t.permute(0, 2, 3, 1) for t in tensors], dim=3).permute(0, 3, 1, 2)  # (B, C, H, W) view
    return torch.cat(tensors, dim=1)


class UNet(nn.Module):
    """Figure 1c: ConvTransposeNet with skips, concatenated on channels (skip first, as labelled)."""

    def __init__(self, kernel: int, num_filters: int, num_colours: int, num_in_channels: int):
        super().__init__()
        nic, nf, nc = num_in_channels, num_filters, num_colours
        p, op = strided_padding(kernel)
        self.block1 = nn.Sequential(nn.Conv2d(nic, nf, kernel, stride=2, padding=p), *_bn_relu(nf))
        self.block2 = nn.Sequential(nn.Conv2d(nf, 2 * nf, kernel, stride=2, padding=p), *_bn_relu(2 * nf))
        self.block3 = nn.Sequential(
            nn.ConvTranspose2d(2 * nf, nf, kernel, stride=2, padding=p, output_padding=op), *_bn_relu(nf))
        self.block4 = nn.Sequential(
            nn.ConvTranspose2d(nf + nf, nc, kernel, stride=2, padding=p, output_padding=op), *_bn_relu(nc))
        self.final = nn.Conv2d(nic + nc, nc, kernel, padding=same_padding(kernel))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, NIC, 32, 32)
        out1 = self.block1(x)  # (B, NF, 16, 16)
        out2 = self.block2(out1)  # (B, 2NF, 8, 8)
        out3 = self.block3(out2)  # (B, NF, 16, 16)
        out4 = self.block4(cat_channels(out1, out3))  # in (B, NF+NF, 16, 16) -> (B, NC, 32, 32)
        return self.final(cat_channels(x, out4))  # in (B, NIC+NC, 32, 32) -> (B, NC, 32, 32)


MODELS: dict[str, type[nn.Module]] = {
    "poolupsample": PoolUpsampleNet,
    "convtranspose": ConvTransposeNet,
    "unet": UNet,
}
BLOCK_NAMES = ("block1", "block2", "block3", "block4", "final")


def resolve_model_name(name: str) -> str:
    """Canonical short name for a short or class name, any case ('UNet', 'convtransposenet' ...)."""
    key = name.strip().lower()
    for short, cls in MODELS.items():
        if key in (short, cls.__name__.lower()):
            return short
    valid = ", ".join(f"{short} ({cls.__name__})" for short, cls in MODELS.items())
    raise UsageError(f"unknown model {name!r}", f"choose one of: {valid}")


def build_model(name: str, kernel: int = 3, num_filters: int = 32, num_colours: int = 24,
                num_in_channels: int = 1) -> nn.Module:
    return MODELS[resolve_model_name(name)](kernel, num_filters, num_colours, num_in_channels)


@dataclass(frozen=True)
class BlockShape:
    """A block's input and output shape (without the batch dimension)."""

    name: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]


def probe(model: nn.Module, input_shape: tuple[int, int, int], modules: list[tuple[str, nn.Module]], record) -> None:
    """Run one zero image (C, H, W) through the model in eval mode, calling record(name, module, input, output)
    for each of `modules` as the forward pass reaches it; the model's mode and hooks are restored after."""
    hooks = [m.register_forward_hook(lambda mod, inp, out, name=n: record(name, mod, inp[0], out)) for n, m in modules]
    was_training = model.training
    try:
        model.eval()
        p = next(model.parameters(), None)  # none in a model of pooling and activations only
        with torch.inference_mode():
            model(torch.zeros((1, *input_shape), dtype=p.dtype if p is not None else torch.get_default_dtype(),
                              device=p.device if p is not None else None))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()


def block_shapes(model: nn.Module, input_shape: tuple[int, int, int]) -> list[BlockShape]:
    """Run one zero image (C, H, W) through the model and record each block's input and output shape.

    For UNet the inputs of block4 and final are the concatenations of Figure 1c.
    """
    seen: dict[str, tuple] = {}

    def record(name, module, inp, out):
        seen[name] = (tuple(inp.shape[1:]), tuple(out.shape[1:]))

    try:
        probe(model, input_shape, [(name, getattr(model, name)) for name in BLOCK_NAMES], record)
    except RuntimeError as exc:
        raise TrainingError(f"input shape {input_shape} does not fit the model: {exc}".splitlines()[0],
                            "use an image height and width divisible by 4") from exc
    return [BlockShape(name, *seen[name]) for name in BLOCK_NAMES]
