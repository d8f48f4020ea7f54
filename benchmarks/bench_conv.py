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
import os
import sys
import time

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


def _calibrate(fn, min_time):
    fn()                                    # warm up (allocations, BLAS threads)
    t0 = time.perf_counter()
    fn()
    return max(1, int(min_time / max(time.perf_counter() - t0, 1e-9)))


def best_ms(fns, repeat, min_time):
    """Fastest of ``repeat`` timings of each function in ``fns`` (ms per call). Each timing
    runs the function as often as needed to last ``min_time`` seconds, and the functions
    take turns, so that a change in the machine's load hits all of them alike. The best,
    not the mean, is kept: on a shared machine slower repeats measure other processes."""
    numbers = [_calibrate(fn, min_time) for fn in fns]
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, (fn, number) in enumerate(zip(fns, numbers)):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            best[i] = min(best[i], (time.perf_counter() - t0) / number)
    return [b * 1e3 for b in best]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats and shorter timings (a few seconds, noisier)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for NumPy's BLAS and for torch (default: each library's "
                             "own); 1 gives the fairest comparison on a busy machine")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of ember's case (b), sorted by own time")
    args = parser.parse_args(argv)
    if args.threads is not None and torch is not None:
        torch.set_num_threads(args.threads)
    repeat, min_time = (3, 0.05) if args.quick else (10, 0.2)

    print(f"ember {ember.__version__}, numpy {np.__version__}", end="")
    if args.threads is not None:
        print(f", BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', '?')}", end="")
    if torch is not None:
        print(f", torch {torch.__version__} ({torch.get_num_threads()} threads)")
    else:
        print("\nPyTorch is not installed: timing ember only (no ratios).")

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
        times = best_ms(fns, repeat, min_time)
        rows.append((label, times[0], times[1] if torch is not None else None))

    width = max(len(r[0]) for r in rows) + 2
    print()
    print(f"{'case (forward + backward)':<{width}}{'ember ms':>10}{'torch ms':>10}"
          f"{'ember/torch':>13}")
    print("-" * (width + 33))
    for label, e, t in rows:
        ts = f"{t:10.2f}" if t is not None else f"{'-':>10}"
        ratio = f"{e / t:12.2f}x" if t else f"{'-':>13}"
        print(f"{label:<{width}}{e:10.2f}{ts}{ratio}")

    if args.profile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(5):
            ember_steps["b"]()
        prof.disable()
        print("\ncProfile of 5 ember steps of case (b):")
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    return 0


if __name__ == "__main__":
    sys.exit(main())
