"""MNIST and its drop-in relatives (Fashion-MNIST, Kuzushiji-MNIST, EMNIST), read from the
IDX files with NumPy.

Where the files are looked for, in this order (``MNIST`` stands for the class's name):

* ``root/MNIST/raw/``: torchvision's layout, and where ``download=True`` puts them;
* ``root/MNIST/`` and ``root/mnist/`` (plus ``root/fashion-mnist/`` and
  ``root/fashion_mnist/`` for Fashion-MNIST): the files unpacked into a folder of their own;
* ``root`` itself, unless its name (or, for ``.../raw``, its parent's) is that of another
  dataset of the family: MNIST and Fashion-MNIST files have the same names, so
  ``FashionMNIST('data/mnist')`` must not read MNIST.

The first folder holding both files of the split (images and labels, each gzipped
``train-images-idx3-ubyte.gz`` or not ``train-images-idx3-ubyte``) is used. With
``download=True`` missing files are fetched from the dataset's mirrors and their MD5 checked;
without network access, put the files in one of those folders yourself. When nothing is
found the error lists every folder searched.

Samples are ``(image, target)``: the image is a PIL image of mode ``'L'`` (as torchvision)
when Pillow is installed, else a ``1 x 28 x 28`` uint8 ember tensor (see
``ember.vision.set_image_backend``); ``ToTensor`` accepts both. The target is a Python int.
"""
from __future__ import annotations

import gzip
import os
import string
import warnings
from typing import ClassVar

import numpy as np

from ...ops import creation as _creation
from .utils import (
    _url_error,
    download_and_extract_archive,
    download_url,
    verify_str_arg,
)
from .vision import VisionDataset, _make_image

__all__ = ["EMNIST", "KMNIST", "MNIST", "DatasetNotFoundError", "FashionMNIST", "read_idx",
           "read_image_file", "read_label_file"]

# IDX type codes (third byte of the magic number) -> big-endian NumPy dtypes
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


# Lower-case folder names of the family's datasets: a root named like one of them that is not
# the dataset being loaded is never read as a flat folder (the file names are shared).
_FAMILY_FOLDERS = frozenset({"mnist", "fashionmnist", "fashion-mnist", "fashion_mnist", "kmnist",
                             "emnist", "qmnist"})


class DatasetNotFoundError(RuntimeError):
    """A dataset's files are in none of the folders searched. A ``RuntimeError``, as
    torchvision raises, that also carries the details for callers that phrase their own
    advice (``ember train``).

    Attributes:
        missing: the uncompressed file names looked for.
        searched: the folders searched, in order.
        skipped: folders not searched because their name is another dataset's.
        looked_in: one line per folder of ``searched`` and ``skipped``, saying which of the
            files a folder does hold, or that it was skipped (what the message lists).
    """

    def __init__(self, message: str, missing: list, searched: list, skipped: list,
                 looked_in: list) -> None:
        super().__init__(message)
        self.missing = missing
        self.searched = searched
        self.skipped = skipped
        self.looked_in = looked_in

    def __reduce__(self):     # picklable (e.g. out of a worker process) with its details
        return (type(self), (str(self), self.missing, self.searched, self.skipped,
                             self.looked_in))


