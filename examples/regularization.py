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

Reading MNIST, the common options and the train/evaluate loops (``train_one_epoch``,
``evaluate``) come from ``mnist_common.py`` next to this script.
"""
import time

import ember
from ember import nn
from ember.utils.data import DataLoader

# isort: split
from mnist_common import evaluate, load_mnist, mnist_parser, train_one_epoch


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
        train_one_epoch(model, train_loader, optimizer, loss_fn)    # in train mode: dropout on
    # evaluate() switches to eval mode, dropout off; of (loss, accuracy) only the accuracy
    _, train_acc = evaluate(model, DataLoader(train_set, batch_size=1000), loss_fn)
    _, test_acc = evaluate(model, DataLoader(test_set, batch_size=1000), loss_fn)
    norm = weight_norm(model)
    print(f"{name:<28s} train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f}, "
          f"weight norm {norm:.4f} ({time.perf_counter() - start:.1f} s)")
    return train_acc, test_acc, norm


def main():
    parser = mnist_parser(__doc__, epochs=20, quick_epochs=10, limit=5000, quick_limit=600,
                          seed=0)
    parser.add_argument("--lr", type=float, default=0.02, help="SGD learning rate")
    parser.add_argument("--weight-decay", type=float, default=5e-3)
    parser.add_argument("--dropout", type=float, default=0.5)
    args = parser.parse_args()     # --limit 0 (all of MNIST) comes back as None

    train_set = load_mnist(args.root, train=True, limit=args.limit)
    test_set = load_mnist(args.root, train=False, limit=args.limit)
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
