"""Palette: seeded k-means, nearest-colour labels against an independent numpy brute force, palette files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_colourize_fixtures import one_thread, synthetic_images  # noqa: F401 (fixture)

from colourize.palette import colours_of, fit_palette, fit_palette_cached, load_palette, nearest_colour
from workbench.errors import DataError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.from_numpy(synthetic_images(40, 3)).permute(0, 3, 1, 2).contiguous()  # (40, 3, 32, 32) uint8


def brute_force_labels(images_u8: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Nearest colour in float64, one pixel at a time through numpy's norm (independent of the torch code)."""
    x = images_u8.astype(np.float64) / 256.0  # (N, 3, H, W)
    d = np.linalg.norm(x[None] - palette.astype(np.float64)[:, None, :, None, None], axis=2)  # (K, N, H, W)
    return d.argmin(axis=0)


def test_kmeans_is_deterministic_for_a_seed(images):
    a, b, c = fit_palette(images, 8, seed=0, pixels=5000), fit_palette(images, 8, seed=0, pixels=5000), \
        fit_palette(images, 8, seed=1, pixels=5000)
    assert a.shape == (8, 3) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert 0 <= a.min() and a.max() < 1


def test_kmeans_finds_well_separated_clusters():
    colours = torch.tensor([[10, 10, 10], [200, 30, 30], [30, 200, 30], [30, 30, 200]], dtype=torch.uint8)
    pixels = colours[torch.arange(400) % 4].T.reshape(1, 3, 20, 20)  # four exact colours
    got = fit_palette(pixels, 4, seed=0, pixels=400)
    assert sorted(map(tuple, (got * 256).round().int().tolist())) == sorted(map(tuple, colours.int().tolist()))


def test_kmeans_plus_plus_finds_small_far_clusters():
    """k-means++ starts at colours far from those chosen (a uniform start mostly lands in the big cluster)."""
    g = torch.Generator().manual_seed(0)
    grey = 128 + torch.randint(-10, 11, (300, 3), generator=g)
    red, blue = torch.tensor([[250, 10, 10]] * 10), torch.tensor([[10, 10, 250]] * 10)
    pixels = torch.cat([grey, red, blue]).to(torch.uint8).T.reshape(1, 3, 1, 320)
    for seed in range(10):
        got = (fit_palette(pixels, 3, seed=seed, pixels=320) * 256).round().int().tolist()
        assert [250, 10, 10] in got and [10, 10, 250] in got, seed


def test_fewer_distinct_colours_than_k_is_refused_saying_how_many_there_are():
    """k-means repeated a colour to make up k (a repeated colour's label is never predicted); it says how many
    distinct colours there are and what to do instead."""
    colours = torch.tensor([[200, 30, 30], [30, 200, 30], [30, 30, 200]], dtype=torch.uint8)
    pixels = colours[torch.arange(300) % 3].T.reshape(1, 3, 10, 30)
    with pytest.raises(DataError) as err:
        fit_palette(pixels, 4, seed=0, pixels=300)
    assert "3 distinct colours" in err.value.message and "4" in err.value.message and "300" in err.value.message
    assert "--num-colours 3" in err.value.fix and "--palette" in err.value.fix
    got = fit_palette(pixels, 3, seed=0, pixels=300)  # as many colours as there are: each found once
    assert sorted(map(tuple, (got * 256).round().int().tolist())) == sorted(map(tuple, colours.int().tolist()))


def test_the_distinct_colours_counted_are_those_of_the_sample_k_means_sees():
    """Many pixels of one colour and a few of others: a 50-pixel sample holds fewer colours than the image."""
    flat = torch.cat([torch.full((990, 3), 90), torch.arange(10).unsqueeze(1).repeat(1, 3) * 20]).to(torch.uint8)
    pixels = flat.T.reshape(1, 3, 10, 100)
    g = torch.Generator().manual_seed(0)
    sample = flat[torch.randperm(1000, generator=g)[:50]]
    n = len(torch.unique(sample, dim=0))
    assert n < 8
    with pytest.raises(DataError, match=f"only {n} distinct colours? among the 50 training pixels sampled"):
        fit_palette(pixels, 8, seed=0, pixels=50)
    assert len(fit_palette(pixels, 8, seed=0, pixels=1000).unique(dim=0)) == 8  # all 11 colours seen


