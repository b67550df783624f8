"""Every data source on tiny fixtures: category selection, scaling, shuffling, caching, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_colourize_fixtures import (make_archive, make_cifar_batches, make_image_folder, one_thread,  # noqa: F401
                                     synthetic_images)

from colourize import data as cdata
from workbench.errors import DataError, UsageError

pytestmark = pytest.mark.usefixtures("one_thread")


def _expected_horses(batches_seed=0, horses=4, others=3):
    """Horses of the five training batches and the test batch, in file order, as (N, 3, 32, 32)."""
    parts = [synthetic_images(horses + others, batches_seed + k)[:horses] for k in range(6)]
    to_chw = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2)  # noqa: E731
    return to_chw(np.concatenate(parts[:5])), to_chw(parts[5])


def test_batches_folder(tmp_path):
    folder = make_cifar_batches(tmp_path / "d")
    for path in (folder, folder.parent):  # the folder itself or its parent
        ds = cdata.load_category(path, "horse", cache_dir=tmp_path / "cache")
        train, test = _expected_horses()
        assert ds.source.kind == "batches" and ds.category == 7
        assert ds.train.dtype == torch.uint8 and ds.train.shape == (20, 3, 32, 32)
        assert torch.equal(ds.train, train) and torch.equal(ds.test, test)


def test_a_data_path_starting_with_a_tilde_is_under_home(tmp_path, monkeypatch):
    """`--data=~/cifar` reaches the program unexpanded (the shell expands ~ only at the start of a word)."""
    make_cifar_batches(tmp_path / "home" / "d")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    ds = cdata.load_category("~/d", "horse", cache_dir=tmp_path / "cache")
    assert ds.source.path == tmp_path / "home" / "d" / cdata.BATCHES and torch.equal(ds.train, _expected_horses()[0])


def test_archive_gives_the_same_images(tmp_path):
    archive = make_archive(tmp_path / "a")
    for path in (archive, archive.parent):
        ds = cdata.load_category(path, 7, cache_dir=tmp_path / "cache")
        train, test = _expected_horses()
        assert ds.source.kind == "archive" and ds.source.path == archive
        assert torch.equal(ds.train, train) and torch.equal(ds.test, test)
    tgz = archive.rename(archive.parent / "cifar-10-python.tgz")  # the short suffix names the same archive
    ds = cdata.load_category(tgz, 7, cache_dir=tmp_path / "cache")
    assert ds.source.kind == "archive" and torch.equal(ds.train, train)


def test_the_archive_gunzipped_gives_the_same_images(tmp_path):
    import gzip

    archive = make_archive(tmp_path / "a")
    tar = tmp_path / "cifar-10-python.tar"  # `gunzip cifar-10-python.tar.gz`, or a browser that unpacked the gzip
    tar.write_bytes(gzip.decompress(archive.read_bytes()))
    plain_named_tgz = tmp_path / "b" / cdata.ARCHIVE  # the same, still named .tar.gz
    plain_named_tgz.parent.mkdir()
    plain_named_tgz.write_bytes(tar.read_bytes())
    train, test = _expected_horses()
    for path in (tar, plain_named_tgz):
        ds = cdata.load_category(path, 7, cache_dir=tmp_path / "cache")
        assert ds.source.kind == "archive" and torch.equal(ds.train, train) and torch.equal(ds.test, test)


def test_an_archive_made_with_dot_slash_names_gives_the_same_images(tmp_path):
    import tarfile

    folder = make_cifar_batches(tmp_path / "src")
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:  # as `tar czf cifar-10-python.tar.gz ./cifar-10-batches-py` names them
        tar.add(folder, arcname="./cifar-10-batches-py")
    ds = cdata.load_category(archive, 7, cache_dir=tmp_path / "cache")
    train, test = _expected_horses()
    assert torch.equal(ds.train, train) and torch.equal(ds.test, test)


def test_other_category_by_label(tmp_path):
    # the fixture's other labels are (k + j) % 7 in batch k: label 0 is image 4 of data_batch_1 and image 6 of test
    ds = cdata.load_category(make_cifar_batches(tmp_path / "d"), 0, cache_dir=tmp_path / "cache")
    assert ds.train.shape == (1, 3, 32, 32) and ds.test.shape == (1, 3, 32, 32)
    assert torch.equal(ds.train[0], torch.from_numpy(synthetic_images(7, 0)[4]).permute(2, 0, 1))
    assert torch.equal(ds.test[0], torch.from_numpy(synthetic_images(7, 5)[6]).permute(2, 0, 1))


def test_image_folder_png_and_jpeg(tmp_path):
    png = make_image_folder(tmp_path / "png", n_train=6, n_test=3, suffix=".png")
    ds = cdata.load_category(png, "horse", cache_dir=tmp_path / "cache")
    assert ds.source.kind == "folder" and ds.train.shape == (6, 3, 32, 32) and ds.test.shape == (3, 3, 32, 32)
    assert torch.equal(ds.train, torch.from_numpy(synthetic_images(6, 0)).permute(0, 3, 1, 2))  # PNG is lossless
    jpg = make_image_folder(tmp_path / "jpg", n_train=4, n_test=2, suffix=".jpg")
    ds = cdata.load_category(jpg, "7", cache_dir=tmp_path / "cache")
    assert ds.train.shape == (4, 3, 32, 32)
    assert (ds.train.float() - torch.from_numpy(synthetic_images(4, 0)).permute(0, 3, 1, 2).float()).abs().mean() < 10  # lossy


def test_image_folder_suffixes_in_capitals(tmp_path):
    folder = make_image_folder(tmp_path / "f", n_train=3, n_test=2)
    for f in list(folder.rglob("*.png")):
        f.rename(f.with_suffix(".PNG"))
    ds = cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    assert torch.equal(ds.train, torch.from_numpy(synthetic_images(3, 0)).permute(0, 3, 1, 2))


def test_hidden_files_and_macos_appledouble_files_in_an_image_folder_are_ignored(tmp_path):
    folder = make_image_folder(tmp_path / "f", n_train=3, n_test=2)
    horses = folder / "train" / "horse"
    (horses / "._0001.png").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")  # copied from a Mac
    (horses / ".0002.png").write_bytes(b"")
    (horses / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    ds = cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    assert torch.equal(ds.train, torch.from_numpy(synthetic_images(3, 0)).permute(0, 3, 1, 2))


def test_greyscale_palette_alpha_and_16_bit_pngs_decode_to_their_rgb_pixels(tmp_path):
    from PIL import Image

    folder = make_image_folder(tmp_path / "f", n_train=1, n_test=1)
    rgb = synthetic_images(1, 5)[0]
    grey = np.asarray(Image.fromarray(rgb).convert("L"))
    horses = folder / "train" / "horse"
    Image.fromarray(grey).save(horses / "1-grey.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(horses / "2-grey16.png")  # 16-bit greyscale PNG
    Image.fromarray(rgb).convert("RGBA").save(horses / "3-rgba.png")
    Image.fromarray(rgb).convert("P").save(horses / "4-palette.png")
    ds = cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    got = ds.train.permute(0, 2, 3, 1).numpy()  # in file order: 0000.png, then the four above
    assert np.array_equal(got[1], np.repeat(grey[..., None], 3, -1)) and np.array_equal(got[2], got[1])
    assert np.array_equal(got[3], rgb)
    assert np.array_equal(got[4], np.asarray(Image.open(horses / "4-palette.png").convert("RGB")))


def test_a_broken_link_in_an_image_folder_is_one_line_naming_it(tmp_path):
    folder = make_image_folder(tmp_path / "f", n_train=3, n_test=2)
    link = folder / "train" / "horse" / "0009.png"
    link.symlink_to(tmp_path / "moved-away.png")
    with pytest.raises(DataError, match="a broken link") as err:
        cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    assert str(link) in err.value.message and "remove" in err.value.fix


def test_an_image_whose_header_claims_a_huge_size_is_one_line_naming_it(tmp_path):
    import io
    import struct

    from PIL import Image

    folder = make_image_folder(tmp_path / "f", n_train=3, n_test=2)
    buf = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buf, "BMP")
    bmp = bytearray(buf.getvalue())
    struct.pack_into("<ii", bmp, 18, 20000, 20000)  # a damaged header: width and height 20000
    bad = folder / "train" / "horse" / "0000.bmp"  # the first file, whose header preflight reads
    bad.write_bytes(bytes(bmp))
    source = cdata.find_source(folder)
    assert cdata.image_size(source, 7) is None
    with pytest.raises(DataError, match="cannot decode image") as err:
        cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    assert str(bad) in err.value.message


def test_every_image_that_cannot_be_decoded_is_named_in_one_line(tmp_path):
    folder = make_image_folder(tmp_path / "f", n_train=4, n_test=2, suffix=".jpg")
    for name in ("train/horse/0001.jpg", "train/horse/0003.jpg", "test/horse/0000.jpg"):
        jpeg = folder / name
        jpeg.write_bytes(jpeg.read_bytes()[:300])  # cut short, as by an interrupted copy
    (folder / "train" / "horse" / "0009.png").write_bytes(b"")
    with pytest.raises(DataError, match="cannot decode image") as err:
        cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    assert str(folder / "train" / "horse" / "0001.jpg") in err.value.message
    assert err.value.message.endswith(" and 3 more (train/horse/0003.jpg, train/horse/0009.png, test/horse/0000.jpg)")
    assert err.value.fix == "remove or replace the files"


def test_past_six_undecodable_images_five_more_are_named_then_dots(tmp_path):
    folder = make_image_folder(tmp_path / "f", n_train=3, n_test=2)
    for i in range(7):  # 7 bad: the first in full, 5 more, then ', ...' for the seventh
        (folder / "train" / "horse" / f"bad{i}.png").write_bytes(b"")
    with pytest.raises(DataError, match="cannot decode image") as err:
        cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    assert str(folder / "train" / "horse" / "bad0.png") in err.value.message
    assert err.value.message.endswith(" and 6 more (train/horse/bad1.png, train/horse/bad2.png, train/horse/bad3.png, "
                                      "train/horse/bad4.png, train/horse/bad5.png, ...)")


def test_six_undecodable_images_are_named_all_without_dots(tmp_path):
    folder = make_image_folder(tmp_path / "f", n_train=3, n_test=2)
    for i in range(6):  # the first in full and 5 more: every one named, so no ', ...'
        (folder / "train" / "horse" / f"bad{i}.png").write_bytes(b"")
    with pytest.raises(DataError, match="cannot decode image") as err:
        cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    assert err.value.message.endswith(" and 5 more (train/horse/bad1.png, train/horse/bad2.png, train/horse/bad3.png, "
                                      "train/horse/bad4.png, train/horse/bad5.png)")


def test_an_undecodable_image_among_mixed_sizes_is_named_not_the_sizes(tmp_path):
    from PIL import Image

    folder = make_image_folder(tmp_path / "f", n_train=3, n_test=2)
    (folder / "train" / "horse" / "0005.png").write_bytes(b"")  # skipped: the sizes left would not line up with files
    Image.new("RGB", (16, 16)).save(folder / "train" / "horse" / "0009.png")
    with pytest.raises(DataError, match="cannot decode image") as err:
        cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    assert str(folder / "train" / "horse" / "0005.png") in err.value.message and "mixes" not in err.value.message


def test_file_and_folder_names_that_are_not_utf8_load(tmp_path):
    import os
    import shutil

    folder = make_image_folder(tmp_path / "f", n_train=2, n_test=1)
    root = os.fsencode(tmp_path) + b"/data-\xff"  # as unzip leaves names a zip from another system encoded otherwise
    shutil.copytree(os.fsencode(folder), root)
    os.rename(root + b"/train/horse/0001.png", root + b"/train/horse/caf\xe9.png")
    ds = cdata.load_category(os.fsdecode(root), "horse", cache_dir=tmp_path / "cache")
    assert torch.equal(ds.train, torch.from_numpy(synthetic_images(2, 0)).permute(0, 3, 1, 2))  # 0000.png, then caf?.png


def test_image_folder_of_two_sizes_is_one_line(tmp_path):
    from PIL import Image

    folder = make_image_folder(tmp_path / "f", n_train=3, n_test=2)
    Image.new("RGB", (16, 16)).save(folder / "train" / "horse" / "0009.png")
    Image.new("RGB", (64, 48)).save(folder / "train" / "horse" / "0010.png")
    with pytest.raises(DataError, match="horse mixes image sizes") as err:
        cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    assert "resize" in err.value.fix
    assert err.value.message.endswith(": 2 not 32x32 (0009.png, 0010.png)")  # which files to look at


def test_mixed_sizes_give_the_common_size_as_width_x_height_and_past_five_strays_dots(tmp_path):
    from PIL import Image

    folder = make_image_folder(tmp_path / "f", n_train=0, n_test=2)
    horses = folder / "train" / "horse"
    for i in range(7):
        Image.new("RGB", (64, 48)).save(horses / f"a{i}.png")  # 64 wide, 48 high: the common size
    for i in range(6):
        Image.new("RGB", (32, 32)).save(horses / f"b{i}.png")
    with pytest.raises(DataError, match="horse mixes image sizes") as err:
        cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    assert err.value.message.endswith(": 6 not 64x48 (b0.png, b1.png, b2.png, b3.png, b4.png, ...)")
    assert "mixes image sizes 32x32, 64x48:" in err.value.message  # the sizes too, not numpy's (48, 64, 3)


def test_decoded_once_then_cached(tmp_path, monkeypatch):
    folder = make_image_folder(tmp_path / "f")
    first = cdata.load_category(folder, 7, cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("folder-7-*.pt"))) == 1
    monkeypatch.setitem(cdata._DECODERS, "folder", lambda *a: pytest.fail("decoded again"))
    again = cdata.load_category(folder, 7, cache_dir=tmp_path / "cache")
    assert torch.equal(first.train, again.train)
    (folder / "train" / "horse" / "0000.png").unlink()  # a changed source is decoded afresh
    monkeypatch.undo()
    assert len(cdata.load_category(folder, 7, cache_dir=tmp_path / "cache").train) == 5


def test_a_cache_that_does_not_fit_on_the_disk_is_skipped(tmp_path, file_size_limit):
    """A full disk (here: a file size limit) while saving the cache was torch's RuntimeError traceback; the images
    are loaded all the same, no part of the cache is left, and the next load with space writes it."""
    folder = make_image_folder(tmp_path / "f", n_train=40, n_test=10)
    file_size_limit(8192)
    ds = cdata.load_category(folder, 7, cache_dir=tmp_path / "cache")
    file_size_limit(None)
    assert len(ds.train) == 40 and not (tmp_path / "cache").exists()  # the folder the failed save made goes too
    again = cdata.load_category(folder, 7, cache_dir=tmp_path / "cache")
    assert torch.equal(ds.train, again.train) and len(list((tmp_path / "cache").glob("folder-7-*.pt"))) == 1


def test_a_batch_rewritten_at_the_same_size_is_decoded_afresh(tmp_path):
    import os

    folder = make_cifar_batches(tmp_path / "d")
    first = cdata.load_category(folder, 7, cache_dir=tmp_path / "cache")
    other = make_cifar_batches(tmp_path / "other", seed=10)  # other pixels, same shapes: every file the same size
    for name in (*cdata.TRAIN_BATCHES, cdata.TEST_BATCH):
        assert (other / name).stat().st_size == (folder / name).stat().st_size
        st = (folder / name).stat()
        (folder / name).write_bytes((other / name).read_bytes())
        os.utime(folder / name, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    again = cdata.load_category(folder, 7, cache_dir=tmp_path / "cache")
    assert torch.equal(again.train, _expected_horses(batches_seed=10)[0]) and not torch.equal(again.train, first.train)


def test_an_archive_replaced_at_the_same_path_is_decoded_afresh(tmp_path):
    archive = make_archive(tmp_path / "a")
    cdata.load_category(archive, 7, cache_dir=tmp_path / "cache")
    archive.write_bytes(make_archive(tmp_path / "other", seed=10).read_bytes())  # e.g. a fresh download over it
    again = cdata.load_category(archive, 7, cache_dir=tmp_path / "cache")
    assert torch.equal(again.train, _expected_horses(batches_seed=10)[0])


def test_two_copies_alike_but_for_their_pixels_in_other_places_are_not_mixed_up(tmp_path):
    """Same folder name, file sizes and mtimes (as a tar extraction keeps them): only the path tells them apart."""
    import os

    one, two = make_cifar_batches(tmp_path / "one"), make_cifar_batches(tmp_path / "two", seed=10)
    for name in (*cdata.TRAIN_BATCHES, cdata.TEST_BATCH):
        assert (one / name).stat().st_size == (two / name).stat().st_size
        os.utime(two / name, ns=(0, (one / name).stat().st_mtime_ns))
    assert torch.equal(cdata.load_category(one, 7, cache_dir=tmp_path / "cache").train, _expected_horses()[0])
    got = cdata.load_category(two, 7, cache_dir=tmp_path / "cache").train
    assert torch.equal(got, _expected_horses(batches_seed=10)[0])


def test_an_image_moved_to_the_other_split_is_decoded_afresh(tmp_path):
    # numbered across the splits, train 0000-0005 and test 0006-0008: moving 0005 keeps the files' order
    folder = make_image_folder(tmp_path / "f")
    for i in range(3):
        (folder / "test" / "horse" / f"{i:04d}.png").rename(folder / "test" / "horse" / f"{i + 6:04d}.png")
    assert len(cdata.load_category(folder, 7, cache_dir=tmp_path / "cache").train) == 6
    (folder / "train" / "horse" / "0005.png").rename(folder / "test" / "horse" / "0005.png")
    ds = cdata.load_category(folder, 7, cache_dir=tmp_path / "cache")
    assert len(ds.train) == 5 and len(ds.test) == 4


def test_a_damaged_cache_is_decoded_afresh(tmp_path):
    folder = make_image_folder(tmp_path / "f", suffix=".png")
    first = cdata.load_category(folder, 7, cache_dir=tmp_path / "cache")
    (entry,) = (tmp_path / "cache").glob("folder-7-*.pt")
    whole = entry.read_bytes()
    flipped = bytearray(whole)
    flipped[len(whole) // 2] ^= 0xFF  # in the pixels: torch.load reads it without complaint
    for damaged in (b"", whole[: len(whole) // 2], bytes(flipped)):
        entry.write_bytes(damaged)
        again = cdata.load_category(folder, 7, cache_dir=tmp_path / "cache")
        assert torch.equal(again.train, first.train) and torch.equal(again.test, first.test)
        assert cdata.load_cache(entry, ("train", "test")) is not None  # and the cache is mended


def test_shuffle_is_seeded_and_a_permutation(tmp_path):
    ds = cdata.load_category(make_cifar_batches(tmp_path / "d"), 7, cache_dir=tmp_path / "cache")
    a, b, c = cdata.shuffled(ds, 0), cdata.shuffled(ds, 0), cdata.shuffled(ds, 1)
    assert torch.equal(a.train, b.train) and not torch.equal(a.train, c.train)
    assert sorted(map(bytes, a.train.flatten(1).numpy())) == sorted(map(bytes, ds.train.flatten(1).numpy()))


def test_shuffle_draws_the_training_then_the_test_permutation_from_one_stream(tmp_path):
    ds = cdata.load_category(make_cifar_batches(tmp_path / "d", horses_per_batch=10), 7, cache_dir=tmp_path / "cache")
    g = torch.Generator().manual_seed(3)
    train_order, test_order = torch.randperm(50, generator=g), torch.randperm(10, generator=g)
    got = cdata.shuffled(ds, 3)
    assert torch.equal(got.train, ds.train[train_order]) and torch.equal(got.test, ds.test[test_order])
    assert not torch.equal(got.test, ds.test)


def test_scaling_like_the_notebook():
    images = torch.tensor([[[[0]], [[128]], [[255]]]], dtype=torch.uint8)  # (1, 3, 1, 1)
    rgb, grey = cdata.to_inputs(images)
    assert rgb.flatten().tolist() == [0.0, 0.5, 255 / 256]
    assert grey.shape == (1, 1, 1, 1) and grey.item() == pytest.approx((0.5 + 255 / 256) / 3)


def test_missing_path(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        cdata.load_category(tmp_path / "nope", cache_dir=tmp_path / "cache")


def test_a_zip_file_says_to_unzip_it(tmp_path):
    import pathlib
    import shutil

    folder = make_image_folder(tmp_path / "f", n_train=1, n_test=1)
    archive = shutil.make_archive(str(tmp_path / "archive"), "zip", folder)  # as Kaggle's download comes
    with pytest.raises(DataError, match="is a zip file") as err:
        cdata.load_category(archive, cache_dir=tmp_path / "cache")
    assert err.value.fix.startswith("unzip it and pass the folder")
    upper = tmp_path / "ARCHIVE.ZIP"  # as a Windows download may name it
    upper.write_bytes(pathlib.Path(archive).read_bytes())
    with pytest.raises(DataError, match="is a zip file"):
        cdata.load_category(upper, cache_dir=tmp_path / "cache")


def test_empty_folder_says_what_it_expected(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no CIFAR-10 data") as err:
        cdata.load_category(tmp_path / "empty", cache_dir=tmp_path / "cache")
    assert "--data" in err.value.fix


def test_a_folder_one_level_above_the_data_names_its_folders(tmp_path):
    make_image_folder(tmp_path / "unzipped" / "cifar10")  # a zip's top folder, with macOS's __MACOSX beside it
    (tmp_path / "unzipped" / "__MACOSX" / "cifar10").mkdir(parents=True)
    (tmp_path / "unzipped" / ".Trashes").mkdir()  # hidden: not named
    (tmp_path / "unzipped" / "readme.txt").write_text("CIFAR-10")  # a file: not named as a folder
    with pytest.raises(DataError, match="holds no CIFAR-10 data") as err:
        cdata.load_category(tmp_path / "unzipped", cache_dir=tmp_path / "cache")
    assert err.value.message.endswith("holds no CIFAR-10 data (it has cifar10/)")


def test_a_folder_of_many_folders_names_five_then_dots(tmp_path):
    for name in "abcdef":
        (tmp_path / "top" / name).mkdir(parents=True)
    with pytest.raises(DataError, match="holds no CIFAR-10 data") as err:
        cdata.load_category(tmp_path / "top", cache_dir=tmp_path / "cache")
    assert err.value.message.endswith("holds no CIFAR-10 data (it has a/, b/, c/, d/, e/, ...)")


def test_a_folder_of_five_folders_names_them_all_without_dots(tmp_path):
    for name in "abcde":
        (tmp_path / "top" / name).mkdir(parents=True)
    with pytest.raises(DataError) as err:
        cdata.load_category(tmp_path / "top", cache_dir=tmp_path / "cache")
    assert err.value.message.endswith("holds no CIFAR-10 data (it has a/, b/, c/, d/, e/)")


def test_an_image_folder_with_train_but_no_test_is_no_data_naming_what_it_has(tmp_path):
    (tmp_path / "half" / "train" / "horse").mkdir(parents=True)  # test/ not copied yet
    with pytest.raises(DataError) as err:
        cdata.load_category(tmp_path / "half", cache_dir=tmp_path / "cache")
    assert err.value.message.endswith("holds no CIFAR-10 data (it has train/)")


@pytest.mark.parametrize("gone", [["test_batch"], ["data_batch_4", "data_batch_5"]])
def test_an_incomplete_batches_folder_names_what_it_lacks(tmp_path, gone):
    folder = make_cifar_batches(tmp_path / "d")
    for name in gone:
        (folder / name).unlink()
    for path in (folder, folder.parent):  # the folder itself or its parent
        with pytest.raises(DataError, match="incomplete cifar-10-batches-py folder") as err:
            cdata.load_category(path, cache_dir=tmp_path / "cache")
        assert f"it lacks {', '.join(gone)})" in err.value.message and str(folder) in err.value.message


def test_a_batches_folder_with_one_batch_copied_is_incomplete_not_empty(tmp_path):
    folder = make_cifar_batches(tmp_path / "d")
    for name in ("data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"):
        (folder / name).unlink()
    with pytest.raises(DataError, match="incomplete cifar-10-batches-py folder") as err:
        cdata.load_category(folder, cache_dir=tmp_path / "cache")
    assert "it lacks data_batch_2, data_batch_3, data_batch_4, data_batch_5, test_batch)" in err.value.message


def test_an_archive_beside_a_half_extracted_folder_is_read(tmp_path):
    archive = make_archive(tmp_path / "a")
    folder = make_cifar_batches(tmp_path / "a" / "x")
    (folder / "test_batch").unlink()
    folder.rename(archive.parent / "cifar-10-batches-py")
    assert cdata.load_category(archive.parent, cache_dir=tmp_path / "cache").source.path == archive


def test_no_images_of_the_category(tmp_path):
    folder = make_image_folder(tmp_path / "f")
    with pytest.raises(DataError, match="no training images of category 8 \\(ship\\)"):
        cdata.load_category(folder, "ship", cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("name", ["Horse", "horses", "7"])
def test_a_class_folder_named_otherwise_is_named_in_the_error(tmp_path, name):
    folder = make_image_folder(tmp_path / "f")
    for split in ("train", "test"):
        (folder / split / "horse").rename(folder / split / name)
    with pytest.raises(DataError, match="no training images of category 7") as err:
        cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    assert f"(no folder train/horse; train/ has {', '.join(sorted([name, 'cat']))})" in err.value.message
    assert err.value.fix.startswith("class folders are named as CIFAR-10 spells its classes (train/horse); ")



def test_a_class_folder_missing_from_test_only_is_named_for_test(tmp_path):
    folder = make_image_folder(tmp_path / "f")
    (folder / "test" / "horse").rename(folder / "test" / "Horse")
    with pytest.raises(DataError, match="no test images of category 7") as err:
        cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    assert "(no folder test/horse; test/ has Horse, cat)" in err.value.message and "train/" not in err.value.message
    assert err.value.fix.startswith("class folders are named as CIFAR-10 spells its classes (test/horse); ")


def test_a_split_folder_with_no_class_folders_says_so(tmp_path):
    folder = make_image_folder(tmp_path / "f")
    for image in (folder / "train" / "horse").iterdir():  # images put straight into train/, not train/horse/
        image.rename(folder / "train" / image.name)
    for sub in ("horse", "cat"):
        for image in (folder / "train" / sub).iterdir():
            image.unlink()
        (folder / "train" / sub).rmdir()
    with pytest.raises(DataError, match="no training images of category 7") as err:
        cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    assert err.value.message.endswith("(no folder train/horse; train/ has no folders)")


def test_an_empty_class_folder_is_not_called_missing(tmp_path):
    folder = make_image_folder(tmp_path / "f")
    for image in (folder / "train" / "horse").iterdir():
        image.unlink()
    with pytest.raises(DataError, match="no training images of category 7") as err:
        cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    assert "no folder" not in err.value.message and err.value.fix.startswith("check the path and --category")


def test_batches_without_the_category_are_one_error_not_a_folder_hint(tmp_path):
    folder = make_cifar_batches(tmp_path / "d")  # labels 0-6 and 7: no ship
    with pytest.raises(DataError, match="no training images of category 8 \\(ship\\)") as err:
        cdata.load_category(folder, "ship", cache_dir=tmp_path / "cache")
    assert "no folder" not in err.value.message and err.value.fix.startswith("check the path and --category")

def test_unknown_category():
    with pytest.raises(UsageError, match="unknown category"):
        cdata.resolve_category("unicorn")
    with pytest.raises(UsageError, match="unknown category '10'"):  # labels are 0-9
        cdata.resolve_category("10")
    assert cdata.resolve_category(" 9 ") == 9 and cdata.resolve_category("Horse") == 7


def test_corrupt_archive(tmp_path):
    bad = tmp_path / "cifar-10-python.tar.gz"
    for content in (b"not a tar file", b""):
        bad.write_bytes(content)
        with pytest.raises(DataError, match="not a complete") as err:
            cdata.load_category(bad, cache_dir=tmp_path / "cache")
        assert "\n" not in str(err.value)  # one line


@pytest.fixture
def cifar_server(tmp_path, monkeypatch):
    """A real HTTP server on 127.0.0.1 in place of cs.toronto.edu: torchvision's download code runs unchanged.

    Yields (serve, hits): serve(path, md5=None) publishes an archive and points CIFAR10.url and tgz_md5 at it.
    """
    import functools
    import hashlib
    import http.server
    import threading

    from torchvision.datasets import CIFAR10

    site, hits = tmp_path / "site", []
    site.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):  # torchvision's redirect probe hangs up mid-body
            pass

    server = Server(("127.0.0.1", 0), functools.partial(Handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)

    def serve(archive, md5=None):
        (site / cdata.ARCHIVE).write_bytes(archive.read_bytes())
        monkeypatch.setattr(CIFAR10, "url", f"http://127.0.0.1:{server.server_port}/{cdata.ARCHIVE}")
        monkeypatch.setattr(CIFAR10, "tgz_md5", md5 or hashlib.md5(archive.read_bytes()).hexdigest())

    yield serve, hits
    server.shutdown()
    server.server_close()


def test_download_through_torchvision_from_a_local_server(tmp_path, cifar_server):
    serve, hits = cifar_server
    serve(make_archive(tmp_path / "a"))
    ds = cdata.load_category(None, cache_dir=tmp_path / "cache")
    train, test = _expected_horses()
    assert ds.source.kind == "torchvision" and torch.equal(ds.train, train) and torch.equal(ds.test, test)
    root = tmp_path / "cache" / "cifar10"
    assert sorted(p.name for p in root.iterdir()) == [cdata.BATCHES]  # no archive or temp folder left
    assert set(hits) == {f"/{cdata.ARCHIVE}"}  # torchvision probes for redirects, then downloads
    before = len(hits)
    cdata.load_category(None, cache_dir=tmp_path / "cache")  # the second time reads the cache
    assert len(hits) == before


def test_download_with_the_wrong_md5_is_one_line_and_leaves_nothing(tmp_path, cifar_server):
    serve, hits = cifar_server
    serve(make_archive(tmp_path / "a"), md5="0" * 32)  # e.g. a proxy's error page or a truncated file
    with pytest.raises(DataError) as err:
        cdata.load_category(None, cache_dir=tmp_path / "cache")
    assert "md5 did not match" in err.value.message and "\n" not in str(err.value)
    assert list((tmp_path / "cache" / "cifar10").iterdir()) == [] and hits


def test_a_downloaded_archive_without_the_batches_folder_is_one_line_and_leaves_nothing(tmp_path, cifar_server):
    import tarfile

    serve, hits = cifar_server
    (tmp_path / "page.html").write_text("<html>sign in</html>")
    other = tmp_path / "other.tar.gz"  # a well-formed archive of something else, e.g. a mirror's wrong file
    with tarfile.open(other, "w:gz") as tar:
        tar.add(tmp_path / "page.html", arcname="page.html")
    serve(other)
    with pytest.raises(DataError, match="holds no complete cifar-10-batches-py/") as err:
        cdata.load_category(None, cache_dir=tmp_path / "cache")
    assert "\n" not in str(err.value) and list((tmp_path / "cache" / "cifar10").iterdir()) == []


def test_download_of_a_missing_file_is_one_line(tmp_path, cifar_server):
    from torchvision.datasets import CIFAR10

    serve, hits = cifar_server
    serve(make_archive(tmp_path / "a"))
    CIFAR10.url = CIFAR10.url.replace(cdata.ARCHIVE, "gone.tar.gz")  # monkeypatch restores it
    with pytest.raises(DataError) as err:
        cdata.load_category(None, cache_dir=tmp_path / "cache")
    assert "404" in err.value.message and "download from http://127.0.0.1" in err.value.message


def test_offline_download_fails_with_one_clear_line(tmp_path, monkeypatch):
    import socket

    from torchvision.datasets import CIFAR10

    with socket.socket() as s:  # a port nothing listens on: a real refused connection
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(CIFAR10, "url", f"http://127.0.0.1:{port}/{cdata.ARCHIVE}")
    with pytest.raises(DataError) as err:
        cdata.load_category(None, cache_dir=tmp_path / "cache")
    assert "download from" in err.value.message and "failed" in err.value.message and "\n" not in str(err.value)
    assert str(tmp_path / "cache" / "cifar10") in err.value.fix and "--data PATH" in err.value.fix


def test_a_cache_that_cannot_be_written_says_so_instead_of_downloading(tmp_path):
    (tmp_path / "cache").write_text("not a folder")
    with pytest.raises(DataError) as err:
        cdata.load_category(None, cache_dir=tmp_path / "cache")
    assert "cannot be downloaded there" in err.value.message and "--data PATH" in err.value.fix


def test_an_incomplete_batches_folder_in_the_cache_is_named(tmp_path, monkeypatch):
    from torchvision.datasets import CIFAR10

    folder = make_cifar_batches(tmp_path / "cache" / "cifar10")
    (folder / "data_batch_5").unlink()
    monkeypatch.setattr(CIFAR10, "url", "http://127.0.0.1:9/never-fetched")
    with pytest.raises(DataError, match="is incomplete") as err:
        cdata.load_category(None, cache_dir=tmp_path / "cache")
    assert "delete it" in err.value.fix


def test_torchvision_copy_in_the_cache_is_used_without_download(tmp_path, monkeypatch):
    from torchvision.datasets import CIFAR10

    make_cifar_batches(tmp_path / "cache" / "cifar10")
    monkeypatch.setattr(CIFAR10, "url", "http://127.0.0.1:9/never-fetched")
    ds = cdata.load_category(None, cache_dir=tmp_path / "cache")
    assert ds.source.kind == "torchvision" and len(ds.train) == 20


def test_the_archive_put_in_the_cache_as_the_offline_message_says_is_used(tmp_path, monkeypatch):
    from torchvision.datasets import CIFAR10

    (tmp_path / "cache" / "cifar10").mkdir(parents=True)
    make_archive(tmp_path).rename(tmp_path / "cache" / "cifar10" / cdata.ARCHIVE)
    monkeypatch.setattr(CIFAR10, "url", "http://127.0.0.1:9/never-fetched")
    ds = cdata.load_category(None, cache_dir=tmp_path / "cache")
    assert ds.source.kind == "archive" and len(ds.train) == 20


def test_a_downloaded_copy_in_the_cache_is_read_before_an_archive_beside_it(tmp_path, monkeypatch):
    """Both there (the archive put in as the offline message says, then a download): the extracted batches are
    read, not the archive decompressed again."""
    from torchvision.datasets import CIFAR10

    make_cifar_batches(tmp_path / "cache" / "cifar10")
    make_archive(tmp_path).rename(tmp_path / "cache" / "cifar10" / cdata.ARCHIVE)
    monkeypatch.setattr(CIFAR10, "url", "http://127.0.0.1:9/never-fetched")
    assert cdata.find_source(None, tmp_path / "cache") == cdata.Source("torchvision", tmp_path / "cache" / "cifar10")


def test_an_archive_without_one_of_the_batches_is_one_line(tmp_path):
    import tarfile

    folder = make_cifar_batches(tmp_path / "src")
    (folder / "test_batch").unlink()
    archive = tmp_path / cdata.ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=cdata.BATCHES)
    with pytest.raises(DataError, match="is not a complete cifar-10-python.tar.gz") as err:
        cdata.load_category(archive, cache_dir=tmp_path / "cache")
    assert "test_batch" in err.value.message and "\n" not in str(err.value)


class _RunsCode:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import os

        return os.mkdir, (str(self.path),)


@pytest.mark.parametrize("protocol", [2, 5])
def test_batches_pickled_by_any_protocol_load(tmp_path, protocol):
    import pickle

    folder = make_cifar_batches(tmp_path / "d")
    for f in folder.iterdir():  # re-pickle (protocol 2: as Python 2 wrote them; 5: arrays out of band in 3.8+)
        f.write_bytes(pickle.dumps(pickle.loads(f.read_bytes()), protocol=protocol))
    ds = cdata.load_category(folder, "horse", cache_dir=tmp_path / "cache")
    assert torch.equal(ds.train, _expected_horses()[0])


@pytest.mark.parametrize("batch,words", [
    ({b"data": np.zeros((60, 1000), np.uint8), b"labels": [7] * 60}, "holds data of shape (60, 1000)"),
    ({b"data": np.zeros((3, 3072), np.float32), b"labels": [7] * 3}, "(float32)"),
    ({b"data": np.zeros(3072, np.uint8), b"labels": [7]}, "holds data of shape (3072,)"),  # one flat image
    ({b"data": np.zeros((3, 3072), np.uint8), b"labels": [7] * 2}, "with 2 labels"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": np.full((2, 1), 7)}, "with 2 labels in shape (2, 1)"),
    ({b"fine_labels": [1], b"data": np.zeros((1, 3072), np.uint8)}, "has no data and labels"),
    ([1, 2, 3], "has no data and labels"),
])
def test_a_malformed_batch_is_one_line_naming_the_file(tmp_path, batch, words):
    import pickle

    folder = make_cifar_batches(tmp_path / "d")
    (folder / "data_batch_2").write_bytes(pickle.dumps(batch))
    with pytest.raises(DataError, match="data_batch_2") as err:
        cdata.load_category(folder, cache_dir=tmp_path / "cache")
    assert words in err.value.message


def test_a_batch_cannot_run_code(tmp_path):
    import pickle

    folder = make_cifar_batches(tmp_path / "d")
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": _RunsCode(tmp_path / "pwned"), b"labels": []}))
    with pytest.raises(DataError, match="test_batch is not a readable CIFAR-10 batch .*posix.mkdir"):
        cdata.load_category(folder, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "pwned").exists()


def test_an_empty_batch_pickled_by_protocol_2_is_data_not_code():
    import io
    import pickle

    from colourize import safepickle

    raw = pickle.dumps({b"data": np.zeros((0, 3072), np.uint8), b"labels": []}, protocol=2)  # empty bytes: a call
    assert safepickle.load(io.BytesIO(raw))[b"data"].shape == (0, 3072)
