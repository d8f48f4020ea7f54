"""One training step, ember next to PyTorch (CPU), in one run; plus import time and the
peak memory of a one-epoch MNIST training run.

A training step is what a training loop does per batch::

    loss = nn.CrossEntropyLoss()(model(x), y)    # forward and loss
    loss.backward()
    optimizer.step()                             # Adam(lr=1e-3)
    optimizer.zero_grad()

timed for these models (float32, random inputs and labels, milliseconds per step, best of
several repeats, ember and torch taking turns):

  mlp      Linear(784, 256) -> ReLU -> Linear(256, 10), at batch 1, 64 and 256;
  cnn      the CNN of ``ember train --model cnn`` for 1x28x28 images
           (``ember.train.models.CNN(1, 28, 10)``: two blocks of Conv2d 3x3 without bias,
           BatchNorm2d, ReLU, MaxPool2d(2) with 16 and 32 channels, then Dropout(0.2),
           Linear(1568, 128), ReLU, Dropout(0.2), Linear(128, 10)), built the same way in
           torch, at batch 64;
  lstm     LSTM(28, 128, num_layers=2, batch_first=True) over 28 steps of 28 features, then
           Linear(128, 10) on the last step's output, at batch 64.

The torch model gets a copy of the ember model's parameters and buffers (its
``load_state_dict`` with strict key matching also checks that the two architectures are
the same). Before anything is timed the script runs two steps of each pair with dropout off
and asserts that the losses agree within float32 tolerance, so both sides compute the same
thing, Adam's update included.

Then:

  import   ``import ember`` and ``import torch`` in fresh interpreters, best of N;
  memory   peak resident memory of one epoch of MNIST training (the MLP above, batch 64,
           Adam, shuffled, inputs normalised per batch), ember and torch each in a fresh
           interpreter that imports only NumPy and its own library. The peak is
           ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` read by a small launcher interpreter
           once the child has exited (see ``LAUNCHER``), and the child's own ``VmHWM``
           from ``/proc/self/status``; the child also reads its resident size there after
           the import and after loading the data. Real MNIST is read from
           ``--data-root`` (the layouts ``ember train`` knows, see ember/train/data.py)
           when found, else a synthetic uint8 array of the same size is used; the output
           says which.

``--threads`` (default 1) sets both ``torch.set_num_threads`` and NumPy's BLAS threads
(ember.train.threads.set_blas_threads, and the environment before NumPy loads); the memory
runs get the same setting.

Usage::

    python benchmarks/train_step.py                  # full run (about a minute)
    python benchmarks/train_step.py --quick          # shorter timings (about 20 seconds)
    python benchmarks/train_step.py --profile        # cProfile ember where it is slower
    python benchmarks/train_step.py --data-root /path/with/mnist

Without PyTorch it times ember alone (no ratios, no correctness check).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import struct
import subprocess
import sys
import time

import _timing

if __name__ == "__main__":
    _timing.pin_threads_early(default=1)   # before NumPy is imported

import numpy as np  # noqa: E402

# ember and torch are imported in main() and in the memory child, never here: the child
# that measures torch's memory must not have ember loaded, and the reverse.

DATA_ROOTS = (os.path.join(_timing.ROOT, "data"),
              os.path.join(_timing.ROOT, "..", "shared", "data"))
MNIST_FOLDERS = ("MNIST/raw", "mnist/raw", "mnist", "MNIST", ".")   # as ember/train/data.py
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
LR = 1e-3


# -- the models ---------------------------------------------------------------------------

def mlp(L):
    """784-256-10 with ReLU, in library ``L`` (ember or torch)."""
    nn = L.nn
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def ember_cnn(ember):
    """The CNN ``ember train --model cnn`` builds for 1x28x28 MNIST images."""
    from ember.train.models import CNN
    return CNN(1, 28, 10)


def torch_cnn(torch, width=16, hidden=128, dropout=0.2):
    """ember.train.models.CNN(1, 28, 10) written in torch: same submodule names, so the
    state_dict keys are the same and ember's weights load with strict matching."""
    nn = torch.nn

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            layers, c = [], 1
            for i in range(2):                      # 2 blocks for images under 32 pixels
                out = width * 2 ** i
                layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out),
                           nn.ReLU(), nn.MaxPool2d(2)]
                c = out
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout),
                                            nn.Linear(c * 7 * 7, hidden), nn.ReLU(),
                                            nn.Dropout(dropout), nn.Linear(hidden, 10))

        def forward(self, x):
            return self.classifier(self.features(x))

    return CNN()