def test_kmeans_needs_at_least_k_pixels():
    pixels = torch.arange(12, dtype=torch.uint8).reshape(1, 3, 2, 2) * 20  # 4 pixels, 4 colours
    with pytest.raises(DataError, match="k-means needs at least 8 pixels, got 4") as err:
        fit_palette(pixels, 8)
    assert "--num-colours 4" in err.value.fix
    assert len(fit_palette(pixels, 4).unique(dim=0)) == 4  # the count it suggests fits


def test_data_of_one_colour_is_not_told_to_fit_one_colour():
    """--num-colours takes 2 or more: one colour gets no --num-colours fix, nor a palette file (its second colour
    would never be predicted)."""
    with pytest.raises(DataError, match="only 1 distinct colour ") as err:
        fit_palette(torch.zeros((1, 3, 4, 4), dtype=torch.uint8), 2)
    assert "--num-colours" not in err.value.fix and "more varied images" in err.value.fix


def test_kmeans_is_a_local_optimum(images):
    """Each centre is the mean of the pixels nearest to it (the Lloyd fixed point)."""
    pal = fit_palette(images, 6, seed=0, pixels=10**9)  # all pixels
    labels = nearest_colour(images, pal).flatten()
    x = images.permute(0, 2, 3, 1).reshape(-1, 3).double() / 256
    for k in range(6):
        assert torch.allclose(x[labels == k].mean(0).float(), pal[k], atol=1e-4)


def test_labels_match_numpy_brute_force(images):
    pal = fit_palette(images, 24, seed=0)
    got = nearest_colour(images, pal)
    want = brute_force_labels(images.numpy(), pal.numpy())
    assert got.shape == (40, 32, 32) and got.dtype == torch.long
    assert np.array_equal(got.numpy(), want)


def test_labels_random_palette_and_pixels():
    g = torch.Generator().manual_seed(5)
    imgs = torch.randint(0, 256, (7, 3, 9, 11), generator=g, dtype=torch.uint8)
    pal = torch.rand(13, 3, generator=g)
    assert np.array_equal(nearest_colour(imgs, pal).numpy(), brute_force_labels(imgs.numpy(), pal.numpy()))


def test_labels_of_a_near_tie_are_numpys_float64_ones():
    """Two colours 1e-8 apart in distance from the pixel: float32 rounding made them equal and took the first,
    the notebook's float64 numpy takes the nearer second."""
    pal = torch.tensor([[0.39501953125, 0.4990234375, 0.004150390625],
                        [0.013975814916193485, 0.13092254102230072, 0.5692701935768127]])
    imgs = torch.tensor([190, 45, 143], dtype=torch.uint8).reshape(1, 3, 1, 1).repeat(2, 1, 3, 2)
    assert brute_force_labels(imgs.numpy(), pal.numpy()).tolist() == [[[1, 1]] * 3] * 2
    assert np.array_equal(nearest_colour(imgs, pal).numpy(), brute_force_labels(imgs.numpy(), pal.numpy()))


# Pixel (11, 72, 219): float32 puts the second colour 3e-8 nearer, float64 the first 2e-8 nearer (not an exact tie).
NEAR_TIE_PAL = torch.tensor([[0.00019000160682480782, 0.6321201920509338, 0.3010239899158478],
                             [0.0006953465053811669, 0.2708801329135895, 0.19937855005264282]])


def test_labels_of_a_near_tie_that_float32_orders_the_wrong_way_are_float64_ones():
    imgs = torch.tensor([11, 72, 219], dtype=torch.uint8).reshape(1, 3, 1, 1)
    assert brute_force_labels(imgs.numpy(), NEAR_TIE_PAL.numpy()).tolist() == [[[0]]]
    assert nearest_colour(imgs, NEAR_TIE_PAL).tolist() == [[[0]]]


def test_near_ties_past_the_first_chunk_are_decided_on_their_own_pixels(monkeypatch):
    """The float64 retry takes the near-tie pixels of its chunk, not those at the same places in the first chunk."""
    import colourize.palette as palette

    monkeypatch.setattr(palette, "LABEL_CHUNK", 4)
    pixels = [[0, 69, 51]] * 5 + [[11, 72, 219]] + [[0, 69, 51]] * 2  # the near tie is pixel 1 of the second chunk
    imgs = torch.tensor(pixels, dtype=torch.uint8).T.reshape(1, 3, 1, 8)
    assert brute_force_labels(imgs.numpy(), NEAR_TIE_PAL.numpy()).tolist() == [[[1] * 5 + [0] + [1] * 2]]
    assert np.array_equal(nearest_colour(imgs, NEAR_TIE_PAL).numpy(), brute_force_labels(imgs.numpy(), NEAR_TIE_PAL.numpy()))


