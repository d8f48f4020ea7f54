"""The MNIST examples (examples/*_mnist.py, early_stopping.py, regularization.py) run with
--quick and learn.

They never need the real MNIST: a small synthetic MNIST is written in the real IDX format
(gzipped, in torchvision's ``MNIST/raw/`` layout that ``ember.vision.datasets.MNIST``
reads) with a learnable structure: each class is a bright blob at its own place on a ring,
jittered and on a noisy background, so a model that learns gets far above the 10% of
chance, while the jitter makes neighbouring classes overlap a little (nothing reaches 100%
in one epoch, and an MLP can overfit the 600 training images).
"""
import gzip
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(REPO, "examples")

N_TRAIN, N_TEST = 600, 200


def _write_idx(path, array):
    """An IDX file: magic (0, 0, type 0x08 = uint8, ndim), big-endian uint32 sizes, data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def synthetic_digits(n, rng):
    """``n`` 28x28 uint8 images and their labels 0..9: class ``c`` is a Gaussian blob
    centred at angle ``2 pi c / 10`` on a ring of radius 8 around the image centre (5 px
    between neighbouring classes), shifted by up to 2 px in each direction, with a random
    width and brightness, on uniform background noise."""
    labels = rng.integers(0, 10, n)
    angle = 2 * np.pi * labels / 10
    cy = 13.5 + 8 * np.sin(angle) + rng.uniform(-2, 2, n)
    cx = 13.5 + 8 * np.cos(angle) + rng.uniform(-2, 2, n)
    sigma = rng.uniform(2.0, 3.0, n)[:, None, None]
    rows, cols = np.mgrid[0:28, 0:28]
    d2 = (rows - cy[:, None, None]) ** 2 + (cols - cx[:, None, None]) ** 2
    blob = rng.uniform(180, 255, n)[:, None, None] * np.exp(-d2 / (2 * sigma ** 2))
    noise = rng.uniform(0, 60, (n, 28, 28))
    return np.clip(blob + noise, 0, 255).astype(np.uint8), labels.astype(np.uint8)


def write_synthetic_mnist(folder, n_train=N_TRAIN, n_test=N_TEST, seed=0):
    """The four gzipped IDX files of a synthetic MNIST in ``folder``."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images, labels = synthetic_digits(n, rng)
        _write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), images)
        _write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"), labels)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A --root holding the synthetic MNIST in torchvision's layout, root/MNIST/raw/."""
    path = tmp_path_factory.mktemp("data")
    write_synthetic_mnist(os.path.join(path, "MNIST", "raw"))
    return str(path)


def run_example(name, *args, expect_ok=True):
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *args],
                          capture_output=True, text=True, timeout=300, cwd=REPO, check=False)
    if expect_ok:
        assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc if not expect_ok else proc.stdout


def numbers(pattern, text):
    """Every match of ``pattern`` (one group) in ``text``, as floats."""
    return [float(v) for v in re.findall(pattern, text)]


def test_synthetic_mnist_is_what_mnist_reads(root):
    from ember.vision.datasets import MNIST
    train, test = MNIST(root, train=True), MNIST(root, train=False)
    assert tuple(train.data.shape) == (N_TRAIN, 28, 28) and len(test) == N_TEST
    assert str(train.data.dtype) == "ember.uint8" and str(train.targets.dtype) == "ember.int64"
    assert sorted(set(train.targets.tolist())) == list(range(10))


def check_classifier(out, epochs, min_accuracy):
    """Per-epoch test lines, finite losses, and the final accuracy above ``min_accuracy``."""
    losses = numbers(r"Epoch \d+: test loss ([-+0-9.naif]+)", out)
    accuracies = numbers(r"test accuracy ([0-9.]+)", out)
    assert len(losses) == epochs and all(math.isfinite(v) for v in losses)
    assert losses[-1] < math.log(10)     # below the loss of a uniform guess
    final = float(re.search(r"final test accuracy: ([0-9.]+)", out).group(1))
    assert final == accuracies[-1]
    assert final > min_accuracy, out
    return final


def test_mlp_mnist(root):
    out = run_example("mlp_mnist.py", "--quick", "--root", root)
    assert f"{N_TRAIN} training and {N_TEST} test images" in out
    assert "Train Epoch: 1" in out
    check_classifier(out, epochs=2, min_accuracy=0.9)      # about 0.99 here


def test_mlp_mnist_finds_the_flat_layout_and_limit(tmp_path):
    # root/mnist/ holding the four files, as in the shared data folder
    write_synthetic_mnist(os.path.join(tmp_path, "mnist"), n_train=300, n_test=100, seed=1)
    out = run_example("mlp_mnist.py", "--quick", "--root", str(tmp_path), "--epochs", "1",
                      "--limit", "250", "--log-interval", "0")
    assert "250 training and 100 test images" in out
    assert "Train Epoch" not in out
    check_classifier(out, epochs=1, min_accuracy=0.5)


