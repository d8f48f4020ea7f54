"""Early stopping on MNIST: hold out part of the training set as a validation set, watch
the validation loss after every epoch, stop once it has not improved for ``--patience``
epochs, and put back the weights of the best epoch.

The pieces, as in the PyTorch courses:

* ``random_split(train_set, [n_train, n_val], generator=...)`` with a seeded generator,
  so the split is the same on every run; the test set stays untouched until the end;
* after each epoch, the validation loss under ``model.eval()`` and ``no_grad()``;
* a copy of the best ``state_dict`` (``copy.deepcopy``: ``state_dict()`` returns the live
  tensors, which the next optimizer step would overwrite), loaded back with
  ``load_state_dict`` when training ends.

    python examples/early_stopping.py                      # up to 30 epochs, patience 3
    python examples/early_stopping.py --limit 10000
    python examples/early_stopping.py --quick              # 600 images (the tests)

It prints each epoch's losses, then ``stopped early at epoch N`` or ``ran all epochs``,
``best validation loss: X (epoch K)``, the validation loss measured again after
restoring the best weights (equal to X), and the test accuracy of the restored model.
"""
import argparse
import copy
import os
import time

import ember
import ember.nn.functional as F
from ember import nn
from ember.utils.data import DataLoader, TensorDataset, random_split
from ember.vision import datasets

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ROOT = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081   # of the training images' pixels in [0, 1]


def load_mnist(root, train, limit=None):
    """One MNIST split as a ``TensorDataset`` of normalised ``1 x 28 x 28`` float images and
    int64 labels, keeping the first ``limit`` samples.

    ``datasets.MNIST`` reads the IDX files (from ``root/MNIST/raw/``, ``root/mnist/`` or
    ``root``) into ``.data`` (uint8, N x 28 x 28) and ``.targets``. They are normalised here
    in one go, which is what ``transforms.Compose([ToTensor(), Normalize((0.1307,),
    (0.3081,))])`` would do image by image: slicing a tensor per sample is much cheaper
    than a transform per sample.
    """
    try:
        mnist = datasets.MNIST(root, train=train)
    except RuntimeError as e:       # the files are not there; the message says where it looked
        raise SystemExit(f"{e}\nSet --root to the folder that holds them.") from None
    images, labels = mnist.data[:limit], mnist.targets[:limit]
    x = (images.float().div(255).unsqueeze(1) - MNIST_MEAN) / MNIST_STD
    return TensorDataset(x, labels)


class MLP(nn.Module):
    def __init__(self, hidden=512):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, 10)

    def forward(self, x):
        x = ember.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def train_one_epoch(model, loader, optimizer, loss_fn):
    """One pass over ``loader``; returns the mean training loss."""
    model.train()
    total = 0.0
    for data, target in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(data), target)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(data)
    return total / len(loader.dataset)


def evaluate(model, loader, loss_fn):
    """Mean loss and accuracy over ``loader``, in eval mode and without a graph."""
    model.eval()
    total, correct = 0.0, 0
    with ember.no_grad():
        for data, target in loader:
            output = model(data)
            total += loss_fn(output, target).item() * len(data)
            correct += (output.argmax(1) == target).sum().item()
    n = len(loader.dataset)
    return total / n, correct / n


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=DEFAULT_ROOT,
                        help="folder holding MNIST/raw/ or mnist/ (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="the most epochs to run (default 30; --quick: 15)")
    parser.add_argument("--patience", type=int, default=3,
                        help="epochs without improvement before stopping (default: 3)")
    parser.add_argument("--min-delta", type=float, default=0.0,
                        help="an improvement must lower the best validation loss by more "
                             "than this (default: 0)")
    parser.add_argument("--val-fraction", type=float, default=0.2,
                        help="share of the training set held out for validation")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N train and test samples "
                             "(default: all; --quick: 600)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny settings for the tests")
    args = parser.parse_args()
    if args.epochs is None:
        args.epochs = 15 if args.quick else 30
    if args.limit is None and args.quick:
        args.limit = 600

    ember.manual_seed(args.seed)
    full_train = load_mnist(args.root, train=True, limit=args.limit)
    test_set = load_mnist(args.root, train=False, limit=args.limit)
    n_val = int(len(full_train) * args.val_fraction)
    train_set, val_set = random_split(full_train, [len(full_train) - n_val, n_val],
                                      generator=ember.Generator().manual_seed(args.seed))
    print(f"{len(train_set)} training, {len(val_set)} validation and {len(test_set)} test "
          f"images from {args.root}")
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              generator=ember.Generator().manual_seed(args.seed))
    val_loader = DataLoader(val_set, batch_size=1000)
    test_loader = DataLoader(test_set, batch_size=1000)

    model = MLP()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)

    best_loss, best_epoch, best_state = float("inf"), 0, None
    epochs_without_improvement = 0
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        train_loss = train_one_epoch(model, train_loader, optimizer, loss_fn)
        val_loss, val_acc = evaluate(model, val_loader, loss_fn)
        print(f"Epoch {epoch}: train loss {train_loss:.6f}, validation loss {val_loss:.6f}, "
              f"validation accuracy {val_acc:.4f} ({time.perf_counter() - start:.1f} s)")
        if val_loss < best_loss - args.min_delta:
            best_loss, best_epoch = val_loss, epoch
            best_state = copy.deepcopy(model.state_dict())
            epochs_without_improvement = 0
        else:
            epochs_without_improvement += 1
            if epochs_without_improvement >= args.patience:
                print(f"stopped early at epoch {epoch}: no improvement for "
                      f"{args.patience} epochs")
                break
    else:
        print("ran all epochs")

    print(f"best validation loss: {best_loss:.6f} (epoch {best_epoch})")
    model.load_state_dict(best_state)
    restored_loss, _ = evaluate(model, val_loader, loss_fn)
    print(f"validation loss of the restored model: {restored_loss:.6f}")
    test_loss, test_acc = evaluate(model, test_loader, loss_fn)
    print(f"test loss {test_loss:.4f}")
    print(f"final test accuracy: {test_acc:.4f}")


if __name__ == "__main__":
    main()
