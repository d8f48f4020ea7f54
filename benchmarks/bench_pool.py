"""Pooling layers, ember next to PyTorch (CPU), in one run.

Cases (a 64x32x28x28 float32 batch, the input requires grad; each timed with ``timeit``, best
of several repeats, milliseconds per call):

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

SHAPE = (64, 32, 28, 28)


def best_ms(fn, min_time, repeat):
    """Best time of one call in milliseconds: the loop count is raised until one repeat
    lasts ``min_time`` seconds, then the fastest of ``repeat`` repeats is kept (the machine
    is shared: slower repeats measure other processes)."""
    timer = timeit.Timer(fn)
    number = 1
    while timer.timeit(number) < min_time and number < 10_000:
        number *= 2
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e3


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
    parser.add_argument("--quick", action="store_true",
                        help="shorter timing loops and fewer repeats (a few seconds, noisier)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for NumPy's BLAS and for torch (default: each library's "
                             "own)")
    args = parser.parse_args(argv)
    if args.threads is not None and torch is not None:
        torch.set_num_threads(args.threads)
    min_time, repeat = (0.05, 3) if args.quick else (0.3, 7)

    print(f"ember {ember.__version__}, numpy {np.__version__}, python "
          f"{sys.version.split()[0]}", end="")
    if torch is not None:
        print(f", torch {torch.__version__} ({torch.get_num_threads()} threads)")
    else:
        print("\nPyTorch is not installed: timing ember only (no ratios).")
    print(f"input {'x'.join(map(str, SHAPE))} float32, kernel 2, stride 2")

    e_cases = make_cases(ember)
    t_cases = make_cases(torch) if torch is not None else {}
    if torch is not None:
        check_same(e_cases, t_cases)

    width = max(len(k) for k in e_cases) + 2
    print()
    print(f"{'case':<{width}}{'ember ms':>10}{'torch ms':>10}{'ember/torch':>13}")
    print("-" * (width + 33))
    for key, fn in e_cases.items():
        e = best_ms(fn, min_time, repeat)
        if key in t_cases:
            t = best_ms(t_cases[key], min_time, repeat)
            print(f"{key:<{width}}{e:>10.2f}{t:>10.2f}{e / t:>12.2f}x")
        else:
            print(f"{key:<{width}}{e:>10.2f}{'-':>10}{'-':>13}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