def lstm_classifier(L):
    """2-layer LSTM(28 -> 128), batch first, then a linear head on the last time step."""
    nn = L.nn

    class LSTMClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(28, 128, num_layers=2, batch_first=True)
            self.fc = nn.Linear(128, 10)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.fc(out[:, -1])

    return LSTMClassifier()


# (label, ember builder, torch builder, input shape)
CASES = [
    ("mlp 784-256-10, batch 1", mlp, mlp, (1, 784)),
    ("mlp 784-256-10, batch 64", mlp, mlp, (64, 784)),
    ("mlp 784-256-10, batch 256", mlp, mlp, (256, 784)),
    ("cnn (ember train), batch 64", ember_cnn, torch_cnn, (64, 1, 28, 28)),
    ("lstm 2x128 + linear, batch 64", lstm_classifier, lstm_classifier, (64, 28, 28)),
]


# -- one step, and the check that both libraries compute it alike ---------------------------

def copy_state(ember_model, torch, torch_model):
    """Load ember's parameters and buffers into the torch model (strict: same keys)."""
    state = {k: torch.from_numpy(v.detach().numpy().copy())
             for k, v in ember_model.state_dict().items()}
    torch_model.load_state_dict(state, strict=True)


def make_step(L, model, x_np, y_np):
    """A closure running one training step of ``model`` on a fixed batch; returns the
    loss tensor (computed before the update)."""
    model.train()
    x, y = L.tensor(x_np), L.tensor(y_np)
    loss_fn = L.nn.CrossEntropyLoss()
    optimizer = L.optim.Adam(model.parameters(), lr=LR)

    def step():
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss
    return step


def _dropout_off(L, model):
    """Set every Dropout's p to 0 (the two libraries draw different masks); returns a
    function that puts the old values back."""
    saved = [(m, m.p) for m in model.modules() if isinstance(m, L.nn.Dropout)]
    for m, _ in saved:
        m.p = 0.0

    def restore():
        for m, p in saved:
            m.p = p
    return restore


def check_same(label, ember, torch, e_model, t_model, e_step, t_step, steps=3):
    """Run ``steps`` training steps in both libraries (dropout off) and assert that the
    losses agree within float32 tolerance. The first loss checks the forward pass and the
    copied weights; the later ones check the backward pass and Adam's update (a wrong
    gradient or step moves the loss). Returns the largest relative difference."""
    restore = [_dropout_off(ember, e_model), _dropout_off(torch, t_model)]
    try:
        le = np.array([e_step().item() for _ in range(steps)])
        lt = np.array([t_step().item() for _ in range(steps)])
    finally:
        for r in restore:
            r()
    assert np.allclose(le, lt, rtol=1e-4, atol=1e-5), (
        f"{label}: ember and torch losses differ over {steps} steps: {le} vs {lt}")
    return float(np.max(np.abs(le - lt) / np.maximum(np.abs(lt), 1e-12)))


# -- the memory child --------------------------------------------------------------------

def find_mnist(roots):
    """The first folder under one of ``roots`` holding MNIST's training images and labels
    (gzipped or not), in the layouts ember/train/data.py accepts; None when absent."""
    for root in roots:
        for sub in MNIST_FOLDERS:
            folder = os.path.normpath(os.path.join(root, sub))
            if all(_idx_path(folder, f) for f in MNIST_FILES):
                return folder
    return None


