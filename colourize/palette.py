"""The colour palette: k-means over training pixels (or a given .npy file) and nearest-colour labels.

Palettes live on the data's scale, uint8 / 256 (the notebook's), as float32 (K, 3) tensors.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import torch

from colourize import safepickle
from colourize.data import load_cache, save_cache
from colourize.runs import sha256_of
from workbench.errors import DataError

KMEANS_VERSION = 2  # bump when fit_palette would return another palette for the same input (2: no repeated colours)
MAX_COLOURS = 256
LABEL_CHUNK = 1 << 18  # pixels per step of the nearest-colour search: bounds memory at ~K MiB
# colours closer than this (0-1 scale) are one colour: far above float rounding (~6e-8 for float32), far below a
# pixel step (1/256), so no pixel can tell them apart and the later one's label is never reached
SAME_COLOUR = 1e-6


def fit_palette(images: torch.Tensor, k: int = 24, seed: int = 0, pixels: int = 20_000,
                iterations: int = 100, n_init: int = 1) -> torch.Tensor:
    """k-means (k-means++ init, Lloyd steps) on `pixels` sampled pixels of uint8 images (N, 3, H, W).

    With n_init > 1 the run with the lowest inertia wins. Runs in float64 on the CPU so that a seed
    gives the same palette everywhere. Returns (k, 3) float32.
    """
    g = torch.Generator().manual_seed(seed)
    flat, sampled = _sample(images, pixels, g)
    x = flat.double() / 256.0  # (P, 3)
    distinct = len(torch.unique(flat, dim=0))  # the most colours k-means can fit on this sample (drawn before k counts)
    if len(x) < k:
        raise DataError(f"k-means needs at least {k} pixels, got {len(x)}", _fewer_colours_fix(distinct))
    if distinct < k:  # k centres would repeat a colour, whose second label nearest-colour never gives
        raise DataError(f"k-means needs {k} colours but finds only {distinct} distinct "
                        f"colour{'s' if distinct > 1 else ''} among the {len(x):,} training pixels"
                        f"{' sampled' if sampled else ''}", _fewer_colours_fix(distinct))
    runs = [_lloyd(x, _kmeans_pp(x, k, g), iterations) for _ in range(n_init)]
    return min(runs, key=lambda r: r[1])[0].float()


def _sample(images: torch.Tensor, pixels: int, g: torch.Generator) -> tuple[torch.Tensor, bool]:
    """The pixels k-means fits, (P, 3) uint8: `pixels` of them drawn from g (all when there are no more), and
    whether they were drawn. The draw comes before k is used, so one seed gives the same pixels for every k."""
    flat = images.detach().cpu().permute(0, 2, 3, 1).reshape(-1, 3)  # (N*H*W, 3) uint8
    sampled = len(flat) > pixels
    if sampled:
        flat = flat[torch.randperm(len(flat), generator=g)[:pixels]]
    return flat, sampled


def colours_to_fit(images: torch.Tensor, seed: int = 0, pixels: int = 20_000) -> int:
    """The most colours fit_palette can fit for this seed: the distinct colours among the pixels it samples."""
    return len(torch.unique(_sample(images, pixels, torch.Generator().manual_seed(seed))[0], dim=0))


def _fewer_colours_fix(distinct: int) -> str:
    """What to do where the training pixels hold fewer distinct colours than k: fit as many (a run takes 2 or more)."""
    if distinct < 2:
        return "train on more varied images: a palette needs 2 colours or more, and these pixels hold one"
    return (f"pass --num-colours {distinct} (or fewer), or --palette FILE holding at most {distinct} distinct colours, "
            "or train on more varied images")


def fit_palette_cached(images: torch.Tensor, k: int, seed: int, pixels: int, n_init: int, cache_dir: Path,
                       iterations: int = 100) -> torch.Tensor:
    """fit_palette, kept on disk under a hash of the images and the settings (--all and sweeps fit once)."""
    h = hashlib.sha256(images.detach().cpu().contiguous().numpy().tobytes())
    h.update(f"|{tuple(images.shape)}|{k}|{seed}|{pixels}|{n_init}|{iterations}|{KMEANS_VERSION}".encode())
    path = cache_dir / f"palette-{h.hexdigest()[:16]}.pt"
    cached = load_cache(path, ("palette",))  # None when missing or damaged: then it is refitted
    if cached is not None:
        return cached["palette"]
    palette = fit_palette(images, k, seed, pixels, iterations, n_init)
    save_cache(path, {"palette": palette})
    return palette


def _lloyd(x: torch.Tensor, centres: torch.Tensor, iterations: int) -> tuple[torch.Tensor, float]:
    """Lloyd steps to a fixed point (or `iterations`); returns the centres and their inertia."""
    k, assign = len(centres), None
    for _ in range(iterations):
        new = torch.cdist(x, centres).argmin(dim=1)  # (P,)
        if assign is not None and torch.equal(new, assign):
            break
        assign = new
        sums = torch.zeros_like(centres).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=k)
        empty = counts == 0
        centres = sums / counts.clamp(min=1).unsqueeze(1).double()
        if empty.any():  # re-seed an empty cluster at the pixels farthest from their centre
            far = (x - centres[assign]).square().sum(1).topk(int(empty.sum())).indices
            centres[empty] = x[far]
    inertia = float(torch.cdist(x, centres).min(dim=1).values.square().sum())
    return centres, inertia


def _kmeans_pp(x: torch.Tensor, k: int, g: torch.Generator) -> torch.Tensor:
    centres = [x[torch.randint(len(x), (1,), generator=g)].squeeze(0)]
    d2 = (x - centres[0]).square().sum(1)  # (P,) squared distance to the nearest chosen centre
    for _ in range(1, k):
        idx = torch.multinomial(d2, 1, generator=g)  # never a chosen colour: fit_palette saw k distinct ones
        centres.append(x[idx].squeeze(0))
        d2 = torch.minimum(d2, (x - centres[-1]).square().sum(1))
    return torch.stack(centres)


def _read_object_npy(p: Path) -> np.ndarray:
    """The course's palette file: a pickled object array (saved by Python 2) whose first element is the palette.

    The notebook reads it with np.load(allow_pickle=True, encoding="bytes")[0]; here the pickle may only
    rebuild arrays, so a crafted file cannot run code."""
    with open(p, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in read_header:
            raise ValueError(f".npy format {version[0]}.{version[1]} with objects")
        read_header[version](fh, max_header_size=1 << 16)
        arr = safepickle.load(fh, encoding="latin1")  # latin1: NumPy's advice for Python 2 pickles
    if not isinstance(arr, np.ndarray) or arr.size == 0:
        raise ValueError("the pickle is not a non-empty array")
    if arr.ndim >= 2:  # the colours themselves stored as objects (numpy.save of pal.astype(object))
        first = arr
    else:  # the course's form: the palette is the first element
        first = arr.item() if arr.ndim == 0 else arr[0]
        if not isinstance(first, np.ndarray):  # nested lists could expand to any size in np.asarray
            raise ValueError(f"its first element is a {type(first).__name__}, not an array")
    if first.size > 3 * MAX_COLOURS:
        raise ValueError(f"it holds {first.size} values, more than {MAX_COLOURS} colours")
    if first.dtype.kind not in "fiuO":
        raise ValueError(f"it holds {first.dtype} values, not real numbers")
    return np.asarray(first, dtype=np.float64)  # ValueError when it holds no numbers


def _read_npy(p: Path) -> np.ndarray:
    """The array an .npy file holds (a plain one, or the course's pickled form); DataError otherwise."""
    fix = "save the colours with numpy.save as a (K, 3) float array"
    try:
        with open(p, "rb") as fh:
            if fh.read(6) != np.lib.format.MAGIC_PREFIX:  # text, .npz, empty: numpy's own wording would not help
                raise DataError(f"palette {p} is not a NumPy .npy array file", fix)
        try:
            return np.load(p, allow_pickle=False)
        except (ValueError, EOFError) as exc:
            if "allow_pickle" not in str(exc):
                raise DataError(f"palette {p} is not a NumPy .npy array file", fix) from exc
        try:
            return _read_object_npy(p)
        except (pickle.UnpicklingError, ValueError, TypeError, EOFError, AttributeError, IndexError, MemoryError) as why:
            raise DataError(f"palette {p} is a pickled .npy that does not hold a palette array ({why})", fix) from why
    except OSError as exc:
        raise DataError(f"cannot read palette {p} ({exc})".replace("\n", " "),
                        "pass a .npy file holding a (K, 3) float array") from exc


def load_palette(path: str | Path) -> tuple[torch.Tensor, dict]:
    """Read a palette .npy: shape (K, 3), or the course's (K, 1, 3) / (1, K, 3) forms.

    The course's own file is an object array whose first element is the palette (see _read_object_npy).
    Values with a maximum above 1 are taken as 0-255 pixel values and divided by 256 (the data's
    scale); otherwise they are already on the 0-1 scale. Returns (K, 3) float32 and a description.
    """
    p = Path(path).expanduser().resolve()
    raw = _read_npy(p)
    if raw.dtype.kind not in "fiu":  # complex, strings, records: float() would drop or fail
        raise DataError(f"palette {p} holds {raw.dtype} values", "store RGB colours as real numbers, 0-1 or 0-255")
    arr = np.asarray(raw, dtype=np.float64)
    if arr.ndim == 3 and 1 in arr.shape[:2]:
        arr = arr.reshape(-1, arr.shape[2])
    if arr.ndim != 2 or arr.shape[1] != 3 or not 2 <= arr.shape[0] <= MAX_COLOURS:
        raise DataError(f"palette {p} has shape {raw.shape}", "expected (K, 3), (K, 1, 3) or (1, K, 3) with 2 <= K <= 256")
    if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 255:
        raise DataError(f"palette {p} has values outside 0-255", "store RGB colours in 0-1 or in 0-255")
    scale = "0-255" if arr.max() > 1.0 else "0-1"
    if scale == "0-255":
        arr = arr / 256.0
    _refuse_repeated_colours(p, arr, raw.reshape(arr.shape))
    info = {"kind": "file", "path": str(p), "sha256": sha256_of(p),
            "scale": scale, "k": int(arr.shape[0])}
    return torch.from_numpy(arr).float(), info


def _refuse_repeated_colours(p: Path, arr: np.ndarray, raw: np.ndarray) -> None:
    """DataError naming the first rows that hold one colour twice (nearest-colour gives every such pixel to the
    first, so the second label would count in K but never be predicted or scored)."""
    near = np.abs(arr[:, None, :] - arr[None, :, :]).max(axis=2) <= SAME_COLOUR  # (K, K)
    pairs = [(i, j) for i, j in zip(*np.nonzero(np.triu(near, 1)))]
    if not pairs:
        return
    i, j = pairs[0]
    colour = ", ".join(f"{v:g}" for v in raw[i])
    more = f" ({len(pairs) - 1} more such pair{'s' if len(pairs) > 2 else ''})" if len(pairs) > 1 else ""
    raise DataError(f"palette {p} holds one colour twice: rows {i} and {j} (counting from 0) are both ({colour}){more}, "
                    f"so label {j} could never be predicted", "keep one row of each colour: K distinct colours give K labels")


def nearest_colour(images: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
    """Index of the nearest palette colour (Euclidean, RGB) of every pixel: uint8 (N, 3, H, W) -> long (N, H, W).

    Computed on the images' device in chunks, with the exact differences (no |x|^2 - 2xc + |c|^2 form,
    whose rounding can flip near-ties). float32 still rounds each distance by up to ~3e-7 of it, so pixels
    whose two nearest colours are within 1e-5 of each other are decided again in float64 on the CPU, as the
    notebook's numpy (float64) labels them.
    """
    n, _, h, w = images.shape
    pal = palette.to(images.device, torch.float32)  # (K, 3)
    pal64 = palette.detach().cpu().double()
    flat = images.permute(0, 2, 3, 1).reshape(-1, 3)  # (N*H*W, 3) uint8
    out = torch.empty(len(flat), dtype=torch.long, device=images.device)
    with torch.inference_mode():
        for start in range(0, len(flat), LABEL_CHUNK):
            chunk = flat[start:start + LABEL_CHUNK]
            x = chunk.float() / 256.0  # (P, 3)
            d2 = (x.unsqueeze(1) - pal.unsqueeze(0)).square().sum(2)  # (P, K)
            labels = d2.argmin(dim=1)
            near = ((d2 <= d2.gather(1, labels.unsqueeze(1)) * (1 + 1e-5)).sum(1) > 1).nonzero().squeeze(1)
            if len(near):
                x64 = chunk[near].cpu().double() / 256.0  # (Q, 3)
                labels[near] = (x64.unsqueeze(1) - pal64.unsqueeze(0)).square().sum(2).argmin(dim=1).to(labels.device)
            out[start:start + LABEL_CHUNK] = labels
    return out.reshape(n, h, w)


def colours_of(labels: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
    """Palette colours of labels: (N, H, W) -> (N, H, W, 3) float."""
    return palette.to(labels.device)[labels]
