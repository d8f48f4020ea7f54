"""Per-operation overhead of ember next to PyTorch (CPU), in one run.

Cases (each timed with ``timeit``, best of several repeats, microseconds per call):

  a. ``x * y`` on 10-element float32 tensors, no autograd;
  b. the same with ``x.requires_grad=True`` (forward only: the graph node is recorded);
  c. a 100-op chain (alternating mul / add / tanh) on 10-element tensors, forward + backward;
  d. ``(x @ w).sum().backward()`` with x 64x784 and w 784x256, float32;

plus the time of ``import ember`` and ``import torch`` in fresh interpreters.

Small tensors measure the fixed cost of an operation (argument handling, dtype promotion,
graph recording) rather than arithmetic; (d) is dominated by the matrix products themselves.

Usage::

    python benchmarks/bench_ops.py            # full run (well under 2 minutes)
    python benchmarks/bench_ops.py --quick    # a few seconds, noisier
    python benchmarks/bench_ops.py --threads 1   # pin NumPy's BLAS and torch to 1 thread

Parts that need PyTorch are skipped, with a message, when it is not installed; ops that
ember does not have yet are replaced or skipped, and the table says so.
"""
from __future__ import annotations

import argparse
import os
import subprocess
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
    """Best time of one call of ``fn`` in microseconds: calibrate the loop count so that
    one repeat lasts at least ``min_time`` seconds, then take the fastest of ``repeat``."""
    timer = timeit.Timer(fn)
    number = 1
    while True:
        if timer.timeit(number) >= min_time or number >= 1_000_000:
            break
        number *= 4
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def pick_activation(lib):
    """The squashing op of the chain: tanh, else sigmoid, else neg (for an ember that does
    not have the first two yet); returns (name, function)."""
    for name in ("tanh", "sigmoid", "neg"):
        if hasattr(lib.Tensor, name):
            return name, getattr(lib.Tensor, name)
    raise RuntimeError("no unary op to use in the chain")


def make_cases(lib, act_name):
    """The four benchmark closures for ``lib`` (ember or torch), built from the same data."""
    rng = np.random.default_rng(0)
    v10 = rng.standard_normal((3, 10)).astype(np.float32)
    x_plain = lib.tensor(v10[0])
    y = lib.tensor(v10[1])
    x_grad = lib.tensor(v10[0], requires_grad=True)
    c_mul = lib.tensor(np.full(10, 0.9, dtype=np.float32))
    c_add = lib.tensor(v10[2] * 0.1)
    act = getattr(lib.Tensor, act_name)

    def elementwise():
        return x_plain * y

    def elementwise_grad():
        return x_grad * y

    def chain():
        h = x_grad
        for i in range(100):
            k = i % 3
            if k == 0:
                h = h * c_mul
            elif k == 1:
                h = h + c_add
            else:
                h = act(h)
        h.sum().backward()
        x_grad.grad = None

    cases = {"a": elementwise, "b": elementwise_grad, "c": chain}

    if _has_matmul(lib):
        xm = lib.tensor(rng.standard_normal((64, 784)).astype(np.float32), requires_grad=True)
        wm = lib.tensor((rng.standard_normal((784, 256)) * 0.03).astype(np.float32),
                        requires_grad=True)

        def matmul():
            (xm @ wm).sum().backward()
            xm.grad = None
            wm.grad = None
        cases["d"] = matmul
    return cases


def _has_matmul(lib):
    try:
        lib.ones(2, 2) @ lib.ones(2, 2)
        return True
    except Exception:  # noqa: BLE001 - an ember without matmul yet
        return False


def import_time(module, repeat):
    """Seconds to ``import module`` in a fresh interpreter (best of ``repeat``)."""
    code = ("import time; t = time.perf_counter(); import {m}; "
            "print(time.perf_counter() - t)").format(m=module)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    times = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, cwd=ROOT)
        if out.returncode != 0:
            return None
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="shorter timing loops and fewer repeats (a few seconds, noisier)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for NumPy's BLAS and for torch (default: each library's "
                             "own default); 1 gives the fairest comparison on a busy machine")
    args = parser.parse_args(argv)
    if args.threads is not None and torch is not None:
        torch.set_num_threads(args.threads)
    min_time, repeat, imp_repeat = (0.01, 3, 1) if args.quick else (0.1, 7, 3)

    print(f"ember {ember.__version__}, numpy {np.__version__}, python "
          f"{sys.version.split()[0]}", end="")
    if args.threads is not None:
        print(f", BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', '?')}", end="")
    if torch is not None:
        print(f", torch {torch.__version__} ({torch.get_num_threads()} threads)")
    else:
        print("\nPyTorch is not installed: timing ember only (no ratios).")

    notes = []
    act_name, _ = pick_activation(ember)
    if act_name != "tanh":
        notes.append(f"ember has no tanh yet: the chain (c) uses {act_name} in both libraries")
    ember_cases = make_cases(ember, act_name)
    torch_cases = make_cases(torch, act_name) if torch is not None else {}
    if "d" not in ember_cases:
        notes.append("ember has no matmul yet: case (d) skipped")

    labels = {
        "a": "a. mul, 10 float32, no grad",
        "b": "b. mul, 10 float32, requires_grad (fwd)",
        "c": f"c. 100-op chain mul/add/{act_name}, fwd+bwd",
        "d": "d. matmul 64x784 @ 784x256, fwd+bwd",
    }
    rows = []
    for key, label in labels.items():
        if key not in ember_cases:
            continue
        e = best_us(ember_cases[key], min_time, repeat)
        t = best_us(torch_cases[key], min_time, repeat) if key in torch_cases else None
        rows.append((label, e, t))

    width = max(len(r[0]) for r in rows) + 2
    print()
    print(f"{'case':<{width}}{'ember us':>12}{'torch us':>12}{'ember/torch':>13}")
    print("-" * (width + 37))
    for label, e, t in rows:
        ts = f"{t:12.1f}" if t is not None else f"{'-':>12}"
        ratio = f"{e / t:12.1f}x" if t else f"{'-':>13}"
        print(f"{label:<{width}}{e:12.1f}{ts}{ratio}")
    chain = next((r for r in rows if r[0].startswith("c.")), None)
    if chain is not None:
        per_op = chain[1] / 100
        print(f"\n(c) per op, forward and backward together: ember {per_op:.1f} us"
              + (f", torch {chain[2] / 100:.1f} us" if chain[2] else ""))

    ei = import_time("ember", imp_repeat)
    ti = import_time("torch", imp_repeat) if torch is not None else None
    print(f"\nimport time (fresh interpreter, best of {imp_repeat}): ember "
          + (f"{ei * 1e3:.0f} ms" if ei is not None else "failed")
          + (f", torch {ti * 1e3:.0f} ms" if ti is not None else "")
          + (f" (ratio {ei / ti:.2f})" if ei and ti else ""))
    for n in notes:
        print("note:", n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
