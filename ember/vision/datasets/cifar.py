"""CIFAR-10 and CIFAR-100 from their "python version" pickled batches.

Layout (torchvision's): ``root/cifar-10-batches-py/{data_batch_1..5, test_batch,
batches.meta}`` and ``root/cifar-100-python/{train, test, meta}``. ``download=True`` fetches
and MD5-checks the official archive and extracts it.

The batches are pickles, and unpickling runs code named in the file. They are read with a
restricted unpickler that rebuilds only dicts, lists, strings, numbers, bytes and NumPy
arrays: the only globals it resolves are NumPy's array reconstructor, ``numpy.ndarray``,
``numpy.dtype`` and ``_codecs.encode`` (how Python 3 writes bytes in protocol-2 pickles); any
other global raises ``pickle.UnpicklingError``. A tampered file therefore cannot run code.
"""
from __future__ import annotations

import codecs
import os
import pickle
from typing import ClassVar

import numpy as np

from .utils import _format_missing, _url_error, check_integrity, download_and_extract_archive
from .vision import VisionDataset, _make_image

__all__ = ["CIFAR10", "CIFAR100", "load_pickle"]

_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(0))[0]     # numpy's _reconstruct, any version
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,    # NumPy 1.x pickles (CIFAR's)
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,   # NumPy 2.x pickles
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global '{module}.{name}': CIFAR batches only need NumPy "
                "arrays (allowed: numpy's _reconstruct, numpy.ndarray, numpy.dtype, "
                "_codecs.encode)") from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not allowed in CIFAR batches")


def load_pickle(path):
    """Load a pickle that may contain only plain containers and NumPy arrays (see the module
    docstring). Python 2 strings are decoded as latin-1, as CIFAR's files need."""
    with open(path, "rb") as f:
        return _RestrictedUnpickler(f, encoding="latin1").load()


class CIFAR10(VisionDataset):
    """`CIFAR-10 <https://www.cs.toronto.edu/~kriz/cifar.html>`_: 32x32 colour images in 10
    classes, 50,000 for training (5 batches) and 10,000 for testing.

    Args:
        root (str or Path): the directory holding ``cifar-10-batches-py/``.
        train (bool): the training batches or the test batch.
        transform, target_transform (callable, optional): applied to image / target.
        download (bool): fetch and extract the archive if files are missing.

    Attributes:
        data: uint8 ndarray ``N x 32 x 32 x 3`` (HWC, as torchvision). targets: list of int.
        classes, class_to_idx: from the meta file.

    Images are PIL ``'RGB'`` images with Pillow, else ``3 x 32 x 32`` uint8 tensors. Unlike
    torchvision, the batch files' MD5s are checked after a download, not on every load (only
    the chosen split's batches and the meta file must exist), so re-encoded or synthetic
    batches in the same format load too.
    """

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list: ClassVar = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list: ClassVar = [
        ["test_batch", "40351d587109b95175f43aff81a1287e"],
    ]
    meta: ClassVar = {
        "filename": "batches.meta",
        "key": "label_names",
        "md5": "5ff9c542aee3614f3951f8cda6e48888",
    }

    def __init__(self, root, train: bool = True, transform=None, target_transform=None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        missing = self._missing()
        if missing:
            raise RuntimeError(_format_missing(
                missing, os.path.join(os.fspath(self.root), self.base_folder),
                f"(extracted from {self.filename}), or pass download=True to download "
                f"{self.url}."))
        data, targets = [], []
        for name, _ in (self.train_list if self.train else self.test_list):
            path = os.path.join(os.fspath(self.root), self.base_folder, name)
            entry = load_pickle(path)
            if not isinstance(entry, dict) or "data" not in entry:
                raise RuntimeError(f"{path} is not a CIFAR batch (no 'data' entry)")
            batch = np.asarray(entry["data"])
            labels = entry["labels"] if "labels" in entry else entry.get("fine_labels")
            if batch.dtype != np.uint8 or batch.ndim != 2 or batch.shape[1] != 3 * 32 * 32 \
                    or labels is None or len(labels) != batch.shape[0]:
                raise RuntimeError(f"{path} is not a CIFAR batch: expected uint8 data of shape "
                                   f"(N, 3072) and N labels, got {batch.dtype} "
                                   f"{batch.shape} and {None if labels is None else len(labels)}"
                                   " labels")
            data.append(batch)
            targets.extend(int(v) for v in labels)
        # rows are 1024 red, 1024 green, 1024 blue values: N x 3 x 32 x 32 -> N x 32 x 32 x 3
        self.data = np.vstack(data).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        self.targets = targets
        self._load_meta()

    def _files(self, both_splits: bool = False) -> list[str]:
        lists = self.train_list + self.test_list if both_splits else \
            (self.train_list if self.train else self.test_list)
        return [n for n, _ in lists] + [self.meta["filename"]]

    def _missing(self, both_splits: bool = False) -> list[str]:
        folder = os.path.join(os.fspath(self.root), self.base_folder)
        return [n for n in self._files(both_splits)
                if not os.path.isfile(os.path.join(folder, n))]

    def _check_integrity(self) -> bool:
        """Whether every batch and the meta file exist with their published MD5s."""
        folder = os.path.join(os.fspath(self.root), self.base_folder)
        files = self.train_list + self.test_list + [[self.meta["filename"], self.meta["md5"]]]
        return all(check_integrity(os.path.join(folder, n), md5) for n, md5 in files)

    def _load_meta(self) -> None:
        path = os.path.join(os.fspath(self.root), self.base_folder, self.meta["filename"])
        data = load_pickle(path)
        self.classes = list(data[self.meta["key"]])
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def download(self) -> None:
        """Download and extract the archive (MD5-checked) unless all files are present, then
        check every extracted file's MD5."""
        if not self._missing(both_splits=True):
            return
        try:
            download_and_extract_archive(self.url, self.root, filename=self.filename,
                                         md5=self.tgz_md5)
        except (OSError, RuntimeError) as e:
            raise RuntimeError(
                f"Error downloading {self.filename}:\n  {_url_error(self.url, e)}\nWithout "
                f"network access, extract {self.filename} into {self.root} yourself.") from e
        if not self._check_integrity():
            raise RuntimeError(f"The files extracted from {self.filename} do not have their "
                               "published MD5 checksums: the archive is corrupted.")

    def __getitem__(self, index: int):
        img = _make_image(self.data[index], "RGB")
        return self._apply(img, self.targets[index])

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class CIFAR100(CIFAR10):
    """`CIFAR-100 <https://www.cs.toronto.edu/~kriz/cifar.html>`_: like :class:`CIFAR10`
    with 100 classes (``fine_labels``), files ``root/cifar-100-python/{train, test,
    meta}``."""

    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list: ClassVar = [
        ["train", "16019d7e3df5f24257cddd939b257f8d"],
    ]
    test_list: ClassVar = [
        ["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"],
    ]
    meta: ClassVar = {
        "filename": "meta",
        "key": "fine_label_names",
        "md5": "7973b15100ade9c7d40fb424638fde48",
    }
