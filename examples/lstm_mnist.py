"""An LSTM classifying MNIST: each 28x28 image is read as a sequence of 28 rows of 28
pixels (``nn.LSTM(28, hidden, batch_first=True)``), and a linear layer classifies the last
hidden state. The train/test loop is the classic one of the PyTorch courses.

    python examples/lstm_mnist.py                    # 3 epochs on all of MNIST
    python examples/lstm_mnist.py --limit 10000      # the first 10,000 train/test images
    python examples/lstm_mnist.py --quick            # 5 epochs on 1,000 images (the tests)

Beside ``mlp_mnist.py``, the model differs and so does the optimizer (Adam); the data,
the common options, the loops (from ``mnist_common.py``) and the output are the same, and
so is the way to run it on PyTorch.
"""
import time

import ember
from ember import nn

# isort: split
from mnist_common import evaluate, mnist_loaders, mnist_parser, print_epoch, train_one_epoch


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


def main():
    parser = mnist_parser(__doc__, epochs=3, quick_epochs=5, batch_size=64,
                          quick_batch_size=32, quick_limit=1000, seed=1)
    parser.add_argument("--hidden", type=int, default=128, help="LSTM hidden size")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    parser.add_argument("--log-interval", type=int, default=200,
                        help="batches between loss lines (0: none)")
    args = parser.parse_args()

    ember.manual_seed(args.seed)
    train_loader, test_loader = mnist_loaders(args)
    model = RowLSTM(args.hidden)
    print(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)

    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        train_one_epoch(model, train_loader, optimizer, loss_fn, epoch, args.log_interval)
        test_loss, accuracy = evaluate(model, test_loader, loss_fn)
        print_epoch(epoch, test_loss, accuracy, start)
    print(f"final test accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
