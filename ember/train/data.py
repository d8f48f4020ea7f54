"""The datasets ``ember train`` knows, their normalisation, and fast batching.

Every dataset is read once into memory as uint8 images ``N x C x H x W`` (what the files
hold) with int64 labels. :class:`ImageArrayDataset` serves them normalised, ``(x / 255 -
mean) / std`` per channel, and answers a *list* of indices with a whole batch. With
:func:`make_loader`'s ``DataLoader(dataset, sampler=BatchSampler(...), batch_size=None)``
(PyTorch's documented way to load a batch at a time) one epoch of MNIST costs a few hundred
fancy-indexing calls instead of 60,000 ``__getitem__`` calls and a 60,000-way collate,
which would take longer than the model's own work for the small models here.

Where the files are looked for (``root`` is ``--root``):

* ``digits``: bundled with ember (:class:`ember.vision.datasets.Digits`, 8x8, values 0..16
  already rescaled to 0..255); ``root`` is unused.
* ``mnist``, ``fashion-mnist``: read by :class:`ember.vision.datasets.MNIST` /
  :class:`~ember.vision.datasets.FashionMNIST`, which look for the four IDX files
  (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
  ``t10k-labels-idx1-ubyte``, each gzipped or not) in torchvision's ``root/MNIST/raw/``
  (``root/FashionMNIST/raw/``), then flat in ``root/mnist/`` (``root/fashion-mnist/``, ...)
  and in ``root`` itself, never reading one dataset's files for the other.
* ``cifar10``: ``root/cifar-10-batches-py/`` (torchvision's layout, the extracted Python
  version of CIFAR-10), or ``root`` naming that folder itself.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..ops import creation as _creation
from ..utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

__all__ = ["DATASETS", "DataNotFoundError", "DatasetSpec", "ImageArrayDataset",
           "load_dataset", "make_loader"]


class DataNotFoundError(FileNotFoundError):
    """A dataset's files are not where ``--root`` says; the message says where they were
    looked for and how to lay them out."""


@dataclass(frozen=True)
class DatasetSpec:
    """What the models and ``ember predict`` need to know about a dataset: the image
    geometry, the class count and the per-channel normalisation of ``x / 255``."""
    name: str
    channels: int
    size: int
    num_classes: int
    mean: tuple
    std: tuple
    description: str


# mean/std are those of the training split (x / 255), the usual published values; for
# Digits computed from the bundled data's training split.
DATASETS = {
    "digits": DatasetSpec("digits", 1, 8, 10, (0.3055,), (0.3762,),
                          "8x8 handwritten digits bundled with ember (1,438 train / 359 test)"),
    "mnist": DatasetSpec("mnist", 1, 28, 10, (0.1307,), (0.3081,),
                         "MNIST 28x28 handwritten digits (60,000 / 10,000)"),
    "fashion-mnist": DatasetSpec("fashion-mnist", 1, 28, 10, (0.2860,), (0.3530,),
                                 "Fashion-MNIST 28x28 clothing images (60,000 / 10,000)"),
    "cifar10": DatasetSpec("cifar10", 3, 32, 10, (0.4914, 0.4822, 0.4465),
                           (0.2470, 0.2435, 0.2616),
                           "CIFAR-10 32x32 colour images (50,000 / 10,000)"),
}


class ImageArrayDataset(Dataset):
    """In-memory images served normalised.

    Args:
        images: uint8 array ``N x C x H x W`` (or ``N x H x W`` for one channel).
        targets: integer labels ``N``.
        mean, std: per-channel normalisation of ``images / 255``.

    ``dataset[i]`` is ``(float32 tensor C x H x W, int)``; ``dataset[[i, j, ...]]`` (a
    list or 1-d integer array) is a batch ``(float32 tensor B x C x H x W, int64 tensor
    B)``, which is what :func:`make_loader`'s batch sampler asks for.
    """

    def __init__(self, images, targets, mean, std) -> None:
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[:, None]
        if images.ndim != 4:
            raise ValueError(f"images must be N x C x H x W, got shape {images.shape}")
        targets = np.asarray(targets, dtype=np.int64)
        if len(targets) != len(images):
            raise ValueError(f"{len(images)} images but {len(targets)} targets")
        self.images = images
        self.targets = targets
        c = images.shape[1]
        mean = np.asarray(mean, dtype=np.float32).reshape(-1, 1, 1)
        std = np.asarray(std, dtype=np.float32).reshape(-1, 1, 1)
        if mean.shape[0] != c or std.shape[0] != c:
            raise ValueError(f"mean/std have {mean.shape[0]}/{std.shape[0]} values for "
                             f"{c}-channel images")
        # (x / 255 - mean) / std as one multiply-add
        self._scale = (1.0 / (255.0 * std)).astype(np.float32)
        self._shift = (-mean / std).astype(np.float32)

    def __len__(self) -> int:
        return len(self.images)

    def normalize(self, images: np.ndarray) -> np.ndarray:
        """uint8 images (any leading dims, then C x H x W) -> normalised float32."""
        return images.astype(np.float32) * self._scale + self._shift

    def __getitem__(self, index):
        if isinstance(index, (list, tuple, np.ndarray)):
            idx = np.asarray(index, dtype=np.int64)
            return (_creation.from_numpy(self.normalize(self.images[idx])),
                    _creation.from_numpy(self.targets[idx]))
        return (_creation.from_numpy(self.normalize(self.images[index])),
                int(self.targets[index]))


def make_loader(dataset: ImageArrayDataset, batch_size: int, shuffle: bool, workers: int = 0,
                generator=None) -> DataLoader:
    """A ``DataLoader`` yielding ``(x, y)`` batches of ``dataset``, a batch per fetch.

    Args:
        dataset: an :class:`ImageArrayDataset` (anything answering a list of indices with a
            batch).
        batch_size: samples per batch (the last batch may be smaller).
        shuffle: a new random order every epoch.
        workers: fetch batches in that many worker processes (kept alive across epochs);
            0 fetches in the main process.
        generator: the ``ember.Generator`` the shuffling draws from (seed it to make the
            order reproducible); None uses the global random state.
    """
    sampler = RandomSampler(dataset, generator=generator) if shuffle else \
        SequentialSampler(dataset)
    return DataLoader(dataset, sampler=BatchSampler(sampler, batch_size, drop_last=False),
                      batch_size=None, num_workers=workers,
                      persistent_workers=workers > 0)


# -- locating and reading the files ------------------------------------------------------

_IDX_DATASETS = {"mnist": ("MNIST", "MNIST"), "fashion-mnist": ("FashionMNIST", "Fashion-MNIST")}


def _load_idx(name: str, root: str):
    """Both splits of MNIST or Fashion-MNIST through the vision dataset classes (which know
    the layouts), as uint8 ``N x 28 x 28`` images and int64 labels."""
    from ..vision import datasets
    from ..vision.datasets.mnist import DatasetNotFoundError
    cls_name, pretty = _IDX_DATASETS[name]
    cls = getattr(datasets, cls_name)
    try:
        splits = [cls(root, train=train) for train in (True, False)]
    except DatasetNotFoundError as e:
        raise DataNotFoundError(
            f"{pretty} files not found under --root {root!r}. Looked for "
            + " and ".join(f + "[.gz]" for f in e.missing) + " in:\n  "
            + "\n  ".join(e.looked_in)
            + f"\nPut the four IDX files (gzipped or not) in {e.searched[0]}/ (torchvision's "
            "layout) or another of the folders searched, or point --root at the folder that "
            "holds them.") from None
    return [(ds.data.numpy(), ds.targets.numpy()) for ds in splits]


def _load_cifar10(root: str):
    from ..vision.datasets import CIFAR10
    base = CIFAR10.base_folder
    candidates = [root]
    if os.path.basename(os.path.normpath(root)) == base:
        candidates.insert(0, os.path.dirname(os.path.normpath(root)))
    for candidate in candidates:
        if os.path.isdir(os.path.join(candidate, base)):
            try:
                train = CIFAR10(candidate, train=True)
                test = CIFAR10(candidate, train=False)
            except RuntimeError as e:
                raise DataNotFoundError(f"CIFAR-10 under --root {root!r} is incomplete: {e}") \
                    from e
            # torchvision keeps N x H x W x C; the models want channels first
            return ((np.ascontiguousarray(train.data.transpose(0, 3, 1, 2)), train.targets),
                    (np.ascontiguousarray(test.data.transpose(0, 3, 1, 2)), test.targets),
                    list(train.classes))
    raise DataNotFoundError(
        f"CIFAR-10 not found under --root {root!r}: expected the folder "
        f"{os.path.join(root, base)}/ (data_batch_1..5, test_batch, batches.meta), which is "
        "what extracting cifar-10-python.tar.gz gives.")


def load_dataset(name: str, root: str = "data", limit: int | None = None, seed: int = 0):
    """Read dataset ``name`` (a key of :data:`DATASETS`).

    Args:
        name: ``'digits'``, ``'mnist'``, ``'fashion-mnist'`` or ``'cifar10'``.
        root: where the files are (see the module docstring for the layouts).
        limit: keep only this many training samples (a random subset chosen by ``seed``,
            kept in file order); the test split is always complete.
        seed: chooses the ``limit`` subset.

    Returns:
        ``(train, test, spec, classes)``: two :class:`ImageArrayDataset`, the
        :class:`DatasetSpec` and the list of class names.

    Raises:
        DataNotFoundError: the files are missing.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    spec = DATASETS[name]
    if name == "digits":
        from ..vision.datasets import Digits
        tr, te = Digits(train=True), Digits(train=False)
        train = (tr.data.numpy(), tr.targets.numpy())
        test = (te.data.numpy(), te.targets.numpy())
        classes = list(Digits.classes)
    elif name in _IDX_DATASETS:
        train, test = _load_idx(name, root)
        if name == "mnist":
            classes = [str(d) for d in range(10)]
        else:
            from ..vision.datasets import FashionMNIST
            classes = list(FashionMNIST.classes)
    else:
        train, test, classes = _load_cifar10(root)
    x, y = train
    if limit is not None and limit < len(x):
        if limit < 1:
            raise ValueError(f"limit must be positive, got {limit}")
        keep = np.sort(np.random.default_rng(seed).permutation(len(x))[:limit])
        x, y = x[keep], np.asarray(y)[keep]
    return (ImageArrayDataset(x, y, spec.mean, spec.std),
            ImageArrayDataset(test[0], test[1], spec.mean, spec.std), spec, classes)
