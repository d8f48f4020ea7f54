"""Pooling layers, ember next to PyTorch (CPU), in one run.

Cases (a 64x32x28x28 float32 batch, the input requires grad; best of several repeats,
milliseconds per call):

  max fwd       ``MaxPool2d(2)(x)`` (with grad recording, so the argmax indices are kept)
  max fwd+bwd   ``MaxPool2d(2)(x).backward(g)``
  avg fwd       ``AvgPool2d(2)(x)``
  avg fwd+bwd   ``AvgPool2d(2)(x).backward(g)``
  max no-grad   ``MaxPool2d(2)(x)`` under ``no_grad`` (values only)

Usage::

    python benchmarks/bench_pool.py            # full run (under a minute)
    python benchmarks/bench_pool.py --quick    # a few seconds, noisier
    python benchmarks/bench_pool.py --threads 1

Without PyTorch, ember is timed alone and no ratios are printed.
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

SHAPE = (64, 32, 28, 28)


def make_cases(lib):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal(SHAPE).astype(np.float32), requires_grad=True)
    g = lib.tensor(rng.standard_normal((64, 32, 14, 14)).astype(np.float32))
    maxpool, avgpool = lib.nn.MaxPool2d(2), lib.nn.AvgPool2d(2)

    def fwd(layer):
        return lambda: layer(x)

    def fwd_bwd(layer):
        def run():
            layer(x).backward(g)
            x.grad = None
        return run

    def nograd():
        with lib.no_grad():
            return maxpool(x)

    return {"max fwd": fwd(maxpool), "max fwd+bwd": fwd_bwd(maxpool),
            "avg fwd": fwd(avgpool), "avg fwd+bwd": fwd_bwd(avgpool), "max no-grad": nograd}


def check_same(e_cases, t_cases):
    """The two libraries compute the same thing (a guard against timing a wrong result)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    for name in ("MaxPool2d", "AvgPool2d"):
        ex = ember.tensor(x, requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)
        ey, ty = getattr(ember.nn, name)(2)(ex), getattr(torch.nn, name)(2)(tx)
        ey.sum().backward()
        ty.sum().backward()
        assert np.allclose(ey.detach().numpy(), ty.detach().numpy(), atol=1e-6), name
        assert np.allclose(ex.grad.numpy(), tx.grad.numpy(), atol=1e-6), name


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _timing.add_common_args(parser)
    args = parser.parse_args(argv)
    _timing.apply_threads(args.threads, torch)
    min_time, repeat = (0.05, 3) if args.quick else (0.3, 7)
    _timing.print_header(ember, np, torch)
    print(f"input {'x'.join(map(str, SHAPE))} float32, kernel 2, stride 2")

    e_cases = make_cases(ember)
    t_cases = make_cases(torch) if torch is not None else {}
    if torch is not None:
        check_same(e_cases, t_cases)

    rows = []
    for key, fn in e_cases.items():
        fns = [fn] + ([t_cases[key]] if key in t_cases else [])
        times = [t * 1e3 for t in _timing.best_times(fns, min_time, repeat, max_number=10_000)]
        rows.append((key, times[0], times[1] if len(times) > 1 else None))
    print()
    print(_timing.format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
