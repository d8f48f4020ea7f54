"""Saving and loading models, the three usual ways:

1. the state_dict only (recommended): ``ember.save(model.state_dict(), path)``, then
   ``model.load_state_dict(ember.load(path, weights_only=True))`` into a freshly built model;
2. the whole model: ``ember.save(model, path)``, then ``ember.load(path, weights_only=False)``
   (the model's class must be defined or imported in the loading program; ember never
   imports code named by a file);
3. a general checkpoint to resume training: a dict of the model's and the optimizer's
   state_dicts, the epoch and the loss.

    python examples/save_and_load.py --out /tmp/ckpts    # --quick trains for fewer steps

Each way is checked: the reloaded model must give exactly the outputs of the original.
"""
import argparse
import os
import tempfile

import ember
from ember import nn
from ember.vision.datasets import Digits

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--quick", action="store_true", help="train for 20 steps instead of 200")
parser.add_argument("--out", default=None, help="directory for the files (default: a "
                    "temporary one)")
args = parser.parse_args()
out = args.out or tempfile.mkdtemp(prefix="ember-save-")
os.makedirs(out, exist_ok=True)
ember.manual_seed(0)


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8),
                                      nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


# a little training so that the weights, the BatchNorm running statistics and the
# optimizer's moments are not at their initial values
data = Digits(train=True)
x_all = data.data.unsqueeze(1).float() / 255
y_all = data.targets
model = TinyCNN()
optimizer = ember.optim.Adam(model.parameters(), lr=1e-2)
loss_fn = nn.CrossEntropyLoss()
steps = 20 if args.quick else 200
for step in range(steps):
    idx = ember.randint(0, len(y_all), (64,))
    loss = loss_fn(model(x_all[idx]), y_all[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(f"trained {steps} steps, last loss {loss.item():.4f}")

model.eval()
probe = x_all[:16]
with ember.no_grad():
    reference = model(probe)


def check(name, other):
    other.eval()
    with ember.no_grad():
        same = ember.equal(other(probe), reference)
    print(f"{name}: outputs identical to the original: {same}")
    if not same:
        raise SystemExit(f"{name}: the reloaded model differs")


# 1. state_dict -------------------------------------------------------------------------------
path = os.path.join(out, "model_weights.pth")
ember.save(model.state_dict(), path)
fresh = TinyCNN()
fresh.load_state_dict(ember.load(path, weights_only=True))
check(f"state_dict ({path})", fresh)

# 2. whole model ------------------------------------------------------------------------------
path = os.path.join(out, "model.pth")
ember.save(model, path)
whole = ember.load(path, weights_only=False)
print(f"loaded a {type(whole).__name__}")
check(f"whole model ({path})", whole)

# 3. general checkpoint -----------------------------------------------------------------------
path = os.path.join(out, "checkpoint.tar")
ember.save({"epoch": 5, "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict(), "loss": loss.item()}, path)
checkpoint = ember.load(path, weights_only=True)
resumed = TinyCNN()
resumed_opt = ember.optim.Adam(resumed.parameters(), lr=1e-2)
resumed.load_state_dict(checkpoint["model_state_dict"])
resumed_opt.load_state_dict(checkpoint["optimizer_state_dict"])
print(f"checkpoint: epoch {checkpoint['epoch']}, loss {checkpoint['loss']:.4f}, optimizer "
      f"state for {len(resumed_opt.state_dict()['state'])} parameters")
check(f"checkpoint ({path})", resumed)

# one more step from the checkpoint equals one more step of the original run
for m, opt in ((model, optimizer), (resumed, resumed_opt)):
    m.train()
    opt.zero_grad()
    loss_fn(m(x_all[:64]), y_all[:64]).backward()
    opt.step()
same = all(ember.equal(a, b) for a, b in zip(model.parameters(), resumed.parameters()))
print(f"training continues identically from the checkpoint: {same}")
if not same:
    raise SystemExit("resumed training differs")