def test_colours_of_labels():
    pal = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.5, 0.25]])
    out = colours_of(torch.tensor([[[1, 0]]]), pal)
    assert out.shape == (1, 1, 2, 3) and out[0, 0, 0].tolist() == [1.0, 0.5, 0.25]


@pytest.mark.parametrize("shape", [(24, 3), (24, 1, 3), (1, 24, 3)])
def test_palette_file_forms(tmp_path, shape):
    rng = np.random.default_rng(0)
    pal = rng.uniform(0, 1, (24, 3)).astype(np.float32)
    np.save(tmp_path / "p.npy", pal.reshape(shape))
    got, info = load_palette(tmp_path / "p.npy")
    assert got.shape == (24, 3) and np.allclose(got.numpy(), pal)
    assert info["scale"] == "0-1" and info["k"] == 24 and len(info["sha256"]) == 64


def test_palette_file_in_0_255_is_put_on_the_data_scale(tmp_path):
    np.save(tmp_path / "p.npy", np.array([[0, 128, 255], [64, 64, 64]], dtype=np.float64))
    got, info = load_palette(tmp_path / "p.npy")
    assert info["scale"] == "0-255"
    assert got.tolist() == [[0.0, 0.5, 255 / 256], [0.25, 0.25, 0.25]]


def test_palette_file_with_white_as_1_stays_on_the_0_1_scale(tmp_path):
    np.save(tmp_path / "p.npy", np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.25, 1.0]]))  # max exactly 1
    got, info = load_palette(tmp_path / "p.npy")
    assert info["scale"] == "0-1" and got.tolist() == [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.25, 1.0]]


@pytest.mark.parametrize("bad,match", [(np.zeros((24, 4)), "has shape"), (np.zeros((1,)), "has shape"),
                                       (np.zeros((1, 3)), "has shape"), (np.full((3, 3), -0.5), "outside 0-255"),
                                       (np.full((3, 3), 300.0), "outside 0-255"), (np.full((3, 3), np.nan), "outside")])
def test_bad_palette_files(tmp_path, bad, match):
    np.save(tmp_path / "p.npy", bad)
    with pytest.raises(DataError, match=match):
        load_palette(tmp_path / "p.npy")


def test_unreadable_palette_file(tmp_path):
    (tmp_path / "p.npy").write_text("0.1 0.2 0.3\n")
    with pytest.raises(DataError, match="is not a NumPy .npy array file") as err:
        load_palette(tmp_path / "p.npy")
    assert "pickle" not in str(err.value)  # numpy's own wording would not help the user
    np.savez(tmp_path / "p.npz", colours=np.zeros((24, 3)))
    with pytest.raises(DataError, match="is not a NumPy .npy array file"):
        load_palette(tmp_path / "p.npz")
    (tmp_path / "empty.npy").write_bytes(b"")
    with pytest.raises(DataError, match="is not a NumPy .npy array file"):
        load_palette(tmp_path / "empty.npy")
    with pytest.raises(DataError, match="cannot read palette"):
        load_palette(tmp_path / "missing.npy")


def test_more_restarts_never_raise_the_inertia(images):
    x = images.permute(0, 2, 3, 1).reshape(-1, 3).double() / 256

    def inertia(pal):
        return torch.cdist(x, pal.double()).min(dim=1).values.square().sum().item()

    one, ten = fit_palette(images, 12, seed=0, pixels=8000), fit_palette(images, 12, seed=0, pixels=8000, n_init=10)
    assert torch.equal(one, fit_palette(images, 12, seed=0, pixels=8000, n_init=1))
    assert inertia(ten) <= inertia(one) + 1e-9


def test_the_palette_cache_tells_seeds_restarts_colour_counts_and_images_apart(images, tmp_path):
    """A seed sweep fits once per seed (a num-colours sweep once per K): the cache never hands one setting's palette
    to another."""
    fit_palette_cached(images, 6, 0, 2000, 1, tmp_path)
    assert torch.equal(fit_palette_cached(images, 4, 0, 2000, 1, tmp_path), fit_palette(images, 4, 0, 2000))
    assert torch.equal(fit_palette_cached(images, 6, 1, 2000, 1, tmp_path), fit_palette(images, 6, 1, 2000))
    assert torch.equal(fit_palette_cached(images, 6, 0, 2000, 3, tmp_path), fit_palette(images, 6, 0, 2000, n_init=3))
    other = 255 - images
    assert torch.equal(fit_palette_cached(other, 6, 0, 2000, 1, tmp_path), fit_palette(other, 6, 0, 2000))
    assert len(list(tmp_path.glob("palette-*"))) == 5


