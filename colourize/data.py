"""CIFAR-10 images of one category as uint8 tensors, decoded once and cached.

Sources: torchvision's download into the cache (the default), or a path to a `cifar-10-batches-py`
folder, its `cifar-10-python.tar.gz` (or that archive gunzipped, `.tar`), or an image-folder tree
`train|test/<class>/*` (<class> the CIFAR-10 name as spelled in CLASSES, e.g. `train/horse`; images in any of
IMAGE_SUFFIXES).
Scaling follows the course notebook: pixels are uint8 / 256 and the greyscale input is the mean
of the three channels (one input channel).
"""

from __future__ import annotations

import hashlib
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from colourize import safepickle
from colourize.runs import digest, torch_save_atomic
from workbench.errors import DataError, UsageError, WriteError
from workbench.paths import make_folder, path_text, project_root

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
ARCHIVE = "cifar-10-python.tar.gz"
BATCHES = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
SHARED_COPY_HINT = "e.g. --data ../shared/data/cifar10-horse-jpeg"
CACHE_VERSION = 3  # bump when the cached layout or the decoding changes (3: 16-bit greyscale PNGs)


def default_cache_dir() -> Path:
    return project_root() / ".cache" / "colourize"


@dataclass(frozen=True)
class Source:
    """Where images come from: kind is torchvision | batches | archive | folder."""

    kind: str
    path: Path

    def to_dict(self) -> dict:
        return {"kind": self.kind, "path": path_text(self.path)}


@dataclass(frozen=True)
class Dataset:
    """One category's images, in source order (or shuffled by `shuffled`)."""

    train: torch.Tensor  # (N, 3, H, W) uint8
    test: torch.Tensor  # (M, 3, H, W) uint8
    source: Source
    category: int


def resolve_category(category: str | int) -> int:
    """CIFAR-10 label from a number or a class name ('horse' -> 7)."""
    text = str(category).strip().lower()
    if text.isdigit() and int(text) < len(CLASSES):
        return int(text)
    if text in CLASSES:
        return CLASSES.index(text)
    raise UsageError(f"unknown category {category!r}",
                     "use a CIFAR-10 label 0-9 or a class name: " + ", ".join(CLASSES))


def find_source(path: str | Path | None, cache_dir: Path | None = None) -> Source:
    """Classify a --data path (None means torchvision's copy in the cache)."""
    if path is None:
        root = (cache_dir or default_cache_dir()) / "cifar10"
        if not _has_batches(root / BATCHES) and (root / ARCHIVE).is_file():  # put there as the offline message says
            return Source("archive", root / ARCHIVE)
        return Source("torchvision", root)
    p = Path(path).expanduser().resolve()
    if not p.exists():
        raise DataError(f"data path {p} does not exist",
                        f"pass a CIFAR-10 folder, {ARCHIVE} or an image-folder tree ({SHARED_COPY_HINT})")
    if p.is_file():
        if p.name.endswith((".tar.gz", ".tgz", ".tar")):  # .tar: the archive gunzipped (as some browsers do)
            return Source("archive", p)
        if p.suffix.lower() == ".zip":  # e.g. Kaggle's download of an image-folder tree
            raise DataError(f"{p} is a zip file, which is not read as it is",
                            f"unzip it and pass the folder ({SHARED_COPY_HINT})")
        raise DataError(f"{p} is a file but not a {ARCHIVE} archive", f"pass the archive or a folder ({SHARED_COPY_HINT})")
    for candidate in (p, p / BATCHES):
        if _has_batches(candidate):
            return Source("batches", candidate)
    if (p / ARCHIVE).is_file():
        return Source("archive", p / ARCHIVE)
    if (p / "train").is_dir() and (p / "test").is_dir():
        return Source("folder", p)
    batches = (*TRAIN_BATCHES, TEST_BATCH)
    for candidate in (p, p / BATCHES):  # a partial copy or extraction: name what it lacks
        missing = [name for name in batches if not (candidate / name).is_file()]
        if len(missing) < len(batches):
            raise DataError(f"{candidate} is an incomplete {BATCHES} folder (it lacks {', '.join(missing)})",
                            f"copy or extract all of {ARCHIVE} again, or pass the archive itself ({SHARED_COPY_HINT})")
    inside = sorted(d.name + "/" for d in p.iterdir() if d.is_dir() and not d.name.startswith((".", "__MACOSX")))
    has = f" (it has {', '.join(inside[:5])}{', ...' if len(inside) > 5 else ''})" if inside else ""  # e.g. one level up
    raise DataError(f"{p} holds no CIFAR-10 data{has}",
                    f"expected {BATCHES}/ (data_batch_1-5, test_batch), {ARCHIVE}, or train/<class>/ and "
                    f"test/<class>/ image folders ({SHARED_COPY_HINT})")


