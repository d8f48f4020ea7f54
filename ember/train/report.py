"""``metrics.json`` and the two PNG figures of a training run.

The figures are drawn with matplotlib's object-oriented API on an Agg canvas
(``matplotlib.figure.Figure`` + ``FigureCanvasAgg``), never through ``pyplot``, so writing
them neither needs a display nor changes the backend of a program that imported ember.
"""
from __future__ import annotations

import json
import os

import numpy as np

__all__ = ["plot_confusion", "plot_curves", "require_matplotlib", "write_json"]


def require_matplotlib():
    """Import matplotlib's Figure and Agg canvas, or raise ImportError naming the extra."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError('the plots of `ember train` need matplotlib: pip install "ember[train]"'
                          " (or pip install matplotlib)") from e
    return Figure, FigureCanvasAgg


def write_json(path: str, obj) -> None:
    """Write ``obj`` as indented JSON, atomically (a crash never leaves half a file)."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def plot_curves(history: list, path: str, title: str = "") -> None:
    """Loss (left) and accuracy (right) per epoch, train and test, as a PNG."""
    Figure, FigureCanvasAgg = require_matplotlib()
    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for split, style in (("train", "o-"), ("test", "s-")):
        ax_loss.plot(epochs, [h[f"{split}_loss"] for h in history], style, label=split)
        ax_acc.plot(epochs, [100 * h[f"{split}_acc"] for h in history], style, label=split)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(True, alpha=0.3)
        ax.legend()
        # integer epochs only
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, format="png")


def plot_confusion(confusion, classes: list, path: str, title: str = "") -> None:
    """The confusion matrix (rows: true class, columns: predicted) as a PNG, with counts."""
    Figure, FigureCanvasAgg = require_matplotlib()
    cm = np.asarray(confusion)
    k = len(classes)
    side = max(4.5, 0.45 * k + 2)
    fig = Figure(figsize=(side + 1, side), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(classes, rotation=45 if max(map(len, classes)) > 2 else 0, ha="right"
                       if max(map(len, classes)) > 2 else "center")
    ax.set_yticklabels(classes)
    ax.set(xlabel="predicted", ylabel="true", title=title or "confusion matrix")
    if k <= 20:
        threshold = cm.max() / 2 if cm.size else 0
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if cm[i, j] > threshold else "black")
    fig.tight_layout()
    fig.savefig(path, format="png")
