"""Optimizer steps, ember next to PyTorch (CPU), in one run.

Cases (best of several repeats, microseconds per ``step()``):

  sgd      ``SGD(lr=0.01, momentum=0.9)`` over the parameters of a 784-256-10 MLP
           (two Linear layers: 203,530 float32 values in 4 tensors);
  adam     ``Adam(lr=1e-3)`` over the same parameters;
  adamw-ams  ``AdamW(amsgrad=True)`` over the same parameters;
  adam-many  ``Adam`` over 200 parameters of 64 values each (the per-parameter overhead
           that a fused/foreach kernel would remove).

The gradients are fixed random tensors set once; only ``optimizer.step()`` is timed (the
parameters keep moving, which does not change the cost). PyTorch runs its default CPU path
(the single-tensor loop, as ``foreach=None`` chooses on the CPU). The ratio column is
ember / torch.

Usage::

    python benchmarks/bench_optim.py            # full run (under a minute)
    python benchmarks/bench_optim.py --quick    # a few seconds, noisier
    python benchmarks/bench_optim.py --threads 1   # torch (and NumPy's BLAS) on 1 thread
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

def _params(L, shapes, seed):
    rng = np.random.default_rng(seed)
    params = []
    for shape in shapes:
        p = L.nn.Parameter(L.tensor(rng.standard_normal(shape).astype(np.float32)))
        p.grad = L.tensor(rng.standard_normal(shape).astype(np.float32))
        params.append(p)
    return params


MLP = [(256, 784), (256,), (10, 256), (10,)]
MANY = [(64,)] * 200


def make_cases(L):
    """The timed callables for library ``L`` (ember or torch)."""
    cases = {
        "sgd": L.optim.SGD(_params(L, MLP, 0), lr=0.01, momentum=0.9),
        "adam": L.optim.Adam(_params(L, MLP, 0), lr=1e-3),
        "adamw-ams": L.optim.AdamW(_params(L, MLP, 0), lr=1e-3, amsgrad=True),
        "adam-many": L.optim.Adam(_params(L, MANY, 0), lr=1e-3),
    }
    for opt in cases.values():
        opt.step()                # create the state outside the timing
    return {name: opt.step for name, opt in cases.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    _timing.add_common_args(parser)
    args = parser.parse_args(argv)
    _timing.apply_threads(args.threads, torch)
    min_time, repeat = (0.01, 3) if args.quick else (0.2, 7)
    _timing.print_header(ember, np, torch)

    ember_cases = make_cases(ember)
    torch_cases = make_cases(torch) if torch is not None else {}
    rows = []
    for name, fn in ember_cases.items():
        fns = [fn] + ([torch_cases[name]] if name in torch_cases else [])
        times = [t * 1e6 for t in _timing.best_times(fns, min_time, repeat, max_number=100_000)]
        rows.append((name, times[0], times[1] if len(times) > 1 else None))
    print(_timing.format_table(rows, unit="us", width=12, col=12, digits=1, rule=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