def load_category(path: str | Path | None = None, category: str | int = 7, cache_dir: Path | None = None) -> Dataset:
    """Decode one category (cached as uint8 tensors under cache_dir, keyed by source path and mtimes)."""
    label = resolve_category(category)
    cache_dir = cache_dir or default_cache_dir()
    source = find_source(path, cache_dir)
    if source.kind == "torchvision" and not _has_batches(source.path / BATCHES):
        _download(source.path)
    cache = cache_dir / f"{source.kind}-{label}-{_fingerprint(source, label)}.pt"
    saved = load_cache(cache, ("train", "test"))
    if saved is not None:
        return Dataset(saved["train"], saved["test"], source, label)
    train, test = _DECODERS[source.kind](source.path, label)
    for split, folder, images in (("training", "train", train), ("test", "test", test)):
        if len(images) == 0:
            where = _class_folder_hint(source.path, folder, label) if source.kind == "folder" else ""
            named = f"class folders are named as CIFAR-10 spells its classes ({folder}/{CLASSES[label]}); "
            named = named if where else ""
            raise DataError(f"{source.path} has no {split} images of category {label} ({CLASSES[label]}){where}",
                            f"{named}check the path and --category ({SHARED_COPY_HINT})")
    data = {"train": torch.from_numpy(train).permute(0, 3, 1, 2).contiguous(),  # (N, 3, H, W)
            "test": torch.from_numpy(test).permute(0, 3, 1, 2).contiguous()}
    save_cache(cache, data)
    return Dataset(data["train"], data["test"], source, label)


