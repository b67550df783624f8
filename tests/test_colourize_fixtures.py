"""Tiny CIFAR-10 sources for the colourize tests, written into a temp dir (no test functions here)."""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

HORSE = 7


@pytest.fixture
def one_thread():
    """Tiny models gain nothing from threads, and on a shared CPU spinning OpenMP threads cost a lot."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def write_palette(path: Path) -> Path:
    """A fixed 6-colour palette file (0-255 values): lets CLI tests skip k-means."""
    colours = [[20, 20, 20], [230, 230, 230], [120, 120, 120], [150, 90, 40], [60, 140, 60], [80, 120, 200]]
    np.save(path, np.array(colours, dtype=np.float32))
    return path


@pytest.fixture
def pal(project) -> str:
    """The fixed palette, written into the test's project."""
    return str(write_palette(project / "palette.npy"))


def synthetic_images(n: int, seed: int) -> np.ndarray:
    """Smooth colourful 32x32 images, (n, 32, 32, 3) uint8: a learnable colour/brightness structure."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    out = np.empty((n, 32, 32, 3), np.uint8)
    for i in range(n):
        a, b, c = rng.uniform(0.2, 1.0, 3)
        sky = np.stack([0.3 * a + 0 * xx, 0.5 * b + 0 * xx, 0.9 * c + 0 * xx], -1)
        ground = np.stack([0.2 + 0 * xx, 0.6 * b + 0 * xx, 0.2 * c + 0 * xx], -1)
        horizon = rng.uniform(0.3, 0.7)
        img = np.where((yy > horizon)[..., None], ground, sky)
        img = img * (0.7 + 0.3 * xx[..., None]) + rng.normal(0, 0.03, img.shape)
        out[i] = np.clip(img * 255, 0, 255).astype(np.uint8)
    return out


def _batch(images_hwc: np.ndarray, labels: list[int]) -> dict:
    return {b"batch_label": b"synthetic", b"labels": labels,
            b"data": images_hwc.transpose(0, 3, 1, 2).reshape(len(images_hwc), -1),
            b"filenames": [f"{i}.png".encode() for i in range(len(labels))]}


def make_cifar_batches(root: Path, horses_per_batch: int = 4, others_per_batch: int = 3, seed: int = 0,
                       step: int = 1) -> Path:
    """A `cifar-10-batches-py` folder; each batch holds horses (label 7) and a few other classes. step > 1 rounds every
    channel down to a multiple of it: images of few colours (step 64: at most 4**3)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for k, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        n = horses_per_batch + others_per_batch
        labels = [HORSE] * horses_per_batch + [(k + j) % 7 for j in range(others_per_batch)]
        with open(folder / name, "wb") as f:
            pickle.dump(_batch(synthetic_images(n, seed + k) // step * step, labels), f)
    return folder


def make_archive(root: Path, **kw) -> Path:
    folder = make_cifar_batches(root / "src", **kw)
    archive = root / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    return archive


def make_image_folder(root: Path, n_train: int = 6, n_test: int = 3, suffix: str = ".png", seed: int = 0) -> Path:
    from PIL import Image

    for split, n in (("train", n_train), ("test", n_test)):
        for cls, offset in (("horse", 0), ("cat", 100)):
            d = root / split / cls
            d.mkdir(parents=True)
            for i, img in enumerate(synthetic_images(n, seed + offset + (split == "test"))):
                Image.fromarray(img).save(d / f"{i:04d}{suffix}", quality=95)
    return root
