"""Per-operation overhead of ember next to PyTorch (CPU), in one run.

Cases (each timed with ``_timing.best_times``, best of several repeats, microseconds per
call):

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
import sys

import _timing

if __name__ == "__main__":
    _timing.pin_threads_early()   # before NumPy is imported

import numpy as np  # noqa: E402

import ember  # noqa: E402

torch = _timing.import_torch()


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _timing.add_common_args(parser)
    args = parser.parse_args(argv)
    _timing.apply_threads(args.threads, torch)
    min_time, repeat, imp_repeat = (0.01, 3, 1) if args.quick else (0.1, 7, 3)
    _timing.print_header(ember, np, torch)

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
        fns = [ember_cases[key]] + ([torch_cases[key]] if key in torch_cases else [])
        times = [t * 1e6 for t in _timing.best_times(fns, min_time, repeat)]
        rows.append((label, times[0], times[1] if len(times) > 1 else None))

    print()
    print(_timing.format_table(rows, unit="us", col=12, digits=1, ratio_digits=1))
    chain = next((r for r in rows if r[0].startswith("c.")), None)
    if chain is not None:
        per_op = chain[1] / 100
        print(f"\n(c) per op, forward and backward together: ember {per_op:.1f} us"
              + (f", torch {chain[2] / 100:.1f} us" if chain[2] else ""))

    imp = _timing.import_times(["ember"] + (["torch"] if torch is not None else []),
                               imp_repeat)
    ei, ti = imp["ember"], imp.get("torch")
    print(f"\nimport time (fresh interpreter, best of {imp_repeat}): ember "
          + (f"{ei * 1e3:.0f} ms" if ei is not None else "failed")
          + (f", torch {ti * 1e3:.0f} ms" if ti is not None else "")
          + (f" (ratio {ei / ti:.2f})" if ei and ti else ""))
    for n in notes:
        print("note:", n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