def test_missing_data_is_reported(tmp_path):
    proc = run_example("mlp_mnist.py", "--quick", "--root", str(tmp_path), expect_ok=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    # ember.vision.datasets.MNIST's message, naming the files and where it looked
    assert "train-images-idx3-ubyte" in proc.stderr
    assert os.path.join(str(tmp_path), "MNIST", "raw") in proc.stderr
    assert "Set --root to the folder that holds them." in proc.stderr


def test_cnn_mnist(root):
    out = run_example("cnn_mnist.py", "--quick", "--root", root)
    assert "Conv2d(1, 16, kernel_size=(5, 5)" in out
    check_classifier(out, epochs=3, min_accuracy=0.7)      # about 0.9 here


def test_lstm_mnist(root):
    out = run_example("lstm_mnist.py", "--quick", "--root", root)
    assert "LSTM(28, 128, batch_first=True)" in out
    check_classifier(out, epochs=5, min_accuracy=0.6)      # about 0.9 here


def test_gan_mnist(root, tmp_path):
    out = run_example("gan_mnist.py", "--quick", "--root", root, "--out", str(tmp_path))
    rows = re.findall(r"Epoch (\d+): loss_D ([^,]+), loss_G ([^,]+), D\(x\) ([^,]+), "
                      r"D\(G\(z\)\) ([^,]+), mean-image correlation ([-0-9.]+)", out)
    assert [int(r[0]) for r in rows] == [1, 2, 3]
    values = np.array([[float(v) for v in r[1:]] for r in rows])
    assert np.isfinite(values).all()
    loss_d, loss_g, d_real, d_fake = values[:, :4].T
    assert (loss_d > 0).all() and (loss_g > 0).all()
    assert ((0 < d_real) & (d_real < 1) & (0 < d_fake) & (d_fake < 1)).all()
    # the discriminator learns to tell real from generated right away ...
    assert d_real[0] > d_fake[0]
    # ... which is what a loss below that of guessing (2 log 2, D = 1/2 everywhere) says
    assert loss_d[0] < 2 * math.log(2)
    try:
        from PIL import Image
    except ImportError:
        Image = None
    if Image is None:      # without Pillow the grid is saved as a tensor
        import ember
        grid = ember.load(tmp_path / "samples_epoch_003.pt", weights_only=True)
        assert tuple(grid.shape) == (3, 242, 242)
        return
    names = sorted(os.listdir(tmp_path))
    assert names == [f"samples_epoch_{e:03d}.png" for e in (1, 2, 3)]
    assert f"saved samples to {tmp_path / 'samples_epoch_003.png'}" in out
    with Image.open(tmp_path / "samples_epoch_003.png") as im:
        # 8x8 grid of 28x28 samples with make_grid's 2-pixel padding
        assert im.size == (8 * 30 + 2, 8 * 30 + 2)
        pixels = np.asarray(im.convert("L"))
    first = pixels[2:30, 2:30]
    assert first.std() > 0                                # not a blank image
    assert not np.array_equal(first, pixels[2:30, 32:60])  # the samples differ


def early_stopping_log(out):
    val = numbers(r"validation loss ([0-9.]+), validation accuracy", out)
    best = float(re.search(r"best validation loss: ([0-9.]+) \(epoch (\d+)\)", out).group(1))
    best_epoch = int(re.search(r"best validation loss: [0-9.]+ \(epoch (\d+)\)", out).group(1))
    restored = float(re.search(r"validation loss of the restored model: ([0-9.]+)",
                               out).group(1))
    final = float(re.search(r"final test accuracy: ([0-9.]+)", out).group(1))
    return val, best, best_epoch, restored, final


def test_early_stopping_stops_and_restores_the_best_weights(root):
    patience = 2
    out = run_example("early_stopping.py", "--quick", "--root", root,
                      "--patience", str(patience))
    assert "480 training, 120 validation and 200 test images" in out
    val, best, best_epoch, restored, final = early_stopping_log(out)
    # the MLP overfits the 480 images: the validation loss turns up and training stops
    stopped = re.search(r"stopped early at epoch (\d+)", out)
    assert stopped and "ran all epochs" not in out, out
    assert int(stopped.group(1)) == len(val) < 15
    # it stopped exactly `patience` epochs after the best one, which was the minimum
    assert best == min(val) and val[best_epoch - 1] == best
    assert len(val) == best_epoch + patience
    assert all(v >= best for v in val[best_epoch:])
    # the weights at the end were worse; the restored ones give the best loss again
    assert val[-1] > best
    assert restored == best
    assert final > 0.9


def test_early_stopping_runs_all_epochs_while_improving(root):
    out = run_example("early_stopping.py", "--quick", "--root", root, "--epochs", "2")
    val, best, best_epoch, restored, _ = early_stopping_log(out)
    assert "ran all epochs" in out and "stopped early" not in out
    assert len(val) == 2 and val[1] < val[0]
    assert best_epoch == 2 and best == val[1] == restored


def test_regularization(root):
    out = run_example("regularization.py", "--quick", "--root", root)
    rows = re.findall(r"\(([abcd])\) [a-z +]+ train accuracy ([0-9.]+), test accuracy "
                      r"([0-9.]+), weight norm ([0-9.]+)", out)
    assert [r[0] for r in rows] == ["a", "b", "c", "d"]
    train_acc, test_acc, norm = (np.array([float(r[i]) for r in rows]) for i in (1, 2, 3))
    assert (train_acc > 0.9).all() and (test_acc > 0.9).all()
    a, b, c, d = norm
    # weight decay leaves clearly smaller weights, with and without dropout (about 8% here)
    assert b < 0.97 * a
    assert d < 0.97 * c
