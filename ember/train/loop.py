"""One training epoch and one evaluation pass: the loops of the PyTorch quickstart, with
running statistics for the progress bar."""
from __future__ import annotations

import time

import numpy as np

from ..autograd.grad_mode import no_grad

__all__ = ["evaluate", "train_one_epoch"]


def train_one_epoch(model, loader, loss_fn, optimizer, scheduler=None, progress=None) -> dict:
    """Train ``model`` for one pass over ``loader``.

    Args:
        model: the module (put in training mode here).
        loader: yields ``(x, y)`` batches.
        loss_fn: ``loss_fn(logits, y)``, a mean over the batch.
        optimizer: stepped once per batch.
        scheduler: an LR scheduler stepped after every batch (per-batch schedules such as
            ``OneCycleLR``), or None.
        progress: None, or a callable taking the number of batches and returning a progress
            bar (e.g. ``functools.partial(tqdm, desc=...)`` called as ``progress(total)``):
            after every batch it gets ``set_postfix(loss=..., acc=..., refresh=False)`` and
            ``update(1)``, at the end ``refresh()`` and ``close()``.

    Returns:
        ``{"loss", "acc", "samples", "seconds"}``: the mean loss and the accuracy over the
        epoch's samples (computed on the fly with the weights of the moment, as usual).
    """
    model.train()
    start = time.perf_counter()
    total_loss, correct, seen = 0.0, 0, 0
    bar = None
    if progress is not None:
        try:
            bar = progress(len(loader))
        except TypeError:   # a loader without a length
            bar = progress(None)
    try:
        for x, y in loader:
            optimizer.zero_grad()
            logits = model(x)
            loss = loss_fn(logits, y)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            n = len(y)
            total_loss += loss.item() * n
            correct += int((logits.argmax(1) == y).sum().item())
            seen += n
            if bar is not None:
                bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.2%}",
                                refresh=False)
                bar.update(1)
    finally:
        if bar is not None:
            bar.refresh()   # the final figures, even when the last redraw was rate-limited
            bar.close()
    seconds = time.perf_counter() - start
    return {"loss": total_loss / max(seen, 1), "acc": correct / max(seen, 1), "samples": seen,
            "seconds": seconds}


def evaluate(model, loader, loss_fn, num_classes: int) -> dict:
    """Evaluate ``model`` (in eval mode, without autograd) on ``loader``.

    Returns:
        ``{"loss", "acc", "samples", "seconds", "confusion"}``; ``confusion[i, j]`` counts
        samples of true class ``i`` predicted as ``j`` (an ``int64`` NumPy array).
    """
    model.eval()
    start = time.perf_counter()
    total_loss, seen = 0.0, 0
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    with no_grad():
        for x, y in loader:
            logits = model(x)
            n = len(y)
            total_loss += loss_fn(logits, y).item() * n
            seen += n
            pred = logits.argmax(1).numpy()
            confusion += np.bincount(y.numpy() * num_classes + pred,
                                     minlength=num_classes ** 2).reshape(num_classes,
                                                                         num_classes)
    seconds = time.perf_counter() - start
    acc = float(np.trace(confusion)) / max(seen, 1)
    return {"loss": total_loss / max(seen, 1), "acc": acc, "samples": seen, "seconds": seconds,
            "confusion": confusion}
