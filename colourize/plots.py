"""Figures of a run: training curves, sample colourizations, a sweep summary. Each returns a Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; never a window

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def _figure(width: float, height: float) -> Figure:
    """A figure of this size in inches. The writeup prints a run's figures 5.35 in wide (80 % of an A4 text width):
    at about 7.5 in its 10 pt words (9 pt row names) print at 7 pt or more; 10 in would shrink them to 5."""
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(width, height))


def curves(epochs: list[dict], title: str) -> Figure:
    """Training and validation loss per epoch (left) and validation accuracy (right)."""
    fig = _figure(7.5, 3.2)
    ax_loss, ax_acc = fig.subplots(1, 2)
    x = [e["epoch"] for e in epochs]
    ax_loss.plot(x, [e["train_loss"] for e in epochs], "o-", ms=3, label="train")
    ax_loss.plot(x, [e["val_loss"] for e in epochs], "o-", ms=3, label="validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title=f"{title}: loss")
    ax_loss.legend()
    ax_acc.plot(x, [e["val_acc"] for e in epochs], "o-", ms=3, color="tab:green")
    ax_acc.set(xlabel="epoch", ylabel="pixel accuracy (%)", title=f"{title}: validation accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # whole epochs: no 1.25 on a 3-epoch run
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def samples(grey: np.ndarray, truth: np.ndarray, pred: np.ndarray, original: np.ndarray, title: str) -> Figure:
    """Rows: greyscale input, original colour, ground truth in palette colours, prediction.

    grey (N, H, W), truth / pred / original (N, H, W, 3), all in [0, 1].
    """
    rows = (("input (grey)", np.repeat(grey[..., None], 3, -1)), ("original", original), ("truth (palette)", truth),
            ("prediction", pred))
    n, h, w = grey.shape
    gap = max(1, min(h, w) // 8)  # white between the images
    # one image of the whole grid: 40 separate plots cost about a second of every run's end
    grid = np.ones((len(rows) * (h + gap) - gap, n * (w + gap) - gap, 3))
    for r, (_, images) in enumerate(rows):
        for c in range(n):
            grid[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = images[c]
    fig = _figure(0.6 * n + 0.8, 0.55 * n * grid.shape[0] / grid.shape[1] + 0.45)  # the grid's shape: no gap above
    ax = fig.subplots()
    ax.imshow(np.clip(grid, 0, 1), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([r * (h + gap) + (h - 1) / 2 for r in range(len(rows))], [label for label, _ in rows], fontsize=9)
    ax.tick_params(left=False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def sweep(values: list, rows: list[dict], param: str, title: str, xscale: str = "log2",
          spread: dict | None = None) -> Figure:
    """Final losses (train and validation) and validation accuracy against a swept parameter (x axis
    log2 for sizes such as the batch size, linear for seeds). With `spread` (repeats of one setting,
    e.g. seeds) the points are not joined, and each validation figure gets its mean and a ±1 sd band. Rows with
    chance_acc and chance_loss (a num-colours sweep) get those drawn dotted: each K is a task of its own chance
    level."""
    fig = _figure(7.5, 3.2)
    ax_loss, ax_acc = fig.subplots(1, 2)
    style = "o" if spread else "o-"
    xs = [float(v) for v in values]  # a batch size past int64 (10**30) is an object array matplotlib cannot log-scale
    series = [(ax_loss, "train_loss", "train loss", "tab:blue"), (ax_loss, "val_loss", "validation loss", "tab:orange"),
              (ax_acc, "val_acc", "validation accuracy", "tab:green")]
    chance = bool(rows) and "chance_acc" in rows[0]  # num-colours: each value is a task of its own chance level (1/K)
    if chance:
        series += [(ax_loss, "chance_loss", "chance: uniform guess, ln K", "grey"),
                   (ax_acc, "chance_acc", "chance: uniform guess, 100/K %", "grey")]
    for ax, key, label, colour in series:
        ax.plot(xs, [r[key] for r in rows], ":" if key.startswith("chance") else style, color=colour, label=label)
        if spread and key != "train_loss":
            mean, sd = spread[key]["mean"], spread[key]["sd"]
            ax.axhline(mean, color=colour, linestyle="--", linewidth=1)
            ax.axhspan(mean - sd, mean + sd, color=colour, alpha=0.12)
    ax_loss.set(xlabel=param, ylabel="final cross-entropy loss", title=f"{title}: loss")
    ax_loss.legend()
    ax_acc.set(xlabel=param, ylabel="final pixel accuracy (%)", title=f"{title}: validation accuracy")
    if chance:
        ax_acc.legend()
    for ax in (ax_loss, ax_acc):
        if xscale == "log2":
            ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [str(v) for v in values])
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
