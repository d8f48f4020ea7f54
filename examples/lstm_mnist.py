"""An LSTM classifying MNIST: each 28x28 image is read as a sequence of 28 rows of 28
pixels (``nn.LSTM(28, hidden, batch_first=True)``), and a linear layer classifies the last
hidden state. The train/test loop is the classic one of the PyTorch courses.

    python examples/lstm_mnist.py                    # 3 epochs on all of MNIST
    python examples/lstm_mnist.py --limit 10000      # the first 10,000 train/test images
    python examples/lstm_mnist.py --quick            # 5 epochs on 1,000 images (the tests)

MNIST is read from ``--root``: the four IDX files (gzipped or not) in ``root/MNIST/raw/``
(torchvision's layout), ``root/mnist/`` or ``root`` itself. Each epoch prints the test
loss and accuracy; the last line is ``final test accuracy: X``.

Replace ``import ember`` by ``import torch`` (and ``ember.vision`` by ``torchvision``) and
the same script runs on PyTorch.
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


class RowLSTM(nn.Module):
    """Reads an image row by row: ``N x 1 x 28 x 28`` -> a batch of 28-step sequences of 28
    features -> LSTM -> the last layer's hidden state after the last row -> 10 logits."""

    def __init__(self, hidden=128, num_layers=1):
        super().__init__()
        self.lstm = nn.LSTM(input_size=28, hidden_size=hidden, num_layers=num_layers,
                            batch_first=True)
        self.fc = nn.Linear(hidden, 10)

    def forward(self, x):
        x = x.squeeze(1)                    # N x 28 (rows = time steps) x 28 (features)
        # output: N x 28 x hidden, every step's top-layer state; h_n: num_layers x N x
        # hidden, the last step's state of each layer (h_n[-1] == output[:, -1] here)
        _output, (h_n, _c_n) = self.lstm(x)
        return self.fc(h_n[-1])


def train(model, loader, optimizer, loss_fn, epoch, log_interval):
    model.train()
    for batch_idx, (data, target) in enumerate(loader):
        optimizer.zero_grad()
        output = model(data)
        loss = loss_fn(output, target)
        loss.backward()
        optimizer.step()
        if log_interval and batch_idx % log_interval == 0:
            print(f"Train Epoch: {epoch} [{batch_idx * len(data):>5d}/{len(loader.dataset)}]"
                  f"\tLoss: {loss.item():.6f}")


def test(model, loader, loss_fn):
    model.eval()
    test_loss, correct = 0.0, 0
    with ember.no_grad():
        for data, target in loader:
            output = model(data)
            test_loss += loss_fn(output, target).item() * len(data)   # sum over the batch
            pred = output.argmax(dim=1)
            correct += (pred == target).sum().item()
    n = len(loader.dataset)
    return test_loss / n, correct / n


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=DEFAULT_ROOT,
                        help="folder holding MNIST/raw/ or mnist/ (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=None, help="default 3 (--quick: 5)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 64 (--quick: 32)")
    parser.add_argument("--hidden", type=int, default=128, help="LSTM hidden size")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N train and test samples "
                             "(default: all; --quick: 1000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=200,
                        help="batches between loss lines (0: none)")
    parser.add_argument("--quick", action="store_true", help="tiny settings for the tests")
    args = parser.parse_args()
    if args.epochs is None:
        args.epochs = 5 if args.quick else 3
    if args.batch_size is None:
        args.batch_size = 32 if args.quick else 64
    if args.limit is None and args.quick:
        args.limit = 1000

    ember.manual_seed(args.seed)
    train_set = load_mnist(args.root, train=True, limit=args.limit)
    test_set = load_mnist(args.root, train=False, limit=args.limit)
    print(f"{len(train_set)} training and {len(test_set)} test images from {args.root}")
    # a seeded generator makes the shuffling order reproducible
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              generator=ember.Generator().manual_seed(args.seed))
    test_loader = DataLoader(test_set, batch_size=1000)

    model = RowLSTM(args.hidden)
    print(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)

    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        train(model, train_loader, optimizer, loss_fn, epoch, args.log_interval)
        test_loss, accuracy = test(model, test_loader, loss_fn)
        print(f"Epoch {epoch}: test loss {test_loss:.4f}, test accuracy {accuracy:.4f} "
              f"({time.perf_counter() - start:.1f} s)")
    print(f"final test accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
