"""Normalization layers, ember next to PyTorch (CPU), in one run.

Cases (each timed with ``timeit``, best of several repeats, milliseconds per call):

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
import os
import sys
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)          # run from a checkout without installing


def _threads_from_argv(argv):
    """``--threads N`` must act before NumPy is imported (BLAS reads its thread count from
    the environment at load time), so it is read here, ahead of argparse."""
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return None


_THREADS = _threads_from_argv(sys.argv[1:]) if __name__ == "__main__" else None
if _THREADS is not None:
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _THREADS

import numpy as np  # noqa: E402

import ember  # noqa: E402

try:
    import torch
except ImportError:               # pragma: no cover - depends on the machine
    torch = None


def best_ms(fn, min_time, repeat):
    """Best time of one call of ``fn`` in milliseconds (loop count calibrated so one repeat
    lasts at least ``min_time`` seconds; fastest of ``repeat`` repeats)."""
    timer = timeit.Timer(fn)
    number = 1
    while timer.timeit(number) < min_time and number < 100_000:
        number *= 2
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e3


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
    ap.add_argument("--quick", action="store_true", help="short timings (noisier)")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for NumPy's BLAS and torch (set before import)")
    args = ap.parse_args(argv)
    min_time, repeat = (0.05, 3) if args.quick else (0.3, 7)
    if torch is not None and args.threads:
        torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32, 28, 28)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    xl = rng.standard_normal((32, 64, 256)).astype(np.float32)
    gl = rng.standard_normal(xl.shape).astype(np.float32)

    libs = [("ember", ember)] + ([("torch", torch)] if torch is not None else [])
    cases = {name: make_cases(L, x, g, xl, gl) for name, L in libs}
    print(f"numpy {np.__version__}" + (f", torch {torch.__version__} "
                                       f"({torch.get_num_threads()} threads)"
                                       if torch is not None else ", torch not installed"))
    head = f"{'case':<11}{'ember ms':>12}" + (f"{'torch ms':>12}{'ratio':>9}"
                                               if torch is not None else "")
    print(head)
    print("-" * len(head))
    for case in cases["ember"]:
        for fns in cases.values():          # warm up (allocations, lazy imports)
            fns[case]()
        e = best_ms(cases["ember"][case], min_time, repeat)
        line = f"{case:<11}{e:>12.3f}"
        if torch is not None:
            t = best_ms(cases["torch"][case], min_time, repeat)
            line += f"{t:>12.3f}{e / t:>9.1f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
