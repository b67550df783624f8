"""Weights, outputs and connections by introspection, against formulas derived by hand (question 4.3)."""

from __future__ import annotations

import pytest
import torch
from test_colourize_fixtures import one_thread  # noqa: F401 (fixture)
from torch import nn

from colourize.counting import count_layers, totals
from colourize.models import ConvTransposeNet, PoolUpsampleNet, UNet

pytestmark = pytest.mark.usefixtures("one_thread")


def pool_upsample_formulas(k, nic, nf, nc, h):
    """Question 4.3 for PoolUpsampleNet, conv layers only, biases and BatchNorm ignored."""
    q, e = h // 2, h // 4
    weights = k * k * (nic * nf + nf * 2 * nf + 2 * nf * nf + nf * nc + nc * nc)
    outputs = nf * h * h + 2 * nf * q * q + nf * e * e + nc * q * q + nc * h * h  # each conv's own output
    connections = k * k * (nic * nf * h * h + nf * 2 * nf * q * q + 2 * nf * nf * e * e + nf * nc * q * q
                           + nc * nc * h * h)
    return weights, outputs, connections


@pytest.mark.parametrize("nic,nf,nc", [(1, 32, 24), (3, 8, 10)])
@pytest.mark.parametrize("h", [32, 64])
@pytest.mark.parametrize("k", [3, 5])
def test_pool_upsample_matches_question_4_3(nic, nf, nc, h, k):
    t = totals(count_layers(PoolUpsampleNet(k, nf, nc, nic), (nic, h, h)))
    assert (t.weights, t.outputs, t.connections) == pool_upsample_formulas(k, nic, nf, nc, h)


def test_doubling_the_input_keeps_weights_and_quadruples_the_rest():
    model = PoolUpsampleNet(3, 32, 24, 1)
    a, b = totals(count_layers(model, (1, 32, 32))), totals(count_layers(model, (1, 64, 64)))
    assert b.weights == a.weights == 49_248
    assert (b.outputs, b.connections) == (4 * a.outputs, 4 * a.connections)
    assert (a.outputs, a.connections) == (81_920, 13_271_040)


@pytest.mark.parametrize("cls", [ConvTransposeNet, UNet])
def test_strided_models_by_hand(cls):
    k, nic, nf, nc, h = 3, 1, 32, 24, 32
    q, e = h // 2, h // 4
    skip = cls is UNet
    cin4, cin5 = (2 * nf, nc + nic) if skip else (nf, nc)
    weights = k * k * (nic * nf + nf * 2 * nf + 2 * nf * nf + cin4 * nc + cin5 * nc)
    outputs = nf * q * q + 2 * nf * e * e + nf * q * q + nc * h * h + nc * h * h
    # strided convs: outputs * Cin * k^2; transposed: input elements * Cout * k^2
    connections = k * k * (nf * q * q * nic + 2 * nf * e * e * nf + 2 * nf * e * e * nf + cin4 * q * q * nc
                           + nc * h * h * cin5)
    t = totals(count_layers(cls(k, nf, nc, nic), (nic, h, h)))
    assert (t.weights, t.outputs, t.connections) == (weights, outputs, connections)


def test_rows_cover_every_layer_with_other_conventions():
    rows = count_layers(PoolUpsampleNet(3, 32, 24, 1))
    assert [r.name for r in rows][:4] == ["block1.0", "block1.1", "block1.2", "block1.3"]
    pool, bn, up = rows[1], rows[2], rows[9]
    assert (pool.kind, pool.out_shape, pool.outputs, pool.connections) == ("pool", (32, 16, 16), 8192, 4 * 8192)
    assert (bn.kind, bn.weights, bn.connections) == ("norm", 32, 8192)
    assert (up.kind, up.outputs, up.connections) == ("upsample", 32 * 16 * 16, 32 * 16 * 16)
    block_outputs = totals(rows, kinds=("activation",)).outputs + rows[-1].outputs  # after each block + final
    assert block_outputs == 32 * 16 * 16 + 64 * 8 * 8 + 32 * 16 * 16 + 24 * 32 * 32 + 24 * 32 * 32


def test_unpadded_connections_by_brute_force():
    conv = nn.Conv2d(2, 3, 3, padding=1)
    (row,) = count_layers(nn.Sequential(conv), (2, 5, 5))
    # count, for every output position, the kernel taps that land inside the 5x5 input
    taps = sum(1 for oy in range(5) for ox in range(5) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
               if 0 <= oy + dy < 5 and 0 <= ox + dx < 5)
    assert row.connections_unpadded == taps * 2 * 3
    assert row.connections == 3 * 25 * 2 * 9


def test_transposed_unpadded_connections_by_brute_force():
    conv = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1)
    (row,) = count_layers(nn.Sequential(conv), (2, 4, 4))
    assert row.out_shape == (3, 8, 8)
    # input i feeds output 2*i - 1 + d for taps d = 0, 1, 2; count the ones inside the 8x8 output
    taps = sum(1 for iy in range(4) for ix in range(4) for dy in range(3) for dx in range(3)
               if 0 <= 2 * iy - 1 + dy < 8 and 0 <= 2 * ix - 1 + dx < 8)
    assert row.connections_unpadded == taps * 2 * 3
    assert row.connections == 2 * 16 * 3 * 9


def test_grouped_conv_and_bilinear_upsample_conventions():
    grouped, up = nn.Conv2d(4, 6, 3, padding=1, groups=2), nn.Upsample(scale_factor=2, mode="bilinear")
    conv, ups = count_layers(nn.Sequential(grouped, up), (4, 5, 5))
    assert conv.weights == grouped.weight.numel() == 2 * 6 * 9  # Cin/groups * Cout * k * k
    assert conv.connections == 6 * 25 * 2 * 9  # outputs * Cin/groups * k * k
    assert (ups.kind, ups.outputs, ups.connections) == ("upsample", 6 * 10 * 10, 4 * 6 * 10 * 10)  # bilinear: four


