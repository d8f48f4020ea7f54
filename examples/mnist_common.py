"""What the MNIST examples share: reading MNIST, their command-line options, and the
generic train and evaluate loops of the PyTorch courses.

The scripts next to this file (``mlp_mnist.py``, ``cnn_mnist.py``, ``lstm_mnist.py``,
``gan_mnist.py``, ``early_stopping.py``, ``regularization.py``) import it with
``from mnist_common import ...``: Python puts the folder of the script it runs on
``sys.path``, so ``python examples/mlp_mnist.py`` finds it. Each script keeps what makes it
an example of its own: its model, its optimizer, its epoch loop with the calls to the loops
below, and what only it prints. What is the same everywhere lives here once.

Like the scripts, this file uses only the part of ember that mirrors PyTorch: with
``import torch`` in place of ``import ember`` (and ``torchvision`` in place of
``ember.vision``) it runs on PyTorch.
"""
import argparse
import os
import time

import ember
from ember.utils.data import DataLoader, TensorDataset
from ember.vision import datasets

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ROOT = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081   # of the training images' pixels in [0, 1]


# ---------------------------------------------------------------------------- the data

def read_mnist(root, train):
    """The ``datasets.MNIST`` split (``.data``: uint8, N x 28 x 28; ``.targets``: int64).

    ``datasets.MNIST`` finds the four IDX files (gzipped or not) in ``root/MNIST/raw/``
    (torchvision's layout), ``root/mnist/`` or ``root``. When they are not there, its
    message (which says where it looked) ends the script without a traceback, with a hint
    about ``--root``.
    """
    try:
        return datasets.MNIST(root, train=train)
    except RuntimeError as e:
        raise SystemExit(f"{e}\nSet --root to the folder that holds them.") from None


def load_mnist(root, train, limit=None):
    """One MNIST split as a ``TensorDataset`` of normalised ``1 x 28 x 28`` float images and
    int64 labels, keeping the first ``limit`` samples (``None``: all).

    The images are normalised in one go, which is what ``transforms.Compose([ToTensor(),
    Normalize((0.1307,), (0.3081,))])`` would do image by image: slicing a tensor per
    sample is much cheaper than a transform per sample.
    """
    mnist = read_mnist(root, train)
    images, labels = mnist.data[:limit], mnist.targets[:limit]
    x = (images.float().div(255).unsqueeze(1) - MNIST_MEAN) / MNIST_STD
    return TensorDataset(x, labels)


def mnist_loaders(args):
    """The train and test ``DataLoader`` of a classifier example, from ``args.root``,
    ``args.limit``, ``args.batch_size`` and ``args.seed``; prints how many images each
    split holds.

    The training loader shuffles with its own seeded generator, so the batch order is the
    same on every run (and independent of what else draws random numbers); the test loader
    keeps the order and uses large batches, since no gradients are kept there.
    """
    train_set = load_mnist(args.root, train=True, limit=args.limit)
    test_set = load_mnist(args.root, train=False, limit=args.limit)
    print(f"{len(train_set)} training and {len(test_set)} test images from {args.root}")
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              generator=ember.Generator().manual_seed(args.seed))
    return train_loader, DataLoader(test_set, batch_size=1000)


# ---------------------------------------------------------------------------- the options

class MNISTArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose ``parse_args`` also fills in the defaults that depend on
    ``--quick``: an option left out gets its ``--quick`` value when ``--quick`` is given,
    its normal value otherwise (see ``mnist_parser``). ``--limit 0`` becomes ``None``,
    all of the samples."""

    def __init__(self, *args, quick_defaults=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.quick_defaults = quick_defaults or {}     # dest -> (normal, with --quick)

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        for dest, (normal, quick) in self.quick_defaults.items():
            if getattr(parsed, dest) is None:
                setattr(parsed, dest, quick if parsed.quick else normal)
        if parsed.limit == 0:       # --limit 0: all the samples, which is what [:None] keeps
            parsed.limit = None
        return parsed


def _default_help(normal, quick, what=None):
    """``default 5 (--quick: 2)``, or ``default 3`` where ``--quick`` changes nothing;
    after a ``what``: ``what (default 30; --quick: 15)``."""
    quick = "" if quick == normal else f"--quick: {quick}"
    if what:
        return f"{what} (default {normal}{'; ' + quick if quick else ''})"
    return f"default {normal}{' (' + quick + ')' if quick else ''}"


def mnist_parser(doc, *, epochs, quick_epochs=None, batch_size=64, quick_batch_size=None,
                 limit=None, quick_limit, seed, epochs_help=None,
                 limit_of="train and test samples"):
    """The options every MNIST example takes: ``--root``, ``--epochs``, ``--batch-size``,
    ``--limit``, ``--seed`` and ``--quick`` (the small settings the tests run with). The
    script adds its own (``--lr`` and the like) to the parser this returns.

    ``doc`` is the script's docstring: its first paragraph becomes the description.
    ``epochs``, ``batch_size`` and ``limit`` are the normal defaults, ``quick_*`` those
    under ``--quick`` (the normal ones where not given); ``limit=None`` is all of MNIST
    (and so is ``--limit 0`` on the command line). ``seed`` is the default of ``--seed``.
    For the help texts: ``epochs_help`` says what ``--epochs`` counts where that is not
    plain (early stopping: the most), ``limit_of`` what ``--limit`` keeps the first N of.
    """
    quick_epochs = epochs if quick_epochs is None else quick_epochs
    quick_batch_size = batch_size if quick_batch_size is None else quick_batch_size
    parser = MNISTArgumentParser(
        description=doc.split("\n\n")[0],
        quick_defaults={"epochs": (epochs, quick_epochs),
                        "batch_size": (batch_size, quick_batch_size),
                        "limit": (limit, quick_limit)})
    parser.add_argument("--root", default=DEFAULT_ROOT,
                        help="folder holding MNIST/raw/ or mnist/ (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=_default_help(epochs, quick_epochs, epochs_help))
    parser.add_argument("--batch-size", type=int, default=None,
                        help=_default_help(batch_size, quick_batch_size))
    all_ = "" if limit is None else "; 0: all"
    parser.add_argument("--limit", type=int, default=None,
                        help=f"use only the first N {limit_of}{all_} (default: "
                             f"{'all' if limit is None else limit}; --quick: {quick_limit})")
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--quick", action="store_true", help="tiny settings for the tests")
    return parser


# ---------------------------------------------------------------------------- the loops

def train_one_epoch(model, loader, optimizer, loss_fn, epoch=None, log_interval=0):
    """One pass over ``loader`` in training mode: for each batch, ``zero_grad``, forward,
    loss, ``backward``, ``step``. Returns the mean training loss over the epoch.

    With a ``log_interval``, every ``log_interval``-th batch prints a line
    ``Train Epoch: {epoch} [seen/total]  Loss: ...`` (the batch's loss).
    """
    model.train()                   # dropout and batch norm in their training behaviour
    total = 0.0
    for batch_idx, (data, target) in enumerate(loader):
        optimizer.zero_grad()       # the gradients accumulate otherwise
        output = model(data)
        loss = loss_fn(output, target)
        loss.backward()
        optimizer.step()
        batch_loss = loss.item()             # the mean over the batch
        total += batch_loss * len(data)
        if log_interval and batch_idx % log_interval == 0:
            print(f"Train Epoch: {epoch} [{batch_idx * len(data):>5d}/{len(loader.dataset)}]"
                  f"\tLoss: {batch_loss:.6f}")
    return total / len(loader.dataset)


def evaluate(model, loader, loss_fn):
    """The mean loss and the accuracy of ``model`` over ``loader``, in eval mode and under
    ``no_grad()`` (no graph is recorded: nothing here is differentiated)."""
    model.eval()
    total, correct = 0.0, 0
    with ember.no_grad():
        for data, target in loader:
            output = model(data)
            total += loss_fn(output, target).item() * len(data)   # sum over the batch
            correct += (output.argmax(dim=1) == target).sum().item()
    n = len(loader.dataset)
    return total / n, correct / n


def print_epoch(epoch, test_loss, accuracy, start):
    """``Epoch N: test loss L, test accuracy A (T s)``, ``T`` counted from ``start`` (a
    ``time.perf_counter()`` value)."""
    print(f"Epoch {epoch}: test loss {test_loss:.4f}, test accuracy {accuracy:.4f} "
          f"({time.perf_counter() - start:.1f} s)")
