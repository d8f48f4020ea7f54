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
Reading MNIST, the common options and the train/evaluate loops (``train_one_epoch``,
``evaluate``) come from ``mnist_common.py`` next to this script.
"""
import copy
import time

import ember
import ember.nn.functional as F
from ember import nn
from ember.utils.data import DataLoader, random_split

# isort: split
from mnist_common import evaluate, load_mnist, mnist_parser, train_one_epoch


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


def main():
    parser = mnist_parser(__doc__, epochs=30, quick_epochs=15, quick_limit=600, seed=0,
                          epochs_help="the most epochs to run")
    parser.add_argument("--patience", type=int, default=3,
                        help="epochs without improvement before stopping (default: 3)")
    parser.add_argument("--min-delta", type=float, default=0.0,
                        help="an improvement must lower the best validation loss by more "
                             "than this (default: 0)")
    parser.add_argument("--val-fraction", type=float, default=0.2,
                        help="share of the training set held out for validation")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    args = parser.parse_args()

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
