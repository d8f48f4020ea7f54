"""Digits: 1,797 8x8 images of handwritten digits bundled with ember (no download).

The data is the test set of the UCI "Optical Recognition of Handwritten Digits" data set
(E. Alpaydin and C. Kaynak, 1998; CC BY 4.0), the same data as scikit-learn's
``load_digits``; see ``ember/vision/datasets/data/NOTICE`` for its origin and license.
"""
from __future__ import annotations

import os
from typing import ClassVar

import numpy as np

from ...ops import creation as _creation
from .vision import VisionDataset, _make_image

__all__ = ["Digits"]

_DATA_FILE = os.path.join(os.path.dirname(__file__), "data", "digits.npz")
_cache: dict[str, np.ndarray] = {}


def _load_raw() -> tuple[np.ndarray, np.ndarray]:
    """The bundled images (uint8 1797x8x8, values 0..16) and labels (uint8 1797)."""
    if not _cache:
        with np.load(_DATA_FILE, allow_pickle=False) as f:
            _cache["images"] = f["images"]
            _cache["targets"] = f["targets"]
    return _cache["images"], _cache["targets"]


def _split_order(n: int, seed: int) -> np.ndarray:
    """A permutation of ``range(n)`` that depends only on ``seed``: indices sorted by a
    SplitMix64 hash of ``(seed, index)``. Integer arithmetic only, so the split is the same
    on every platform and NumPy version (NumPy's own generators promise no such thing)."""
    with np.errstate(over="ignore"):
        z = np.arange(n, dtype=np.uint64) + np.uint64(seed % (1 << 64)) * \
            np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return np.argsort(z, kind="stable")


class Digits(VisionDataset):
    """The 8x8 handwritten digits that ship with ember: 1,797 images in 10 classes (about
    180 per digit), ready without any download.

    Split: the indices are shuffled by a fixed permutation determined by ``seed`` (identical
    on every machine); the first ``round(1797 * test_fraction)`` indices form the test set
    and the rest the training set, each kept in the original order. With the defaults
    (``test_fraction=0.2``, ``seed=0``) that is 1,438 training and 359 test images, always
    the same ones. The split is not stratified: class counts per split vary a little.

    Args:
        root: unused (the data is bundled); accepted for the common dataset signature.
        train (bool or None): the training split, the test split (False), or all 1,797
            images in the original order (None).
        transform, target_transform (callable, optional): applied to image / target.
        test_fraction (float): the share of images in the test split, in (0, 1).
        seed (int): chooses the split.

    The original pixels count "on" dots in 4x4 blocks, 0..16. They are rescaled to the
    usual 0..255 range, ``round(v * 255 / 16)`` (half up), so ``ToTensor`` gives [0, 1]:
    ``data`` is a uint8 tensor ``N x 8 x 8`` and ``targets`` an int64 tensor. Samples are
    ``(image, int)`` with a PIL ``'L'`` image (Pillow installed) or a ``1 x 8 x 8`` uint8
    tensor, like :class:`MNIST`.
    """

    classes: ClassVar = [str(d) for d in range(10)]

    def __init__(self, root=None, train: bool | None = True, transform=None,
                 target_transform=None, test_fraction: float = 0.2, seed: int = 0) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
        if train not in (True, False, None):
            raise ValueError(f"train must be True, False or None, got {train!r}")
        self.train = train
        self.test_fraction = test_fraction
        self.seed = seed
        images, targets = _load_raw()
        n = len(images)
        if train is None:
            idx = np.arange(n)
        else:
            order = _split_order(n, seed)
            n_test = int(np.floor(n * test_fraction + 0.5))
            idx = np.sort(order[n_test:] if train else order[:n_test])
        scaled = (images[idx].astype(np.uint16) * 255 + 8) // 16
        self.data = _creation.from_numpy(scaled.astype(np.uint8))
        self.targets = _creation.from_numpy(targets[idx].astype(np.int64))
        self.indices = idx   # positions in the full 1,797-image set

    def __getitem__(self, index: int):
        img = _make_image(self.data.numpy()[index], "L")
        return self._apply(img, int(self.targets.numpy()[index]))

    def __len__(self) -> int:
        return len(self.data)

    @property
    def class_to_idx(self) -> dict:
        return {c: i for i, c in enumerate(self.classes)}

    def extra_repr(self) -> str:
        split = {True: "Train", False: "Test", None: "All"}[self.train]
        return f"Split: {split} (test_fraction={self.test_fraction}, seed={self.seed})"
