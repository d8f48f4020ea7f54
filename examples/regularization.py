"""Weight decay and dropout, side by side: the same MLP trained four times on the same
MNIST images, from the same initial weights and in the same batch order, with

(a) no regularization,
(b) weight decay: ``SGD(..., weight_decay=wd)`` adds ``wd * w`` to every gradient, which
    pulls the weights towards zero (an L2 penalty ``wd / 2 * ||w||^2`` on the loss),
(c) dropout: ``nn.Dropout(p)`` after each hidden layer zeroes a random share ``p`` of the
    activations in training (and scales the rest by ``1 / (1 - p)``); ``model.eval()``
    turns it off,
(d) both.

For each it prints the final training and test accuracy and the L2 norm of the weight
matrices, ``sqrt(sum ||W||^2)``: the runs with weight decay end with visibly smaller
weights. A small training set is where regularization shows (an unregularized network
fits it perfectly and tests worse), hence the default ``--limit 5000``.

    python examples/regularization.py                  # 20 epochs on 5,000 images, 4 runs
    python examples/regularization.py --limit 0        # all of MNIST
    python examples/regularization.py --quick          # 600 images (the tests)
"""
import argparse
import os
import time

import ember
from ember import nn
from ember.utils.data import DataLoader, TensorDataset
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


def make_mlp(dropout, hidden=512):
    """784 -> hidden -> hidden -> 10 with ReLUs; ``nn.Dropout(dropout)`` after each hidden
    layer when ``dropout > 0``. Dropout has no parameters, so with or without it the
    model draws the same initial weights from the same seed."""
    def block(n_in, n_out):
        layers = [nn.Linear(n_in, n_out), nn.ReLU()]
        return layers + [nn.Dropout(dropout)] if dropout > 0 else layers
    return nn.Sequential(nn.Flatten(), *block(28 * 28, hidden), *block(hidden, hidden),
                         nn.Linear(hidden, 10))


def weight_norm(model):
    """L2 norm of all weight matrices together (the biases, which weight decay also
    shrinks but which hardly matter for overfitting, are left out)."""
    squares = sum((p.detach() ** 2).sum() for name, p in model.named_parameters()
                  if name.endswith("weight"))
    return squares.sqrt().item()


def accuracy(model, loader):
    model.eval()                       # dropout off
    correct = 0
    with ember.no_grad():
        for data, target in loader:
            correct += (model(data).argmax(1) == target).sum().item()
    return correct / len(loader.dataset)


def run(name, dropout, weight_decay, args, train_set, test_set):
    """Train one configuration from the shared seed; returns (train acc, test acc, norm)."""
    ember.manual_seed(args.seed)        # same initial weights and dropout masks stream
    model = make_mlp(dropout)
    optimizer = ember.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9,
                                weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              generator=ember.Generator().manual_seed(args.seed))
    start = time.perf_counter()
    for _ in range(args.epochs):
        model.train()                   # dropout on
        for data, target in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(data), target)
            loss.backward()
            optimizer.step()
    eval_train = DataLoader(train_set, batch_size=1000)
    eval_test = DataLoader(test_set, batch_size=1000)
    result = accuracy(model, eval_train), accuracy(model, eval_test), weight_norm(model)
    print(f"{name:<28s} train accuracy {result[0]:.4f}, test accuracy {result[1]:.4f}, "
          f"weight norm {result[2]:.4f} ({time.perf_counter() - start:.1f} s)")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=DEFAULT_ROOT,
                        help="folder holding MNIST/raw/ or mnist/ (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=None, help="default 20 (--quick: 10)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.02, help="SGD learning rate")
    parser.add_argument("--weight-decay", type=float, default=5e-3)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N train and test samples; 0: all "
                             "(default: 5000; --quick: 600)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny settings for the tests")
    args = parser.parse_args()
    if args.epochs is None:
        args.epochs = 10 if args.quick else 20
    if args.limit is None:
        args.limit = 600 if args.quick else 5000
    limit = args.limit or None          # 0 means all

    train_set = load_mnist(args.root, train=True, limit=limit)
    test_set = load_mnist(args.root, train=False, limit=limit)
    print(f"{len(train_set)} training and {len(test_set)} test images from {args.root}; "
          f"{args.epochs} epochs, weight_decay={args.weight_decay}, dropout={args.dropout}")
    configs = [
        ("(a) no regularization", 0.0, 0.0),
        ("(b) weight decay", 0.0, args.weight_decay),
        ("(c) dropout", args.dropout, 0.0),
        ("(d) weight decay + dropout", args.dropout, args.weight_decay),
    ]
    norms = {}
    for name, dropout, weight_decay in configs:
        norms[name] = run(name, dropout, weight_decay, args, train_set, test_set)[2]
    a, b, c, d = norms.values()
    print(f"weight decay shrinks the weights: {a:.4f} -> {b:.4f} without dropout, "
          f"{c:.4f} -> {d:.4f} with it")


if __name__ == "__main__":
    main()