def _idx_path(folder, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None


def read_idx_uint8(path):
    """An IDX file of unsigned bytes (MNIST's format: a zero word with the type 0x08 and
    the number of dimensions, the big-endian dimensions, then the data) as an array."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _status_kb(field):
    """``field`` (e.g. ``VmRSS``) of /proc/self/status in kB; None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def memory_child(lib, data, threads, batch=64):
    """Train the MLP for one epoch in library ``lib`` ('ember' or 'torch') and print one
    JSON line: resident sizes at each stage, seconds and the mean loss.  Runs in a fresh
    interpreter (see :func:`measure_memory`), which is why the library is imported here."""
    rss_start = _status_kb("VmRSS")
    if lib == "torch":
        import torch as L
        L.set_num_threads(threads)
    else:
        import ember as L          # BLAS threads come from the environment (pin_threads_early)
    rss_import = _status_kb("VmRSS")

    if data == "synthetic":
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, 60000).astype(np.int64)
    else:
        images = read_idx_uint8(_idx_path(data, MNIST_FILES[0]))
        labels = read_idx_uint8(_idx_path(data, MNIST_FILES[1])).astype(np.int64)
    images = images.reshape(len(images), 784)
    rss_data = _status_kb("VmRSS")

    # the same initial weights in both libraries (PyTorch's default init bounds)
    rng = np.random.default_rng(1)
    model = mlp(L)
    state = {}
    for name, (n_in, n_out) in (("0", (784, 256)), ("2", (256, 10))):
        bound = 1 / np.sqrt(n_in)
        state[name + ".weight"] = rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32)
        state[name + ".bias"] = rng.uniform(-bound, bound, n_out).astype(np.float32)
    model.load_state_dict({k: L.tensor(v) for k, v in state.items()})
    loss_fn = L.nn.CrossEntropyLoss()
    optimizer = L.optim.Adam(model.parameters(), lr=LR)
    scale, shift = np.float32(1 / (255 * MNIST_STD)), np.float32(-MNIST_MEAN / MNIST_STD)

    order = np.random.default_rng(2).permutation(len(images))
    total, t0 = 0.0, time.perf_counter()
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        x = L.from_numpy(images[idx].astype(np.float32) * scale + shift)
        y = L.from_numpy(labels[idx])
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        total += loss.item() * len(idx)
    seconds = time.perf_counter() - t0
    print(json.dumps({"rss_start_kb": rss_start, "rss_import_kb": rss_import,
                      "rss_data_kb": rss_data, "hwm_kb": _status_kb("VmHWM"),
                      "seconds": seconds, "loss": total / len(order)}))


# The memory child is started by a small launcher interpreter, which reports
# getrusage(RUSAGE_CHILDREN).ru_maxrss once the child has exited. Starting the child from
# this process directly would not do: Linux carries the high-water mark of the process that
# forks (here several hundred MB, with ember, torch and the models loaded) over into the
# child's ru_maxrss, so both libraries would report this process's size.
LAUNCHER = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
            "print('maxrss_kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
            "sys.exit(rc)")


def measure_memory(lib, data, threads):
    """Run :func:`memory_child` for ``lib`` in a fresh interpreter and return its JSON
    result plus ``maxrss_kb``, its peak resident size (kB) as the launcher's
    ``getrusage(RUSAGE_CHILDREN)`` reports it."""
    cmd = [sys.executable, "-c", LAUNCHER, sys.executable, os.path.abspath(__file__),
           "--memory-child", lib, "--data", data, "--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_timing.thread_env(threads),
                         cwd=_timing.ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"memory run of {lib} failed:\n{out.stdout}{out.stderr}")
    lines = out.stdout.strip().splitlines()
    result = json.loads(lines[-2])
    result["maxrss_kb"] = int(lines[-1].split()[1])     # kilobytes on Linux
    return result


# -- the report --------------------------------------------------------------------------

