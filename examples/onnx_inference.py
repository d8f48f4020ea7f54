"""Deploying a model with ONNX: export it from ember, run it with onnxruntime, and load the
ONNX file back into ember.

The steps follow the course material line by line: train (briefly) the quickstart's network
on the 8x8 digits bundled with ember, ``onnx.export(model, input_data, "data/model.onnx")``,
then ``onnxruntime.InferenceSession(path, None)``, ``session.get_inputs()[0].name`` and
``session.run([output_name], {input_name: x.numpy()})``. Last, ``ember.onnx.load`` turns the
file back into a trainable ember module (PyTorch cannot do that step).

    python examples/onnx_inference.py            # needs: pip install 'ember[onnx]'
    python examples/onnx_inference.py --quick
"""
import argparse
import os

import numpy as np
import onnxruntime

import ember
from ember import nn, onnx
from ember.utils.data import DataLoader
from ember.vision.datasets import Digits
from ember.vision.transforms import ToTensor

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--quick", action="store_true", help="1 epoch of training instead of 5")
parser.add_argument("--out", default="data", help="where model.onnx goes (default: data)")
args = parser.parse_args()
ember.manual_seed(0)


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8 * 8, 128), nn.ReLU(),
            nn.Linear(128, 128), nn.ReLU(),
            nn.Linear(128, 10),
        )

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


# -- a trained model -------------------------------------------------------------------------
training_data = Digits(train=True, transform=ToTensor())
test_data = Digits(train=False, transform=ToTensor())
model = NeuralNetwork()
loss_fn = nn.CrossEntropyLoss()
optimizer = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
for epoch in range(1 if args.quick else 5):
    model.train()
    for X, y in DataLoader(training_data, batch_size=32, shuffle=True):
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

# -- export: model, an example input, a file -------------------------------------------------
model.eval()
input_data = test_data[0][0].unsqueeze(0)            # one image, shape [1, 1, 8, 8]
os.makedirs(args.out, exist_ok=True)
path = os.path.join(args.out, "model.onnx")
onnx.export(model, input_data, path, input_names=["input"], output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
print(f"exported {path} ({os.path.getsize(path):,} bytes)")

# -- inference with onnxruntime --------------------------------------------------------------
session = onnxruntime.InferenceSession(path, None)
input_name = session.get_inputs()[0].name
output_name = session.get_outputs()[0].name
print(f"input: {input_name} {session.get_inputs()[0].shape}, "
      f"output: {output_name} {session.get_outputs()[0].shape}")

classes = [str(d) for d in range(10)]
x, y = test_data[0]
result = session.run([output_name], {input_name: x.unsqueeze(0).numpy()})
prediction = int(np.argmax(np.array(result).squeeze(), axis=0))
print(f'Predicted: "{classes[prediction]}", Actual: "{classes[y]}"')

# the whole test set in one call (the batch axis is dynamic)
X = ember.stack([test_data[i][0] for i in range(len(test_data))])
Y = np.array([test_data[i][1] for i in range(len(test_data))])
onnx_logits = session.run([output_name], {input_name: X.numpy()})[0]
with ember.no_grad():
    ember_logits = model(X).numpy()
print(f"onnxruntime test accuracy: {(onnx_logits.argmax(1) == Y).mean():.4f}, "
      f"ember test accuracy: {(ember_logits.argmax(1) == Y).mean():.4f}")
print(f"max |onnxruntime - ember| over the test set: "
      f"{np.abs(onnx_logits - ember_logits).max():.2e}")

# -- and back: the ONNX file as a trainable ember module ---------------------------------------
imported = onnx.load(path)
with ember.no_grad():
    same = np.allclose(imported(X).numpy(), ember_logits, atol=1e-5)
print(f"imported from ONNX: outputs equal to the original model: {same}")
print(f"state_dict keys kept: {list(imported.state_dict()) == list(model.state_dict())}")
