"""Convolution layers, ember next to PyTorch (CPU), in one run.

Cases (forward + backward of one ``nn.Conv2d`` layer, float32, milliseconds per step, best
of several repeats):

  a. Conv2d(1 -> 32, 3x3, padding=1) on a 64x1x28x28 batch (an MNIST first layer);
  b. Conv2d(32 -> 64, 3x3, padding=1) on a 64x32x28x28 batch (the second layer);

each step is ``layer(x).sum().backward()`` with the input requiring grad, so the forward
GEMM and all three gradients (input, weight, bias) are timed. Both libraries get the same
parameters and data.

Usage::

    python benchmarks/bench_conv.py             # full run (under a minute)
    python benchmarks/bench_conv.py --quick     # a few seconds, noisier
    python benchmarks/bench_conv.py --threads 1 # pin NumPy's BLAS and torch to 1 thread
    python benchmarks/bench_conv.py --profile   # also cProfile ember's case (b)

Without PyTorch it times ember alone (no ratios).
"""
from __future__ import annotations

import argparse
import sys

import _timing

if __name__ == "__main__":
    _timing.pin_threads_early()   # before NumPy is imported

import numpy as np  # noqa: E402

import ember  # noqa: E402

torch = _timing.import_torch()

CASES = {
    "a": ("a. Conv2d(1->32, 3x3, pad 1), 64x1x28x28", 1, 32),
    "b": ("b. Conv2d(32->64, 3x3, pad 1), 64x32x28x28", 32, 64),
}


def make_step(lib, c_in, c_out, state, x_np):
    """A closure running one forward + backward of the layer in ``lib``."""
    layer = lib.nn.Conv2d(c_in, c_out, 3, padding=1)
    layer.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    x = lib.tensor(x_np, requires_grad=True)

    def step():
        layer(x).sum().backward()
        x.grad = None
        for p in layer.parameters():
            p.grad = None
    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _timing.add_common_args(parser, profile="print a cProfile of ember's case (b), sorted by "
                                            "own time")
    args = parser.parse_args(argv)
    _timing.apply_threads(args.threads, torch)
    repeat, min_time = (3, 0.05) if args.quick else (10, 0.2)
    _timing.print_header(ember, np, torch)

    rng = np.random.default_rng(0)
    rows, ember_steps = [], {}
    for key, (label, c_in, c_out) in CASES.items():
        bound = 1 / np.sqrt(c_in * 9)
        state = {"weight": rng.uniform(-bound, bound, (c_out, c_in, 3, 3)).astype(np.float32),
                 "bias": rng.uniform(-bound, bound, c_out).astype(np.float32)}
        x_np = rng.standard_normal((64, c_in, 28, 28)).astype(np.float32)
        ember_steps[key] = make_step(ember, c_in, c_out, state, x_np)
        fns = [ember_steps[key]]
        if torch is not None:
            fns.append(make_step(torch, c_in, c_out, state, x_np))
        times = [t * 1e3 for t in _timing.best_times(fns, min_time, repeat)]
        rows.append((label, times[0], times[1] if torch is not None else None))

    print()
    print(_timing.format_table(rows, label_head="case (forward + backward)"))

    if args.profile:
        _timing.print_profile(ember_steps["b"], 5, "cProfile of 5 ember steps of case (b)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