def time_steps(ember, torch, repeat, min_time, check):
    """Build, check and time every case; returns rows ``(label, ember_ms, torch_ms,
    ember_median_ms, torch_median_ms)``, the ember step of each case, and the largest
    relative loss difference seen by the checks."""
    rng = np.random.default_rng(0)
    ember.manual_seed(0)
    rows, ember_steps, worst = [], {}, 0.0
    for label, make_ember, make_torch, shape in CASES:
        x_np = rng.standard_normal(shape).astype(np.float32)
        y_np = rng.integers(0, 10, shape[0]).astype(np.int64)
        e_model = make_ember(ember)
        fns = [make_step(ember, e_model, x_np, y_np)]
        if torch is not None:
            t_model = make_torch(torch)
            copy_state(e_model, torch, t_model)
            fns.append(make_step(torch, t_model, x_np, y_np))
            if check:
                worst = max(worst, check_same(label, ember, torch, e_model, t_model, *fns))
        ember_steps[label] = fns[0]
        times = _timing.time_calls(fns, min_time, repeat)
        best = [min(t) * 1e3 for t in times]
        med = [m * 1e3 for m in _timing.median_times(times)]
        rows.append((label, best[0], best[1] if torch is not None else None,
                     med[0], med[1] if torch is not None else None))
    return rows, ember_steps, worst


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _timing.add_common_args(parser, threads_default=1, repeat=True,
                            profile="print a cProfile of ember's step in every case where "
                                    "it is slower than torch")
    parser.add_argument("--data-root", action="append", default=None,
                        help="where to look for MNIST (repeatable; default: data/ and "
                             "../shared/data/ beside the repository)")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the import-time and one-epoch memory measurements")
    parser.add_argument("--memory-child", choices=("ember", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args.data, args.threads)
        return 0

    import ember
    torch = _timing.import_torch()
    _timing.apply_threads(args.threads, torch)
    repeat = args.repeat or (3 if args.quick else 7)
    min_time = 0.05 if args.quick else 0.3
    _timing.print_header(ember, np, torch)

    rows, ember_steps, worst = time_steps(ember, torch, repeat, min_time, check=True)
    if torch is not None:
        print(f"check: losses of ember and torch agree over 3 steps of every case "
              f"(largest relative difference {worst:.1e})")
    print(f"\none training step (forward, loss, backward, Adam step, zero_grad), best of "
          f"{repeat}:")
    print(_timing.format_table([r[:3] for r in rows]))
    if torch is not None:
        print("ember/torch of the median repeats: "
              + ", ".join(f"{e / t:.2f}x" for _, _, _, e, t in rows))

    if not args.no_memory:
        modules = ["ember"] + (["torch"] if torch is not None else [])
        imp = _timing.import_times(modules, repeat)
        print(f"\nimport time (fresh interpreter, best of {repeat}): "
              + ", ".join(f"{m} {imp[m] * 1e3:.0f} ms" if imp[m] is not None
                          else f"{m} failed" for m in modules)
              + (f" (ratio {imp['ember'] / imp['torch']:.2f})"
                 if torch is not None and imp["ember"] and imp["torch"] else ""))
        report_memory(modules, args)

    if args.profile:
        for label, e, t, *_ in rows:
            if t is not None and e > t:
                _timing.print_profile(ember_steps[label], 20,
                                      f"cProfile of 20 ember steps, {label}", top=15)
    return 0


def report_memory(modules, args):
    """Run the one-epoch memory children and print their table."""
    folder = find_mnist(args.data_root or DATA_ROOTS)
    data = folder or "synthetic"
    res = {m: measure_memory(m, data, args.threads) for m in modules}
    source = (f"real MNIST from {folder}" if folder else
              "synthetic uint8 60000x28x28 (MNIST not found)")
    print(f"\none epoch of MNIST MLP training (784-256-10, batch 64, Adam), each library in "
          f"a fresh interpreter; data: {source}")
    mb = 1 / 1024

    def row(label, key, scale=mb):
        e = res["ember"][key] * scale
        t = res["torch"][key] * scale if "torch" in res else None
        return (label, e, t)
    rows = [row("peak RSS, MB (ru_maxrss)", "maxrss_kb"),
            row("peak RSS, MB (/proc VmHWM)", "hwm_kb"),
            row("RSS after import, MB", "rss_import_kb"),
            row("RSS after import + data, MB", "rss_data_kb"),
            row("epoch time, s", "seconds", 1)]
    print(_timing.format_table(rows, unit="", label_head="one epoch", col=10, digits=1))
    print("mean training loss over the epoch: "
          + ", ".join(f"{m} {res[m]['loss']:.4f}" for m in modules)
          + f"; interpreter with NumPy before the import: "
          f"{res['ember']['rss_start_kb'] * mb:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