def test_a_model_without_weights_is_counted():
    """Pooling and upsampling only: no parameter to take the probe's dtype from (was a StopIteration)."""
    pool, ups = count_layers(nn.Sequential(nn.MaxPool2d(2), nn.Upsample(scale_factor=2)), (3, 8, 8))
    assert (pool.kind, pool.weights, pool.outputs, pool.connections) == ("pool", 0, 3 * 4 * 4, 3 * 4 * 4 * 4)
    assert (ups.kind, ups.outputs, ups.connections) == ("upsample", 3 * 8 * 8, 3 * 8 * 8)


def test_counting_leaves_the_model_as_it_was():
    model = UNet(3, 8, 6, 1).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    count_layers(model, (1, 32, 32))
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def _conv_taps(h, k, stride, padding, dilation):
    """(output, input) position pairs on one axis of a Conv2d whose input tap lands inside the input."""
    out = (h + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    return sum(1 for o in range(out) for d in range(k) if 0 <= o * stride - padding + d * dilation < h)


def _tconv_taps(h, k, stride, padding, dilation, output_padding):
    """(input, output) position pairs on one axis of a ConvTranspose2d whose tap lands inside the output."""
    out = (h - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1
    return sum(1 for i in range(h) for d in range(k) if 0 <= i * stride - padding + d * dilation < out)


@pytest.mark.parametrize("stride,padding,dilation", [(2, 1, 1), (1, 2, 2), (2, 2, 2)])
def test_unpadded_connections_of_strided_and_dilated_convs_by_brute_force(stride, padding, dilation):
    conv = nn.Conv2d(2, 3, 3, stride=stride, padding=padding, dilation=dilation)
    (row,) = count_layers(nn.Sequential(conv), (2, 7, 6))
    assert row.connections_unpadded == _conv_taps(7, 3, stride, padding, dilation) * _conv_taps(6, 3, stride, padding, dilation) * 2 * 3
    tconv = nn.ConvTranspose2d(2, 3, 3, stride=stride, padding=padding, dilation=dilation, output_padding=stride - 1)
    (row,) = count_layers(nn.Sequential(tconv), (2, 7, 6))
    taps = _tconv_taps(7, 3, stride, padding, dilation, stride - 1) * _tconv_taps(6, 3, stride, padding, dilation, stride - 1)
    assert row.connections_unpadded == taps * 2 * 3


def test_grouped_convs_connect_each_channel_to_its_group_only():
    conv, tconv = nn.Conv2d(4, 6, 3, padding=1, groups=2), nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2)
    (row,) = count_layers(nn.Sequential(conv), (4, 5, 5))
    assert row.connections_unpadded == _conv_taps(5, 3, 1, 1, 1) ** 2 * 4 * 3  # every input channel feeds Cout/groups = 3
    (row,) = count_layers(nn.Sequential(tconv), (4, 5, 5))
    assert row.weights == tconv.weight.numel() == 4 * 3 * 9
    assert row.connections == 4 * 25 * 3 * 9  # input elements * Cout/groups * k * k
    assert row.connections_unpadded == _tconv_taps(5, 3, 2, 1, 1, 0) ** 2 * 4 * 3


def test_a_non_square_kernel_counts_its_own_taps():
    (row,) = count_layers(nn.Sequential(nn.Conv2d(2, 3, (1, 3), padding=(0, 1))), (2, 4, 5))
    assert (row.weights, row.outputs, row.connections) == (2 * 3 * 3, 3 * 20, 3 * 20 * 2 * 3)


def test_pools_norms_and_activations_of_other_kinds():
    layers = nn.Sequential(nn.Conv2d(2, 2, 1), nn.AvgPool2d(2), nn.MaxPool2d((1, 3)), nn.BatchNorm2d(2, affine=False), nn.LeakyReLU(),
                           nn.Sigmoid(), nn.Tanh(), nn.Dropout())
    _, avg, tall, bn, *elementwise, drop = count_layers(layers, (2, 6, 12))
    assert (avg.kind, avg.outputs, avg.connections, avg.connections_unpadded) == ("pool", 2 * 3 * 6, 4 * 36, 4 * 36)
    assert (tall.kind, tall.outputs, tall.connections) == ("pool", 2 * 3 * 2, 3 * 12)  # a (1, 3) window: 3 inputs each
    assert (bn.kind, bn.weights) == ("norm", 0)  # no scales to learn
    assert [r.kind for r in elementwise] == ["activation"] * 3
    for row in (bn, *elementwise, drop):
        assert (row.weights, row.connections, row.connections_unpadded) == (0, 12, 12)  # one per output
    assert drop.kind == "other"


@pytest.mark.parametrize("mode,per_output", [("nearest", 1), ("nearest-exact", 1), ("bilinear", 4), ("bicubic", 16)])
def test_upsample_connections_are_the_inputs_each_output_reads(mode, per_output):
    """nearest-exact copies one input like nearest; bicubic reads a 4x4 neighbourhood (both were counted as four)."""
    (row,) = count_layers(nn.Sequential(nn.Conv2d(2, 2, 1), nn.Upsample(scale_factor=2, mode=mode)), (2, 3, 4))[1:]
    assert (row.kind, row.outputs, row.connections) == ("upsample", 2 * 6 * 8, per_output * 2 * 6 * 8)
