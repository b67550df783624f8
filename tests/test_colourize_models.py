"""The three CNNs against Figure 1: block structure, shapes after every block, parameter counts."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from test_colourize_fixtures import one_thread  # noqa: F401 (fixture)
from torch import nn

from colourize.models import (BLOCK_NAMES, ConvTransposeNet, PoolUpsampleNet, UNet, block_shapes, build_model,
                              resolve_model_name, strided_padding)
from workbench.errors import TrainingError, UsageError

pytestmark = pytest.mark.usefixtures("one_thread")

MODELS = (PoolUpsampleNet, ConvTransposeNet, UNet)
SIZES = [(1, 32, 24), (3, 8, 10), (2, 16, 5)]  # (NIC, NF, NC)


def figure1(cls, nic, nf, nc, h=32):
    """Figure 1's (block input, block output) shapes, written out by hand from the diagram."""
    q, e = h // 2, h // 4
    common = [((nic, h, h), (nf, q, q)), ((nf, q, q), (2 * nf, e, e)), ((2 * nf, e, e), (nf, q, q))]
    if cls is UNet:
        return common + [((nf + nf, q, q), (nc, h, h)), ((nic + nc, h, h), (nc, h, h))]
    return common + [((nf, q, q), (nc, h, h)), ((nc, h, h), (nc, h, h))]


# Figure 1's boxes, top to bottom, for each block
LAYERS = {
    PoolUpsampleNet: [[nn.Conv2d, nn.MaxPool2d, nn.BatchNorm2d, nn.ReLU]] * 2
    + [[nn.Conv2d, nn.Upsample, nn.BatchNorm2d, nn.ReLU]] * 2,
    ConvTransposeNet: [[nn.Conv2d, nn.BatchNorm2d, nn.ReLU]] * 2 + [[nn.ConvTranspose2d, nn.BatchNorm2d, nn.ReLU]] * 2,
}
LAYERS[UNet] = LAYERS[ConvTransposeNet]


@pytest.mark.parametrize("cls", MODELS)
def test_blocks_follow_figure1_layer_order(cls):
    model = cls(3, 32, 24, 1)
    for name, types in zip(BLOCK_NAMES[:4], LAYERS[cls]):
        block = getattr(model, name)
        assert isinstance(block, nn.Sequential)
        assert [type(m) for m in block] == types, name
    assert type(model.final) is nn.Conv2d


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("nic,nf,nc", SIZES)
def test_shape_after_every_block(cls, nic, nf, nc):
    model = cls(3, nf, nc, nic)
    got = [(b.in_shape, b.out_shape) for b in block_shapes(model, (nic, 32, 32))]
    assert got == figure1(cls, nic, nf, nc)
    assert model(torch.zeros(2, nic, 32, 32)).shape == (2, nc, 32, 32)


def test_unet_concatenates_the_skip_first():
    """Figure 1c: block4 reads [block1's output, block3's output] and final reads [the input, block4's output]."""
    model = UNet(3, 4, 5, 2).eval()
    seen = {}
    for name in BLOCK_NAMES:
        getattr(model, name).register_forward_hook(lambda m, inp, out, name=name: seen.update({name: (inp[0], out)}))
    x = torch.rand(1, 2, 32, 32)
    with torch.no_grad():
        model(x)
    assert torch.equal(seen["block4"][0], torch.cat((seen["block1"][1], seen["block3"][1]), 1))
    assert torch.equal(seen["final"][0], torch.cat((x, seen["block4"][1]), 1))


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("kernel", [1, 5, 7])
def test_other_odd_kernels_keep_every_shape(cls, kernel):
    got = [(b.in_shape, b.out_shape) for b in block_shapes(cls(kernel, 8, 6, 1), (1, 64, 64))]
    assert got == figure1(cls, 1, 8, 6, h=64)


