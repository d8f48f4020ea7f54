"""Normalization layers, ember next to PyTorch (CPU), in one run.

Cases (best of several repeats, milliseconds per call):

  bn2d   ``BatchNorm2d(32)`` in training mode, forward + backward (input, weight and bias
         gradients), input 64x32x28x28 float32;
  bn2d-eval  the same layer in evaluation mode, forward only;
  ln     ``LayerNorm(256)``, forward + backward, input 32x64x256 float32;
  ln-fwd the same, forward only under no_grad.

The backward is driven by ``y.backward(g)`` with a fixed random ``g`` (not ``y.sum()``, whose
constant gradient would let a library skip work). The ratio column is ember / torch.

Usage::

    python benchmarks/bench_norm.py            # full run (under a minute)
    python benchmarks/bench_norm.py --quick    # a few seconds, noisier
    python benchmarks/bench_norm.py --threads 1   # NumPy's BLAS and torch on 1 thread
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

def make_cases(L, x_arr, g_arr, xl_arr, gl_arr):
    """The four timed callables for library ``L`` (ember or torch)."""
    bn = L.nn.BatchNorm2d(32)
    ln = L.nn.LayerNorm(256)
    x = L.tensor(x_arr, requires_grad=True)
    g = L.tensor(g_arr)
    xl = L.tensor(xl_arr, requires_grad=True)
    gl = L.tensor(gl_arr)
    bn_eval = L.nn.BatchNorm2d(32).eval()
    x_nograd = L.tensor(x_arr)
    xl_nograd = L.tensor(xl_arr)

    def bn_train():
        x.grad = None
        bn.weight.grad = bn.bias.grad = None
        bn(x).backward(g)

    def bn_infer():
        with L.no_grad():
            bn_eval(x_nograd)

    def ln_train():
        xl.grad = None
        ln.weight.grad = ln.bias.grad = None
        ln(xl).backward(gl)

    def ln_fwd():
        with L.no_grad():
            ln(xl_nograd)

    return {"bn2d": bn_train, "bn2d-eval": bn_infer, "ln": ln_train, "ln-fwd": ln_fwd}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _timing.add_common_args(ap)
    args = ap.parse_args(argv)
    _timing.apply_threads(args.threads, torch)
    min_time, repeat = (0.05, 3) if args.quick else (0.3, 7)
    _timing.print_header(ember, np, torch)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32, 28, 28)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    xl = rng.standard_normal((32, 64, 256)).astype(np.float32)
    gl = rng.standard_normal(xl.shape).astype(np.float32)

    libs = [("ember", ember)] + ([("torch", torch)] if torch is not None else [])
    cases = {name: make_cases(L, x, g, xl, gl) for name, L in libs}
    rows = []
    for case in cases["ember"]:
        fns = [c[case] for c in cases.values()]
        times = [t * 1e3 for t in _timing.best_times(fns, min_time, repeat, max_number=100_000)]
        rows.append((case, times[0], times[1] if len(times) > 1 else None))
    print(_timing.format_table(rows, width=11, col=12, digits=3, ratio_head="ratio",
                               ratio_col=9, ratio_digits=1, ratio_suffix=""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
