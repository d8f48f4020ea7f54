"""A multilayer perceptron on MNIST: 784 -> 256 -> 10 with a ReLU, trained with the classic
train/test loop of the PyTorch courses (``model.train()``, ``optimizer.zero_grad()``,
``loss.backward()``, ``optimizer.step()``; then ``model.eval()`` under ``no_grad()``).

    python examples/mlp_mnist.py                     # 5 epochs on all of MNIST
    python examples/mlp_mnist.py --limit 10000       # the first 10,000 train/test images
    python examples/mlp_mnist.py --quick             # 2 epochs on 1,000 images (the tests)

MNIST is read from ``--root``: the four IDX files (gzipped or not) in ``root/MNIST/raw/``
(torchvision's layout), ``root/mnist/`` or ``root`` itself. Each epoch prints the test
loss and accuracy; the last line is ``final test accuracy: X``.

What the MNIST examples share is in ``mnist_common.py`` next to this script: reading MNIST
(``mnist_loaders``), the common options (``mnist_parser``), the train and test loops
(``train_one_epoch``, ``evaluate``) and the line each epoch prints (``print_epoch``).
Replace ``import ember`` by ``import torch`` (and ``ember.vision`` by ``torchvision``) here
and there, and the same script runs on PyTorch.
"""
import time

import ember
import ember.nn.functional as F
from ember import nn

# isort: split
from mnist_common import evaluate, mnist_loaders, mnist_parser, print_epoch, train_one_epoch


class MLP(nn.Module):
    def __init__(self, hidden=256):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(28 * 28, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        x = self.flatten(x)
        x = F.relu(self.fc1(x))
        return self.fc2(x)     # logits: CrossEntropyLoss applies log-softmax itself


def main():
    parser = mnist_parser(__doc__, epochs=5, quick_epochs=2, quick_limit=1000, seed=1)
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate")
    parser.add_argument("--log-interval", type=int, default=200,
                        help="batches between loss lines (0: none)")
    args = parser.parse_args()

    ember.manual_seed(args.seed)
    train_loader, test_loader = mnist_loaders(args)
    model = MLP()
    print(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = ember.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        train_one_epoch(model, train_loader, optimizer, loss_fn, epoch, args.log_interval)
        test_loss, accuracy = evaluate(model, test_loader, loss_fn)
        print_epoch(epoch, test_loss, accuracy, start)
    print(f"final test accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