def save_cache(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Keep tensors under the cache folder with their checksum (a read-only cache only costs the work next time)."""
    try:
        torch_save_atomic(tensors | {"sha256": digest(tensors)}, path)
    except (OSError, WriteError):
        pass


def load_cache(path: Path, keys: tuple[str, ...]) -> dict[str, torch.Tensor] | None:
    """The tensors a cache file holds, or None when it is missing or damaged (cut short, a flipped byte, foreign):
    a damaged cache is rebuilt, never trusted."""
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, weights_only=True)
        tensors = {k: saved[k] for k in keys}
        return tensors if saved.get("sha256") == digest(tensors) else None
    except Exception:  # torch.load's errors on a damaged file are of many kinds
        return None


def image_size(source: Source, label: int) -> tuple[int, int] | None:
    """(H, W) of a source's images without decoding them: CIFAR's 32x32, or the size in an image folder's first
    file's header (None when it has none to read)."""
    if source.kind != "folder":
        return (32, 32)
    from PIL import Image

    files = _class_files(source.path, "train", label) or _class_files(source.path, "test", label)
    try:
        with Image.open(files[0]) as im:
            return im.height, im.width
    except (IndexError, OSError, Image.DecompressionBombError):  # no images, or one PIL cannot read: loading names it
        return None


def shuffled(data: Dataset, seed: int) -> Dataset:
    """Shuffle each split once, training then test, from one seeded torch stream.

    The notebook shuffles the same way with numpy's global RNG; its order is not reproduced because its
    weight initialisation comes from another stream anyway (measured: a numpy-order shuffle moved the
    25-epoch accuracies by about a point either way, as other seeds do).
    """
    g = torch.Generator().manual_seed(seed)
    train = data.train[torch.randperm(len(data.train), generator=g)]
    test = data.test[torch.randperm(len(data.test), generator=g)]
    return Dataset(train, test, data.source, data.category)


def to_inputs(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (B, 3, H, W) -> colour (B, 3, H, W) in [0, 1) and greyscale input (B, 1, H, W)."""
    rgb = images.float() / 256.0  # the notebook divides by 256, not 255
    return rgb, rgb.mean(dim=1, keepdim=True)


# --- sources -----------------------------------------------------------------------------------

def _has_batches(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (*TRAIN_BATCHES, TEST_BATCH))


def _download(root: Path) -> None:
    """torchvision's CIFAR-10 download (URL and archive md5 are torchvision's), extracted beside `root` first.

    Only the archive's md5 is trusted; the batches are then read by our own unpickler, not torchvision's
    pickle.load. The folder appears under `root` in one rename, so an interrupted download leaves nothing
    that looks like data.
    """
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import download_and_extract_archive

    fix = f"put {ARCHIVE} in {root}, or pass --data PATH to a copy ({SHARED_COPY_HINT})"
    if (root / BATCHES).exists():
        raise DataError(f"{root / BATCHES} is incomplete (it lacks some of {', '.join((*TRAIN_BATCHES, TEST_BATCH))})",
                        f"delete it to download again, or pass --data PATH to a copy ({SHARED_COPY_HINT})")
    reason = make_folder(root)
    if reason:
        raise DataError(f"CIFAR-10 is not in {root} and cannot be downloaded there ({reason})", fix)
    with tempfile.TemporaryDirectory(dir=root, prefix=".download-") as tmp:
        try:
            download_and_extract_archive(CIFAR10.url, tmp, filename=CIFAR10.filename, md5=CIFAR10.tgz_md5)
        except (OSError, RuntimeError, tarfile.TarError, EOFError) as exc:
            reason = "the archive's md5 did not match" if "corrupted" in str(exc) else f"{type(exc).__name__}: {exc}"
            raise DataError(f"CIFAR-10 is not in {root} and the download from {CIFAR10.url} failed ({reason})"
                            .replace("\n", " "), fix) from exc
        extracted = Path(tmp) / BATCHES
        if not _has_batches(extracted):
            raise DataError(f"the archive from {CIFAR10.url} holds no complete {BATCHES}/", fix)
        extracted.rename(root / BATCHES)


def _from_batches(batches: dict, label: int) -> tuple[np.ndarray, np.ndarray]:
    """Select one label from unpickled CIFAR batches -> (N, H, W, 3) uint8 train and test arrays."""
    def pick(names):
        parts = []
        for name in names:
            data, labels = batches[name]
            parts.append(data[labels == label])
        return np.concatenate(parts).transpose(0, 2, 3, 1)
    return pick(TRAIN_BATCHES), pick([TEST_BATCH])


def _unpickle(stream, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch -> images (N, 3, 32, 32) uint8 and labels (N,); DataError naming the file otherwise."""
    fix = "re-download or re-extract the data"
    try:
        batch = safepickle.load(stream)  # the batches are pickles: never let one run code
    except Exception as exc:
        raise DataError(f"{where} is not a readable CIFAR-10 batch ({exc})", fix) from exc
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataError(f"{where} is not a CIFAR-10 batch (it has no data and labels)", fix)
    data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.shape != (len(data),):
        shape = "" if labels.ndim == 1 else f" in shape {labels.shape}"  # (N, 1) labels are N labels, not a list
        raise DataError(f"{where} holds data of shape {data.shape} ({data.dtype}) with {labels.size} labels{shape}",
                        f"a CIFAR-10 batch holds N x 3072 uint8 pixels and N labels; {fix}")
    return data.reshape(-1, 3, 32, 32), labels


def _decode_batches(folder: Path, label: int):
    batches = {}
    for name in (*TRAIN_BATCHES, TEST_BATCH):
        with open(folder / name, "rb") as f:
            batches[name] = _unpickle(f, str(folder / name))
    return _from_batches(batches, label)


def _decode_archive(archive: Path, label: int):
    batches = {}
    try:
        with open(archive, "rb") as f:  # gzipped or not (a browser may have undone the gzip), whatever the name says
            mode = "r:gz" if f.read(2) == b"\x1f\x8b" else "r:"  # not "r:*": its errors list every method, line by line
        with tarfile.open(archive, mode) as tar:
            members = {m.name.removeprefix("./"): m for m in tar.getmembers()}  # `tar czf A ./cifar-10-batches-py`
            for name in (*TRAIN_BATCHES, TEST_BATCH):
                member = tar.extractfile(members.get(f"{BATCHES}/{name}", f"{BATCHES}/{name}"))
                batches[name] = _unpickle(member, f"{archive}:{BATCHES}/{name}")
    except (tarfile.TarError, KeyError, OSError, EOFError) as exc:
        raise DataError(f"{archive} is not a complete {ARCHIVE} ({exc})", "re-download it or pass another --data") from exc
    return _from_batches(batches, label)


def _class_files(root: Path, split: str, label: int) -> list[Path]:
    folder = root / split / CLASSES[label]
    if not folder.is_dir():
        return []
    # hidden files are not images: macOS writes ._name.png (AppleDouble) beside each image on other disks and zips
    return sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."))


def _class_folder_hint(root: Path, split: str, label: int) -> str:
    """' (no folder train/horse; train/ has Horse, cat)' when the class folder is missing, so a folder named in
    another case or form is seen at once."""
    if (root / split / CLASSES[label]).is_dir():
        return ""
    found = sorted(d.name for d in (root / split).iterdir() if d.is_dir())
    return f" (no folder {split}/{CLASSES[label]}; {split}/ has {', '.join(found[:10]) or 'no folders'})"


def _decode_folder(root: Path, label: int):
    from PIL import Image

    out, bad = [], []  # bad: every file that cannot be decoded, named in one error
    for split in ("train", "test"):
        images, files = [], _class_files(root, split, label)
        for f in files:
            try:
                with Image.open(f) as im:
                    if im.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit grey: convert("RGB") clips it at 255
                        im = Image.fromarray((np.asarray(im) >> 8).astype(np.uint8))  # the top byte, as for RGB
                    images.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
            except (OSError, Image.DecompressionBombError) as exc:  # the latter: a header claiming a huge size
                bad.append((f, exc))
        if bad:
            continue
        sizes = {a.shape for a in images}
        if len(sizes) > 1:  # name the files not of the most common size, so a few strays are found at once
            shapes = [a.shape for a in images]
            common = max(sizes, key=shapes.count)
            odd = [f.name for f, shape in zip(files, shapes) if shape != common]
            listed = ", ".join(f"{w}x{h}" for h, w, _ in sorted(sizes))  # width x height, as image tools say
            raise DataError(f"{root / split / CLASSES[label]} mixes image sizes {listed}: {len(odd)} not "
                            f"{common[1]}x{common[0]} ({', '.join(odd[:5])}{', ...' if len(odd) > 5 else ''})",
                            "resize all images to one size (CIFAR-10 is 32x32)")
        out.append(np.stack(images) if images else np.zeros((0, 32, 32, 3), np.uint8))
    if bad:
        (f, exc), more = bad[0], [str(g.relative_to(root)) for g, _ in bad[1:6]]
        also = f" and {len(bad) - 1} more ({', '.join(more)}{', ...' if len(bad) > 6 else ''})" if more else ""
        raise DataError(f"cannot decode image {f} ({exc}){also}",
                        f"remove or replace the file{'s' if more else ''}") from exc
    return tuple(out)


_DECODERS = {"torchvision": lambda root, label: _decode_batches(root / BATCHES, label), "batches": _decode_batches,
             "archive": _decode_archive, "folder": _decode_folder}


def _fingerprint(source: Source, label: int) -> str:
    """Hash of the source path and the size and mtime of every file it reads (stat only, no reads)."""
    if source.kind == "folder":
        files = [f for split in ("train", "test") for f in _class_files(source.path, split, label)]
    elif source.kind == "archive":
        files = [source.path]
    else:
        root = source.path / BATCHES if source.kind == "torchvision" else source.path
        files = [root / name for name in (*TRAIN_BATCHES, TEST_BATCH)]
    h = hashlib.sha256(f"{CACHE_VERSION}|{source.kind}|{source.path}|{label}".encode(errors="surrogateescape"))
    for f in files:
        try:
            st = f.stat()
        except OSError as exc:  # e.g. a link whose target was moved or deleted
            raise DataError(f"cannot read {f} ({'a broken link' if f.is_symlink() else exc.strerror})",
                            "remove the file or restore what it points to") from exc
        # with the split's folder; names that are not UTF-8 (a zip from another system) keep their bytes
        h.update(f"|{f.relative_to(source.path.parent)}:{st.st_size}:{st.st_mtime_ns}".encode(errors="surrogateescape"))
    return h.hexdigest()[:16]