def test_an_empty_or_truncated_palette_cache_entry_is_refitted(images, tmp_path):
    fitted = fit_palette_cached(images, 6, 0, 2000, 1, tmp_path)
    (entry,) = tmp_path.glob("palette-*")
    whole = entry.read_bytes()
    for damaged in (b"", whole[:10], whole[:-4]):  # e.g. a file cut short when the disk filled up
        entry.write_bytes(damaged)
        assert torch.equal(fit_palette_cached(images, 6, 0, 2000, 1, tmp_path), fitted)


def test_a_palette_cache_entry_with_a_flipped_byte_is_refitted(images, tmp_path):
    fitted = fit_palette_cached(images, 6, 0, 2000, 1, tmp_path)
    (entry,) = tmp_path.glob("palette-*")
    flipped = bytearray(entry.read_bytes())
    flipped[flipped.find(fitted.numpy().tobytes()) + 3] ^= 0x40  # in a colour's float: it loads without complaint
    entry.write_bytes(bytes(flipped))
    assert torch.equal(fit_palette_cached(images, 6, 0, 2000, 1, tmp_path), fitted)


def _object_npy(path, element, protocol: int) -> None:
    """An .npy holding a pickled 1-element object array, the form of the course's palette file."""
    arr = np.empty(1, dtype=object)
    arr[0] = element
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "|O", "fortran_order": False, "shape": (1,)})
        import pickle

        pickle.dump(arr, fh, protocol=protocol)


@pytest.mark.parametrize("protocol", [2, 3])
def test_the_courses_pickled_palette_form_loads_as_the_notebook_reads_it(tmp_path, protocol):
    pal = np.random.default_rng(1).uniform(0, 1, (24, 1, 3))
    _object_npy(tmp_path / "colour_kmeans24_cat7.npy", pal, protocol)
    notebook = np.load(tmp_path / "colour_kmeans24_cat7.npy", allow_pickle=True, encoding="bytes")[0]  # the notebook's read
    got, info = load_palette(tmp_path / "colour_kmeans24_cat7.npy")
    assert got.shape == (24, 3) and info["k"] == 24
    assert np.allclose(got.numpy(), notebook.reshape(24, 3).astype(np.float32))


def test_the_courses_form_takes_the_first_of_several_elements(tmp_path):
    first, second = np.arange(12).reshape(4, 1, 3) / 16, np.arange(18).reshape(6, 1, 3) / 32  # distinct colours
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = first, second
    np.save(tmp_path / "p.npy", arr, allow_pickle=True)
    notebook = np.load(tmp_path / "p.npy", allow_pickle=True, encoding="bytes")[0]  # the notebook's read
    got, info = load_palette(tmp_path / "p.npy")
    assert info["k"] == 4 and np.array_equal(got.numpy(), notebook.reshape(4, 3).astype(np.float32))


class _RunsCode:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import os

        return os.mkdir, (str(self.path),)


def test_a_pickled_palette_cannot_run_code_or_smuggle_non_numbers(tmp_path):
    _object_npy(tmp_path / "evil.npy", _RunsCode(tmp_path / "pwned"), 3)
    with pytest.raises(DataError, match="does not hold a palette array .*posix.mkdir"):
        load_palette(tmp_path / "evil.npy")
    assert not (tmp_path / "pwned").exists()
    _object_npy(tmp_path / "words.npy", "not colours", 3)
    with pytest.raises(DataError, match="does not hold a palette array"):
        load_palette(tmp_path / "words.npy")


class _HugeArray:
    def __reduce__(self):
        return np.ndarray, ((10**7, 10**6),)  # 72 TiB if it were allocated


@pytest.mark.parametrize("element,words", [
    (_HugeArray(), "Unable to allocate"),
    ([[[0.5] * 200] * 200] * 200, "its first element is a list"),  # would expand to millions of values
    (np.zeros((300, 3)), "more than 256 colours"),
    (np.full((24, 3), "red"), "not real numbers"),
])
def test_pickled_palettes_that_would_exhaust_memory_or_hold_no_numbers_are_one_line(tmp_path, element, words):
    _object_npy(tmp_path / "p.npy", element, 3)
    with pytest.raises(DataError, match="does not hold a palette array") as err:
        load_palette(tmp_path / "p.npy")
    assert words in err.value.message


