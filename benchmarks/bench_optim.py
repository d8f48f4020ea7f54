"""Optimizer steps, ember next to PyTorch (CPU), in one run.

Cases (each timed with ``timeit``, best of several repeats, microseconds per ``step()``):

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


def best_us(fn, min_time, repeat):
    """Best time of one call of ``fn`` in microseconds (loop count calibrated so one repeat
    lasts at least ``min_time`` seconds; fastest of ``repeat`` repeats)."""
    timer = timeit.Timer(fn)
    number = 1
    while timer.timeit(number) < min_time and number < 100_000:
        number *= 2
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter, noisier run")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for torch and NumPy's BLAS (default: theirs)")
    args = parser.parse_args()
    min_time, repeat = (0.01, 3) if args.quick else (0.2, 7)
    if torch is not None and args.threads:
        torch.set_num_threads(args.threads)

    print(f"ember {ember.__version__}, numpy {np.__version__}"
          + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
             if torch is not None else ", torch not installed"))
    ember_cases = make_cases(ember)
    torch_cases = make_cases(torch) if torch is not None else {}
    print(f"{'case':<12}{'ember us':>12}{'torch us':>12}{'ember/torch':>13}")
    for name, fn in ember_cases.items():
        e = best_us(fn, min_time, repeat)
        if name in torch_cases:
            t = best_us(torch_cases[name], min_time, repeat)
            print(f"{name:<12}{e:>12.1f}{t:>12.1f}{e / t:>12.2f}x")
        else:
            print(f"{name:<12}{e:>12.1f}{'-':>12}{'-':>13}")


if __name__ == "__main__":
    main()
