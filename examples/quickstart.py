"""Quickstart: the whole workflow of a PyTorch course, in ember, on the 8x8 digits bundled
with ember (no download).

Working with data (Dataset, DataLoader) -> creating a model (nn.Module) -> optimizing its
parameters (loss, optimizer, a train loop and a test loop) -> saving the model's state_dict
-> loading it into a fresh model for inference.

    python examples/quickstart.py            # 10 epochs, about 5 seconds
    python examples/quickstart.py --quick    # 2 epochs (what the tests run)

Replace ``import ember`` by ``import torch`` (and ``ember.vision`` by ``torchvision``,
``Digits`` by ``FashionMNIST``) and the same script runs on PyTorch.
"""
import argparse
import os

import ember
from ember import nn
from ember.utils.data import DataLoader
from ember.vision.datasets import Digits
from ember.vision.transforms import ToTensor

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--quick", action="store_true", help="2 epochs instead of 10")
parser.add_argument("--out", default=".", help="where model.pth goes (default: .)")
args = parser.parse_args()
ember.manual_seed(0)

# -- Working with data -----------------------------------------------------------------------
# A dataset returns (image, label) pairs; ToTensor turns each 8x8 image into a 1x8x8 float
# tensor in [0, 1]. A DataLoader batches (and here shuffles) them.
training_data = Digits(train=True, transform=ToTensor())
test_data = Digits(train=False, transform=ToTensor())
batch_size = 32
train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=batch_size)

for X, y in test_dataloader:
    print(f"Shape of X [N, C, H, W]: {X.shape}")
    print(f"Shape of y: {y.shape} {y.dtype}")
    break

# -- Creating a model ------------------------------------------------------------------------
device = "cpu"   # ember computes with NumPy on the CPU
print(f"Using {device} device")


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8 * 8, 128),
            nn.ReLU(),
            nn.Linear(128, 128),
            nn.ReLU(),
            nn.Linear(128, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork().to(device)
print(model)

# -- Optimizing the model parameters ---------------------------------------------------------
loss_fn = nn.CrossEntropyLoss()
optimizer = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)

        # Compute prediction error
        pred = model(X)
        loss = loss_fn(pred, y)

        # Backpropagation
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        if batch % 15 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with ember.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(ember.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return correct


epochs = 2 if args.quick else 10
for t in range(epochs):
    print(f"Epoch {t + 1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    accuracy = test(test_dataloader, model, loss_fn)
print("Done!")

# -- Saving the model ------------------------------------------------------------------------
os.makedirs(args.out, exist_ok=True)
path = os.path.join(args.out, "model.pth")
ember.save(model.state_dict(), path)
print(f"Saved PyTorch Model State to {path}")

# -- Loading the model and making predictions ------------------------------------------------
model = NeuralNetwork().to(device)
model.load_state_dict(ember.load(path, weights_only=True))

classes = [str(d) for d in range(10)]
model.eval()
x, y = test_data[0][0], test_data[0][1]
with ember.no_grad():
    x = x.to(device)
    pred = model(x)
    predicted, actual = classes[pred[0].argmax(0)], classes[y]
    print(f'Predicted: "{predicted}", Actual: "{actual}"')

# -- Exporting to ONNX and checking the file with onnxruntime ---------------------------------
# (the onnx and onnxruntime packages come with ember's train and onnx extras)
try:
    import numpy as np
    import onnxruntime
except ImportError:
    print("onnxruntime is not installed: skipping the ONNX export (pip install 'ember[onnx]')")
else:
    onnx_path = os.path.join(args.out, "model.onnx")
    X, _ = next(iter(test_dataloader))
    ember.onnx.export(model, X[:1], onnx_path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    session = onnxruntime.InferenceSession(onnx_path, None)
    onnx_logits = session.run(["logits"], {"input": X.numpy()})[0]
    with ember.no_grad():
        agree = np.allclose(onnx_logits, model(X).numpy(), atol=1e-4)
    print(f"Saved ONNX model to {onnx_path}; onnxruntime agrees with ember: {agree}")
    if not agree:
        raise SystemExit("the ONNX model disagrees with the ember model")
print(f"final test accuracy: {accuracy:.4f}")
