"""A small convolutional network on MNIST: two 5x5 convolutions with ReLU and 2x2 max
pooling, then a linear classifier, trained with the classic train/test loop of the PyTorch
courses (``model.train()``, ``optimizer.zero_grad()``, ``loss.backward()``,
``optimizer.step()``; then ``model.eval()`` under ``no_grad()``).

    python examples/cnn_mnist.py                     # 3 epochs on all of MNIST
    python examples/cnn_mnist.py --limit 10000       # the first 10,000 train/test images
    python examples/cnn_mnist.py --quick             # 3 epochs on 1,000 images (the tests)

Only the model differs from ``mlp_mnist.py``: the data, the options, the loops (from
``mnist_common.py``) and the output are the same, and so is the way to run it on PyTorch.
"""
import time

import ember
import ember.nn.functional as F
from ember import nn

# isort: split
from mnist_common import evaluate, mnist_loaders, mnist_parser, print_epoch, train_one_epoch


class CNN(nn.Module):
    """1x28x28 -> conv 5x5 (16) -> 16x28x28 -> pool -> 16x14x14 -> conv 5x5 (32) ->
    32x14x14 -> pool -> 32x7x7 -> linear -> 10 logits."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=5, padding=2)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = ember.flatten(x, 1)
        return self.fc(x)      # logits: CrossEntropyLoss applies log-softmax itself


def main():
    parser = mnist_parser(__doc__, epochs=3, quick_limit=1000, seed=1)
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate")
    parser.add_argument("--log-interval", type=int, default=200,
                        help="batches between loss lines (0: none)")
    args = parser.parse_args()

    ember.manual_seed(args.seed)
    train_loader, test_loader = mnist_loaders(args)
    model = CNN()
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