@pytest.mark.parametrize("kernel,expected", [(1, (0, 1)), (2, (0, 0)), (3, (1, 1)), (4, (1, 0)), (5, (2, 1)), (6, (2, 0))])
def test_strided_padding_halves_and_doubles(kernel, expected):
    p, op = strided_padding(kernel)
    assert (p, op) == expected
    x = torch.zeros(1, 2, 32, 32)
    down = nn.Conv2d(2, 2, kernel, stride=2, padding=p)(x)
    up = nn.ConvTranspose2d(2, 2, kernel, stride=2, padding=p, output_padding=op)(down)
    assert down.shape[-2:] == (16, 16) and up.shape[-2:] == (32, 32)


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("kernel", [2, 4, 6])
def test_even_kernels_keep_every_shape_too(cls, kernel):
    """Question 5.4's kernel 4: the strided layers pad symmetrically (4: padding 1, output_padding 0), the
    stride-1 convolutions pad one more after than before ("same"), forward and backward, channels_last too."""
    model = cls(kernel, 8, 6, 1)
    got = [(b.in_shape, b.out_shape) for b in block_shapes(model, (1, 32, 32))]
    assert got == figure1(cls, 1, 8, 6)
    x = torch.rand(2, 1, 32, 32).contiguous(memory_format=torch.channels_last)
    model.to(memory_format=torch.channels_last)(x).sum().backward()
    if cls is not PoolUpsampleNet:
        down, up = model.block1[0], model.block3[0]
        assert (down.padding, up.padding, up.output_padding) == ((kernel // 2 - 1,) * 2, (kernel // 2 - 1,) * 2, (0, 0))


@pytest.mark.parametrize("kernel", [0, -1])
def test_kernel_sizes_below_one_are_refused(kernel):
    with pytest.raises(TrainingError, match=f"kernel {kernel} is not a valid kernel size"):
        ConvTransposeNet(kernel, 8, 6, 1)


def test_argument_order_is_the_courses():
    model = ConvTransposeNet(5, 16, 12, 2)  # (kernel, num_filters, num_colours, num_in_channels)
    conv = model.block1[0]
    assert conv.kernel_size == (5, 5) and conv.out_channels == 16 and conv.in_channels == 2
    assert model.final.out_channels == 12


def _param_formula(cls, k, nic, nf, nc):
    """Weights + biases + BatchNorm scale/shift, from the layer list by hand."""
    conv = lambda cin, cout: cin * cout * k * k + cout  # noqa: E731
    bn = lambda c: 2 * c  # noqa: E731
    skip = cls is UNet
    return (conv(nic, nf) + bn(nf) + conv(nf, 2 * nf) + bn(2 * nf) + conv(2 * nf, nf) + bn(nf)
            + conv(2 * nf if skip else nf, nc) + bn(nc) + conv(nc + nic if skip else nc, nc))


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("nic,nf,nc", SIZES)
@pytest.mark.parametrize("k", [3, 5])
def test_parameter_count_matches_hand_formula(cls, nic, nf, nc, k):
    model = cls(k, nf, nc, nic)
    assert sum(p.numel() for p in model.parameters()) == _param_formula(cls, k, nic, nf, nc)


def test_default_parameter_counts_by_hand():
    # k=3, NIC=1, NF=32, NC=24; e.g. UNet: 320+64 + 18496+128 + 18464+64 + 13848+48 + 5424
    assert sum(p.numel() for p in build_model("poolupsample").parameters()) == 49_728
    assert sum(p.numel() for p in build_model("convtranspose").parameters()) == 49_728
    assert sum(p.numel() for p in build_model("unet").parameters()) == 56_856


@pytest.mark.parametrize("cls", MODELS)
def test_loss_decreases_on_a_fixed_batch(cls):
    torch.manual_seed(0)
    model = cls(3, 8, 4, 1)
    x = F.interpolate(torch.rand(8, 1, 8, 8), scale_factor=4)  # (8, 1, 32, 32), constant on 4x4 patches
    y = (x[:, 0] * 4).long().clamp(max=3)  # (8, 32, 32): colour class from brightness
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("name,expected", [("unet", "unet"), ("UNet", "unet"), ("ConvTransposeNet", "convtranspose"),
                                           ("POOLUPSAMPLE", "poolupsample"), ("poolupsamplenet", "poolupsample")])
def test_model_names(name, expected):
    assert resolve_model_name(name) == expected


def test_unknown_model_lists_the_valid_names():
    with pytest.raises(UsageError) as err:
        resolve_model_name("resnet")
    assert "poolupsample" in err.value.fix and "UNet" in err.value.fix


def test_cat_channels_equals_torch_cat_and_keeps_channels_last():
    from colourize.models import cat_channels

    x = torch.rand(2, 1, 8, 8).contiguous(memory_format=torch.channels_last)  # 1 channel: both layouts at once
    y = torch.rand(2, 5, 8, 8).contiguous(memory_format=torch.channels_last)
    out = cat_channels(x, y)
    assert torch.equal(out, torch.cat((x, y), dim=1))
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert cat_channels(x.contiguous(), y.contiguous()).is_contiguous()


@pytest.mark.parametrize("cls", MODELS)
def test_kernel_zero_is_refused_by_every_model_and_both_paddings(cls):
    with pytest.raises(TrainingError, match="kernel 0 is not a valid kernel size"):
        cls(0, 8, 6, 1)
    with pytest.raises(TrainingError, match="kernel 0 is not a valid kernel size"):
        strided_padding(0)


def test_model_names_with_spaces_around_them():
    assert resolve_model_name("  UNet\n") == "unet"


def test_block_shapes_leaves_the_model_as_it_was():
    """Mode, BatchNorm statistics and hooks restored; a float64 model is probed with a float64 image."""
    model = UNet(3, 8, 6, 1).double().eval()
    model.block1[1].running_mean.fill_(0.5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    block_shapes(model, (1, 32, 32))
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(m._forward_hooks for m in model.modules())
    model.train()
    block_shapes(model, (1, 32, 32))
    assert model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_an_input_size_the_model_cannot_take_is_one_line():
    with pytest.raises(TrainingError, match=r"input shape \(1, 30, 30\) does not fit the model") as err:
        block_shapes(UNet(3, 8, 6, 1), (1, 30, 30))
    assert "divisible by 4" in err.value.fix
