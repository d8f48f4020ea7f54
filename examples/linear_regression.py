"""Linear regression with a single neuron: 13 input features (the shape of the classic
house-price data) -> one output, fitted by mini-batch gradient descent on synthetic data
whose true weights are known, so the fit can be checked.

    python examples/linear_regression.py            # 100 epochs
    python examples/linear_regression.py --quick    # 20 epochs (what the tests run)

It prints the loss as training goes and, at the end, the learned weights next to the true
ones and the largest error ``max |w - w_true|``.
"""
import argparse

import ember
from ember import nn
from ember.utils.data import DataLoader, TensorDataset, random_split

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--quick", action="store_true", help="20 epochs instead of 100")
args = parser.parse_args()
ember.manual_seed(0)

# -- Data: y = X @ w_true + b_true + noise -------------------------------------------------
n_samples, n_features = 1000, 13
w_true = ember.linspace(-2.0, 2.0, n_features)
b_true = 0.5
X = ember.randn(n_samples, n_features)
y = X @ w_true + b_true + 0.1 * ember.randn(n_samples)
y = y.unsqueeze(1)            # (N, 1): the shape of the model's output

# standardising features is what one would do with real data; these already have mean 0
# and variance 1, so the learned weights are directly comparable with w_true
dataset = TensorDataset(X, y)
train_set, test_set = random_split(dataset, [800, 200],
                                   generator=ember.Generator().manual_seed(0))
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
test_loader = DataLoader(test_set, batch_size=200)

# -- Model: one neuron, no activation ------------------------------------------------------
model = nn.Linear(n_features, 1)
loss_fn = nn.MSELoss()
optimizer = ember.optim.SGD(model.parameters(), lr=0.01)
print(model)

epochs = 20 if args.quick else 100
for epoch in range(1, epochs + 1):
    model.train()
    for xb, yb in train_loader:
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if epoch == 1 or epoch % (epochs // 5) == 0:
        model.eval()
        with ember.no_grad():
            xt, yt = next(iter(test_loader))
            test_loss = loss_fn(model(xt), yt).item()
        print(f"epoch {epoch:>3}  train batch loss {loss.item():.5f}  test loss {test_loss:.5f}")

w = model.weight.detach().squeeze(0)
b = model.bias.detach().item()
print("feature   learned    true")
for i in range(n_features):
    print(f"  w[{i:>2}]  {w[i].item():8.4f}  {w_true[i].item():7.4f}")
print(f"  bias   {b:8.4f}  {b_true:7.4f}")
err = max((w - w_true).abs().max().item(), abs(b - b_true))
print(f"max |w - w_true| = {err:.4f}")
print(f"final test loss = {test_loss:.5f} (noise variance 0.01)")
