"""Where the MNIST family's IDX files are found: torchvision's ``root/MNIST/raw/``, a flat
``root/mnist/`` (and the other datasets' folder names), or ``root`` itself; which layout
wins; that one dataset's files are never read for another; what the error lists when
nothing is found. Tiny IDX files are written in each layout; the real MNIST files are read
too when they are on this machine."""
from __future__ import annotations

import gzip
import os
import pathlib

import numpy as np
import pytest

from ember.vision import datasets
from ember.vision.datasets.mnist import DatasetNotFoundError

REAL_ROOT = pathlib.Path("/work/shared/data")
needs_real = pytest.mark.skipif(
    not (REAL_ROOT / "mnist" / "t10k-images-idx3-ubyte.gz").is_file(),
    reason="the real MNIST files are not in /work/shared/data/mnist")


def write_idx(path, array, compress):
    array = np.asarray(array, dtype=np.uint8)
    data = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    data += array.tobytes()
    path = pathlib.Path(str(path) + (".gz" if compress else ""))
    path.parent.mkdir(parents=True, exist_ok=True)
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(data)


def write_split(folder, prefix="train", n=5, seed=0, compress=True, names=None):
    """Images and labels of one split in ``folder``; returns them as arrays."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, n).astype(np.uint8)
    images, labels = names or (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    write_idx(pathlib.Path(folder) / images, x, compress)
    write_idx(pathlib.Path(folder) / labels, y, compress)
    return x, y


def check(ds, x, y):
    np.testing.assert_array_equal(ds.data.numpy(), x)
    np.testing.assert_array_equal(ds.targets.numpy(), y.astype(np.int64))
    assert len(ds) == len(x)


# where the files are (relative to tmp_path) and what is passed as root
LAYOUTS = [("MNIST/raw", "."), ("MNIST", "."), ("mnist", "."), (".", "."), ("mnist", "mnist"),
           ("MNIST/raw", "MNIST/raw"), ("data/mnist", "data"), ("data/mnist", "data/mnist")]


@pytest.mark.parametrize("compress", [True, False], ids=["gz", "raw-bytes"])
@pytest.mark.parametrize("files, root", LAYOUTS)
def test_mnist_layouts(tmp_path, files, root, compress):
    train = write_split(tmp_path / files, "train", 6, seed=1, compress=compress)
    test = write_split(tmp_path / files, "t10k", 4, seed=2, compress=compress)
    check(datasets.MNIST(tmp_path / root, train=True), *train)
    check(datasets.MNIST(str(tmp_path / root), train=False), *test)


@pytest.mark.parametrize("cls, folder", [
    (datasets.FashionMNIST, "FashionMNIST/raw"), (datasets.FashionMNIST, "fashion-mnist"),
    (datasets.FashionMNIST, "fashion_mnist"), (datasets.FashionMNIST, "fashionmnist"),
    (datasets.FashionMNIST, "."), (datasets.KMNIST, "kmnist"), (datasets.KMNIST, "KMNIST"),
    (datasets.KMNIST, "."),
])
def test_family_layouts(tmp_path, cls, folder):
    test = write_split(tmp_path / folder, "t10k", 3)
    check(cls(tmp_path, train=False), *test)


@pytest.mark.parametrize("folder", ["EMNIST/raw", "emnist", "."])
def test_emnist_layouts(tmp_path, folder):
    names = ("emnist-digits-test-images-idx3-ubyte", "emnist-digits-test-labels-idx1-ubyte")
    test = write_split(tmp_path / folder, n=3, names=names)
    check(datasets.EMNIST(tmp_path, split="digits", train=False), *test)


def test_torchvision_layout_wins(tmp_path):
    raw = write_split(tmp_path / "MNIST" / "raw", seed=1)
    write_split(tmp_path / "mnist", seed=2)
    write_split(tmp_path, seed=3)
    check(datasets.MNIST(tmp_path), *raw)


def test_split_files_come_from_one_folder(tmp_path):
    # raw/ holds only the training images: both files come from the flat folder
    write_idx(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte",
              np.zeros((2, 28, 28)), compress=True)
    flat = write_split(tmp_path / "mnist", n=3)
    check(datasets.MNIST(tmp_path), *flat)


def test_files_split_across_folders_are_not_mixed(tmp_path):
    write_idx(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte",
              np.zeros((2, 28, 28)), compress=True)
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte", np.zeros(2), compress=False)
    with pytest.raises(RuntimeError) as info:
        datasets.MNIST(tmp_path)
    msg = str(info.value)
    assert f"{tmp_path / 'MNIST' / 'raw'} (holds only train-images-idx3-ubyte.gz)" in msg
    assert f"{tmp_path / 'mnist'} (holds only train-labels-idx1-ubyte)" in msg


def test_missing_message_lists_every_folder_searched(tmp_path):
    with pytest.raises(RuntimeError) as info:
        datasets.MNIST(tmp_path, train=False)
    e = info.value
    assert isinstance(e, DatasetNotFoundError)
    expected = [tmp_path / "MNIST" / "raw", tmp_path / "MNIST", tmp_path / "mnist", tmp_path]
    assert e.searched == [str(p) for p in expected]
    assert e.missing == ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    msg = str(e)
    assert msg.startswith("Dataset not found")
    assert "t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]" in msg
    assert "Looked in:\n  " + "\n  ".join(str(p) for p in expected) + "\n" in msg
    assert "download=True" in msg and datasets.MNIST.mirrors[0] in msg


def test_other_datasets_files_are_never_read(tmp_path):
    # MNIST and Fashion-MNIST files have the same names: a folder named for one is not
    # read as the other, whether it is root itself or root's parent (root = .../raw)
    write_split(tmp_path / "mnist", "t10k")
    write_split(tmp_path / "MNIST" / "raw", "t10k")
    for root in (tmp_path, tmp_path / "mnist", tmp_path / "MNIST" / "raw"):
        with pytest.raises(DatasetNotFoundError) as info:
            datasets.FashionMNIST(root, train=False)
        if root != tmp_path:
            assert info.value.skipped == [str(root)]
            assert f"{root} (skipped: named for another dataset)" in str(info.value)
    write_split(tmp_path / "fashion-mnist", "t10k")
    with pytest.raises(DatasetNotFoundError):
        datasets.MNIST(tmp_path / "fashion-mnist", train=False)
    # and a root named for the dataset itself is read
    datasets.MNIST(tmp_path / "mnist", train=False)
    datasets.FashionMNIST(tmp_path / "fashion-mnist", train=False)


def test_download_skips_files_found_flat(tmp_path, monkeypatch):
    # every mirror is unreachable: a download attempt would raise
    monkeypatch.setattr(datasets.MNIST, "mirrors", ["file:///nonexistent-mirror/"])
    test = write_split(tmp_path / "mnist", "t10k")
    write_split(tmp_path / "mnist", "train")
    check(datasets.MNIST(tmp_path, train=False, download=True), *test)
    assert not (tmp_path / "MNIST" / "raw").exists() or \
        not any((tmp_path / "MNIST" / "raw").iterdir())
    # with the test split missing, it is the one fetched (into raw/)
    os.remove(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(RuntimeError, match="Error downloading t10k-images-idx3-ubyte.gz"):
        datasets.MNIST(tmp_path, train=False, download=True)


@needs_real
@pytest.mark.parametrize("root", [REAL_ROOT, REAL_ROOT / "mnist"], ids=["data", "data/mnist"])
def test_real_mnist_flat(root):
    ds = datasets.MNIST(root, train=False)
    assert len(ds) == 10000 and tuple(ds.data.shape) == (10000, 28, 28)
    assert str(ds.data.dtype) == "ember.uint8" and str(ds.targets.dtype) == "ember.int64"
    counts = np.bincount(ds.targets.numpy(), minlength=10)
    assert counts.sum() == 10000 and len(counts) == 10 and counts.min() > 800
    # the first test digit of MNIST is a 7
    assert int(ds.targets[0]) == 7 and ds.data.numpy()[0].max() == 255


@needs_real
def test_real_mnist_train_split():
    ds = datasets.MNIST(REAL_ROOT, train=True)
    assert len(ds) == 60000 and int(ds.targets[0]) == 5


@needs_real
def test_real_mnist_is_not_fashion_mnist():
    for root in (REAL_ROOT, REAL_ROOT / "mnist"):
        with pytest.raises(DatasetNotFoundError):
            datasets.FashionMNIST(root, train=False)