def _open(path):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a native-endian NumPy array.

    The format: two zero bytes, a type code, the number of dimensions ``n``, then ``n``
    big-endian uint32 sizes and the data, big-endian.
    """
    with _open(path) as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4]!r})")
    ndim = raw[3]
    if ndim < 1 or len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: bad IDX header ({ndim} dimensions)")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dt = np.dtype(_IDX_TYPES[raw[2]])
    count = int(np.prod(shape))
    offset = 4 + 4 * ndim
    if len(raw) - offset < count * dt.itemsize:
        raise ValueError(f"{path} is truncated: the header announces shape {shape} "
                         f"({count * dt.itemsize} bytes) but only {len(raw) - offset} follow")
    data = np.frombuffer(raw, dtype=dt, count=count, offset=offset).reshape(shape)
    return data.astype(dt.newbyteorder("="))


def read_image_file(path):
    """An IDX file of uint8 images ``N x H x W`` as a uint8 ember tensor."""
    x = read_idx(path)
    if x.dtype != np.uint8:
        raise TypeError(f"{path}: x should be of dtype uint8 instead of {x.dtype}")
    if x.ndim != 3:
        raise ValueError(f"{path}: x should have 3 dimensions instead of {x.ndim}")
    return _creation.from_numpy(x)


def read_label_file(path):
    """An IDX file of uint8 labels ``N`` as an int64 ember tensor."""
    x = read_idx(path)
    if x.dtype != np.uint8:
        raise TypeError(f"{path}: x should be of dtype uint8 instead of {x.dtype}")
    if x.ndim != 1:
        raise ValueError(f"{path}: x should have 1 dimension instead of {x.ndim}")
    return _creation.from_numpy(x.astype(np.int64))


class MNIST(VisionDataset):
    """`MNIST <http://yann.lecun.com/exdb/mnist/>`_: 28x28 grayscale handwritten digits,
    60,000 for training and 10,000 for testing.

    Args:
        root (str or Path): the directory holding ``MNIST/raw/`` (torchvision's layout),
            or ``mnist/`` with the files, or the files themselves (see the module
            docstring for the search order).
        train (bool): the training set (``train-*``) or the test set (``t10k-*``).
        transform (callable, optional): applied to the image.
        target_transform (callable, optional): applied to the target.
        download (bool): fetch missing files from the mirrors (MD5-checked).

    Attributes:
        data: uint8 tensor ``N x 28 x 28``. targets: int64 tensor ``N``.
        classes: the class names; class_to_idx: name -> index.
    """

    mirrors: ClassVar = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources: ClassVar = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes: ClassVar = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    # other names (besides the class's own, any case) of a folder holding the files flat
    _folder_aliases: ClassVar = ()

    def __init__(self, root, train: bool = True, transform=None, target_transform=None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if self._locate() is None:
            raise self._not_found(
                "pass download=True to download them"
                + ("" if download else f" from {self._source()}") + ".")
        self.data, self.targets = self._load_data()

    # -- files --------------------------------------------------------------------------

    @property
    def raw_folder(self) -> str:
        return os.path.join(os.fspath(self.root), type(self).__name__, "raw")

    @property
    def processed_folder(self) -> str:
        return os.path.join(os.fspath(self.root), type(self).__name__, "processed")

    def _source(self) -> str:
        return self.mirrors[0]

    def _split_files(self, train: bool | None = None) -> list[str]:
        """The uncompressed names of the files a split reads (this one by default):
        images, then labels."""
        prefix = "train" if (self.train if train is None else train) else "t10k"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    @classmethod
    def _folder_names(cls) -> list[str]:
        """Names of a folder under ``root`` that holds the files directly."""
        names = [cls.__name__, *cls._folder_aliases, cls.__name__.lower()]
        return list(dict.fromkeys(names))   # unique, in order

    def _search_folders(self) -> tuple[list[str], list[str]]:
        """The folders searched for the files, in order, and those skipped because their
        name is another dataset's (see the module docstring)."""
        root = os.fspath(self.root)
        folders = [self.raw_folder] + [os.path.join(root, n) for n in self._folder_names()]
        name = os.path.basename(os.path.normpath(os.path.abspath(root))).lower()
        if name == "raw":
            name = os.path.basename(os.path.dirname(os.path.abspath(root))).lower()
        own = {n.lower() for n in self._folder_names()}
        if name in _FAMILY_FOLDERS and name not in own:
            return folders, [root]
        return folders + [root], []

    @staticmethod
    def _file_in(folder: str, name: str) -> str | None:
        """``folder/name`` or ``folder/name.gz``, whichever exists (None if neither)."""
        for candidate in (name, name + ".gz"):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                return path
        return None

    def _locate(self, train: bool | None = None) -> list[str] | None:
        """The paths of a split's files (this one by default), all from the first searched
        folder that holds every one of them; None when no folder does."""
        names = self._split_files(train)
        for folder in self._search_folders()[0]:
            paths = [self._file_in(folder, n) for n in names]
            if all(paths):
                return paths
        return None

    def _not_found(self, hint: str) -> DatasetNotFoundError:
        """The error for a split whose files are in no searched folder: it names the files,
        lists every folder searched (with any of the files it does hold) and ends with
        ``hint``."""
        missing = self._split_files()
        searched, skipped = self._search_folders()
        lines = []
        for folder in searched:
            present = [os.path.basename(p) for p in (self._file_in(folder, n) for n in missing)
                       if p]
            lines.append(folder + (f" (holds only {', '.join(present)})" if present else ""))
        lines += [f"{folder} (skipped: named for another dataset)" for folder in skipped]
        flat = os.path.join(os.fspath(self.root), self._folder_names()[1])
        files = " and ".join(m + "[.gz]" for m in missing)
        return DatasetNotFoundError(
            f"Dataset not found: no folder holds both {files}. Looked in:\n  "
            + "\n  ".join(lines)
            + f"\nPut the files (gzipped or not) in {self.raw_folder} (torchvision's layout) "
            f"or {flat}, or {hint}", missing, searched, skipped, lines)

    def _check_exists(self) -> bool:
        return self._locate() is not None

    def _load_data(self):
        images, labels = self._locate()
        return read_image_file(images), read_label_file(labels)

    def download(self) -> None:
        """Download the missing files of both splits (gzipped, MD5-checked) into
        ``raw_folder``, trying each mirror in turn."""
        # files already found (in raw_folder, or with the rest of their split in a flat
        # folder) are not fetched again
        have = {n for train in (True, False) if self._locate(train)
                for n in self._split_files(train)}
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            name = filename.removesuffix(".gz")
            if name in have or self._file_in(self.raw_folder, name) is not None:
                continue
            errors = []
            for mirror in self.mirrors:
                url = f"{mirror}{filename}"
                try:
                    download_url(url, self.raw_folder, filename, md5)
                except (OSError, RuntimeError) as e:   # URLError is an OSError
                    errors.append(_url_error(url, e))
                    continue
                break
            else:
                raise RuntimeError(
                    f"Error downloading {filename}:\n  " + "\n  ".join(errors) +
                    f"\nWithout network access, put {filename} (or its decompressed form) "
                    f"in {self.raw_folder} yourself.")

    # -- samples ------------------------------------------------------------------------

    def __getitem__(self, index: int):
        img = _make_image(self.data.numpy()[index], "L")
        target = int(self.targets.numpy()[index])
        return self._apply(img, target)

    def __len__(self) -> int:
        return len(self.data)

    @property
    def class_to_idx(self) -> dict:
        return {c: i for i, c in enumerate(self.classes)}

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"

    # torchvision's deprecated aliases
    @property
    def train_labels(self):
        warnings.warn("train_labels has been renamed targets", stacklevel=2)
        return self.targets

    @property
    def test_labels(self):
        warnings.warn("test_labels has been renamed targets", stacklevel=2)
        return self.targets

    @property
    def train_data(self):
        warnings.warn("train_data has been renamed data", stacklevel=2)
        return self.data

    @property
    def test_data(self):
        warnings.warn("test_data has been renamed data", stacklevel=2)
        return self.data


class FashionMNIST(MNIST):
    """`Fashion-MNIST <https://github.com/zalandoresearch/fashion-mnist>`_: 28x28 grayscale
    images of 10 kinds of clothing, in MNIST's format (``root/FashionMNIST/raw/``, or flat
    in ``root/fashion-mnist/``, ``root/fashion_mnist/``, ... as for :class:`MNIST`)."""

    _folder_aliases: ClassVar = ("fashion-mnist", "fashion_mnist")

    mirrors: ClassVar = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources: ClassVar = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes: ClassVar = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """`Kuzushiji-MNIST <https://github.com/rois-codh/kmnist>`_: 28x28 grayscale images of
    10 cursive Japanese characters, in MNIST's format (``root/KMNIST/raw/``)."""

    mirrors: ClassVar = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources: ClassVar = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes: ClassVar = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class EMNIST(MNIST):
    """`EMNIST <https://www.nist.gov/itl/products-and-services/emnist-dataset>`_: handwritten
    characters in MNIST's format, one of six ``split``\\ s: ``'byclass'`` (62 classes),
    ``'bymerge'`` and ``'balanced'`` (47), ``'letters'`` (26, labels 1..26), ``'digits'``
    and ``'mnist'`` (10).

    Files: ``root/EMNIST/raw/emnist-<split>-<train|test>-<images-idx3|labels-idx1>-ubyte``
    (optionally ``.gz``). As in torchvision, images are returned as stored, which is
    transposed relative to MNIST (apply ``lambda img: img.transpose(...)`` to view them
    upright).
    """

    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    splits: ClassVar = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    # letters whose upper and lower case look alike are merged in 'bymerge' and 'balanced'
    _merged_classes: ClassVar = {"c", "i", "j", "k", "l", "m", "o", "p", "s", "u", "v", "w",
                                 "x", "y", "z"}
    _all_classes: ClassVar = set(string.digits + string.ascii_letters)
    classes_split_dict: ClassVar = {
        "byclass": sorted(_all_classes),
        "bymerge": sorted(_all_classes - _merged_classes),
        "balanced": sorted(_all_classes - _merged_classes),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root, split: str, **kwargs) -> None:
        self.split = verify_str_arg(split, "split", self.splits)
        self.classes = self.classes_split_dict[self.split]
        super().__init__(root, **kwargs)

    def _source(self) -> str:
        return self.url

    def _split_files(self, train: bool | None = None) -> list[str]:
        train = self.train if train is None else train
        prefix = f"emnist-{self.split}-{'train' if train else 'test'}"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    def download(self) -> None:
        """Download the EMNIST archive (all splits, about 560 MB), check its MD5 and move the
        gzipped IDX files into ``raw_folder``."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        try:
            download_and_extract_archive(self.url, download_root=self.raw_folder, md5=self.md5)
        except (OSError, RuntimeError) as e:
            raise RuntimeError(f"Error downloading EMNIST:\n  {_url_error(self.url, e)}\n"
                               f"Without network access, put the emnist-* IDX files in "
                               f"{self.raw_folder} yourself.") from e
        gzip_folder = os.path.join(self.raw_folder, "gzip")
        for name in os.listdir(gzip_folder):
            if name.endswith(".gz"):
                os.replace(os.path.join(gzip_folder, name), os.path.join(self.raw_folder, name))
        for name in os.listdir(gzip_folder):
            os.remove(os.path.join(gzip_folder, name))
        os.rmdir(gzip_folder)