def test_odd_but_harmless_palette_forms(tmp_path):
    pal = np.random.default_rng(2).uniform(0, 1, (24, 3))
    np.save(tmp_path / "objects.npy", pal.astype(object), allow_pickle=True)  # the colours themselves as objects
    assert np.allclose(load_palette(tmp_path / "objects.npy")[0].numpy(), pal.astype(np.float32))
    np.save(tmp_path / "complex.npy", pal + 1j)
    with pytest.raises(DataError, match="holds complex128 values"):
        load_palette(tmp_path / "complex.npy")


def test_k_means_on_exactly_k_pixels_and_on_a_sample_of_exactly_pixels():
    """k pixels are enough for k colours; a sample of `pixels` holds that many (not one fewer)."""
    colours = torch.tensor([[10, 10, 10], [200, 30, 30], [30, 200, 30], [30, 30, 200]], dtype=torch.uint8)
    got = fit_palette(colours.T.reshape(1, 3, 2, 2), 4, seed=0, pixels=4)
    assert sorted(map(tuple, (got * 256).round().int().tolist())) == sorted(map(tuple, colours.int().tolist()))
    distinct = torch.arange(27).reshape(1, 3, 3, 3).to(torch.uint8) * 9  # 9 pixels, all of different colours
    got = (fit_palette(distinct, 4, seed=0, pixels=4) * 256).round().int()
    assert len(set(map(tuple, got.tolist()))) == 4  # four sampled pixels, each its own cluster


def test_restarts_run_lloyd_n_init_times_and_keep_the_lowest_inertia(images, monkeypatch):
    """n_init runs, the winner's inertia being the k-means objective (sum of squared distances to the nearest centre)."""
    import colourize.palette as palette

    runs, lloyd = [], palette._lloyd
    monkeypatch.setattr(palette, "_lloyd", lambda *a: runs.append(lloyd(*a)) or runs[-1])
    got = fit_palette(images, 5, seed=0, pixels=3000, n_init=4)
    assert len(runs) == 4
    x = images.permute(0, 2, 3, 1).reshape(-1, 3)[torch.randperm(40 * 32 * 32, generator=torch.Generator().manual_seed(0))[:3000]]
    x = x.double() / 256
    for centres, inertia in runs:
        assert inertia == pytest.approx(float(((x[:, None] - centres[None]) ** 2).sum(2).min(1).values.sum()), rel=1e-9)
    assert torch.equal(got, min(runs, key=lambda r: r[1])[0].float())
    assert len({r[1] for r in runs}) > 1  # the restarts differ, so the choice is a real one


def test_kmeans_plus_plus_never_picks_a_chosen_colour_twice_while_others_remain():
    from colourize.palette import _kmeans_pp

    x = torch.tensor([[0.0, 0, 0], [0.1, 0, 0], [0.5, 0.5, 0], [0, 0, 0.9], [0.3, 0.3, 0.3]], dtype=torch.float64)
    for seed in range(20):
        centres = _kmeans_pp(x, 5, torch.Generator().manual_seed(seed))
        assert len(set(map(tuple, centres.tolist()))) == 5, seed


def test_the_palette_cache_tells_pixels_iterations_and_image_shapes_apart(images, tmp_path):
    fit_palette_cached(images, 6, 0, 2000, 1, tmp_path)
    assert torch.equal(fit_palette_cached(images, 6, 0, 3000, 1, tmp_path), fit_palette(images, 6, 0, 3000))
    one_step = fit_palette(images, 6, 0, 2000, iterations=1)
    assert not torch.equal(one_step, fit_palette(images, 6, 0, 2000))
    assert torch.equal(fit_palette_cached(images, 6, 0, 2000, 1, tmp_path, iterations=1), one_step)
    reshaped = images.reshape(20, 3, 64, 32)  # the same bytes, other pixels
    assert torch.equal(fit_palette_cached(reshaped, 6, 0, 2000, 1, tmp_path), fit_palette(reshaped, 6, 0, 2000))


@pytest.mark.parametrize("bad,match", [(np.zeros((4, 2, 3)), "has shape"), (np.zeros((257, 3)), "has shape"),
                                       (np.full((3, 3), 255.5), "outside 0-255"), (np.ones((3, 3), dtype=bool), "holds bool")])
def test_more_bad_palette_files(tmp_path, bad, match):
    """(K, 1, 3) and (1, K, 3) are the course's forms, not any 3-d array; 256 colours at most; 255 the brightest."""
    np.save(tmp_path / "p.npy", bad)
    with pytest.raises(DataError, match=match):
        load_palette(tmp_path / "p.npy")


def test_256_colours_load_plain_and_pickled(tmp_path):
    pal = np.random.default_rng(3).uniform(0, 1, (256, 3))
    np.save(tmp_path / "plain.npy", pal)
    _object_npy(tmp_path / "course.npy", pal.reshape(256, 1, 3), 3)
    for name in ("plain.npy", "course.npy"):
        got, info = load_palette(tmp_path / name)
        assert info["k"] == 256 and np.allclose(got.numpy(), pal.astype(np.float32))


def test_a_zero_dimensional_object_array_holding_the_palette_loads(tmp_path):
    pal = np.random.default_rng(4).uniform(0, 1, (5, 3))
    arr = np.empty((), dtype=object)
    arr[()] = pal
    np.save(tmp_path / "p.npy", arr, allow_pickle=True)
    assert np.allclose(load_palette(tmp_path / "p.npy")[0].numpy(), pal.astype(np.float32))


def test_unreadable_palettes_of_other_kinds_are_one_line(tmp_path):
    import pickle

    with pytest.raises(DataError, match="cannot read palette"):
        load_palette(tmp_path)  # a folder: IsADirectoryError (or PermissionError on Windows), not a traceback
    np.save(tmp_path / "cut.npy", np.zeros((24, 3)))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "cut.npy").read_bytes()[:-8])  # a plain array cut short
    with pytest.raises(DataError, match="is not a NumPy .npy array file"):
        load_palette(tmp_path / "cut.npy")
    arr = np.empty(1, dtype=object)
    arr[0] = np.zeros((4, 3))
    with open(tmp_path / "v3.npy", "wb") as fh:
        np.lib.format.write_array_header_2_0(fh, {"descr": "|O", "fortran_order": False, "shape": (1,)})
        pickle.dump(arr, fh, protocol=3)
    v3 = bytearray((tmp_path / "v3.npy").read_bytes())
    v3[6] = 3  # format 3.0 (2.0's layout, UTF-8 names), which this reader does not know
    (tmp_path / "v3.npy").write_bytes(bytes(v3))
    with pytest.raises(DataError, match=r"does not hold a palette array \(.npy format 3.0"):
        load_palette(tmp_path / "v3.npy")


@pytest.mark.parametrize("second", [[120.0, 120.0, 120.0],  # the same row twice
                                    [120.0, 120.0 + 1e-5, 120.0]])  # equal but for float rounding (0-255 file)
def test_a_palette_file_with_a_colour_twice_is_refused_naming_the_rows(tmp_path, second):
    """Nearest-colour takes the first of two equal colours, so the second's label could never be reached and
    accuracy and loss would mean something else than the file's K colours."""
    colours = np.array([[20, 20, 20], [120, 120, 120], [230, 230, 230], second, [80, 120, 200]], dtype=np.float64)
    np.save(tmp_path / "p.npy", colours)
    got = nearest_colour(torch.full((1, 3, 1, 1), 120, dtype=torch.uint8), torch.from_numpy(colours / 256).float())
    assert got.item() == 1  # the independent fact the refusal rests on: row 3 loses every tie to row 1
    with pytest.raises(DataError) as err:
        load_palette(tmp_path / "p.npy")
    assert "rows 1 and 3" in err.value.message and "(120, 120, 120)" in err.value.message
    assert "\n" not in str(err.value) and "distinct" in err.value.fix


def test_a_palette_file_of_close_but_distinct_colours_loads(tmp_path):
    """One pixel step (1/256) apart is two colours a pixel can tell apart: both labels are reachable."""
    colours = np.array([[120, 120, 120], [121, 120, 120], [20, 20, 20]], dtype=np.float64)
    np.save(tmp_path / "p.npy", colours)
    got, info = load_palette(tmp_path / "p.npy")
    assert info["k"] == 3
    pixels = torch.tensor([[120, 121], [120, 120], [120, 120]], dtype=torch.uint8).reshape(1, 3, 1, 2)
    assert nearest_colour(pixels, got).flatten().tolist() == [0, 1]
