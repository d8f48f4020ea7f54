"""Recurrent layers, ember next to PyTorch (CPU), in one run.

Cases (float32, milliseconds per step, best of several repeats; the input is a
64 x 28 x 28 batch-first batch, i.e. MNIST read row by row: 28 steps of 28 features):

  a. LSTM(28 -> 128, num_layers=2, batch_first=True): forward + backward;
  b. GRU(28 -> 128, num_layers=2, batch_first=True): forward + backward;
  c. the LSTM of (a), forward only under no_grad (inference);
  d. ember only: the LSTM of (a) run with one cell op per time step (the input projection
     still one GEMM per layer) instead of the whole-layer primitive: the design ember's
     layers do not use, timed to show why.

Each training step is ``out, _ = layer(x); out.sum().backward()`` (so every output step
gets a gradient and all parameter gradients are computed; the input does not require
grad). Both libraries get the same parameters and data.

Usage::

    python benchmarks/bench_rnn.py             # full run (about a minute)
    python benchmarks/bench_rnn.py --quick     # a few seconds, noisier
    python benchmarks/bench_rnn.py --threads 1 # pin NumPy's BLAS and torch to 1 thread
    python benchmarks/bench_rnn.py --profile   # also cProfile ember's case (a)

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

BATCH, STEPS, FEATURES, HIDDEN, LAYERS = 64, 28, 28, 128, 2


def make_layer(lib, kind, state):
    layer = getattr(lib.nn, kind)(FEATURES, HIDDEN, num_layers=LAYERS, batch_first=True)
    layer.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    return layer


def make_train_step(lib, kind, state, x_np):
    """A closure running one forward + backward of the layer in ``lib``."""
    layer = make_layer(lib, kind, state)
    x = lib.tensor(x_np)

    def step():
        out, _ = layer(x)
        out.sum().backward()
        for p in layer.parameters():
            p.grad = None
    return step


def make_infer_step(lib, kind, state, x_np):
    layer = make_layer(lib, kind, state)
    x = lib.tensor(x_np)

    def step():
        with lib.no_grad():
            layer(x)
    return step


def make_cell_loop_step(state, x_np):
    """ember's LSTM of case (a) computed with the per-step cell ops (``fused=False``)."""
    from ember.ops import rnn as ops
    layer = make_layer(ember, "LSTM", state)
    x = ember.tensor(x_np)

    def step():
        xt = x.transpose(0, 1).reshape(STEPS * BATCH, FEATURES)
        h0 = ember.zeros(LAYERS, BATCH, HIDDEN)
        out, _, _ = ops.recurrent("LSTM", xt, [BATCH] * STEPS, h0, h0, layer._weights(),
                                  LAYERS, False, 0.0, True, fused=False)
        out.sum().backward()
        for p in layer.parameters():
            p.grad = None
    return step


def _calibrate(fn, min_time):
    fn()                                    # warm up (allocations, BLAS threads)
    t0 = time.perf_counter()
    fn()
    return max(1, int(min_time / max(time.perf_counter() - t0, 1e-9)))


def best_ms(fns, repeat, min_time):
    """Fastest of ``repeat`` timings of each function in ``fns`` (ms per call). The
    functions take turns, so that a change in the machine's load hits all of them alike;
    the best, not the mean, is kept: on a shared machine slower repeats measure other
    processes."""
    numbers = [_calibrate(fn, min_time) for fn in fns]
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, (fn, number) in enumerate(zip(fns, numbers)):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            best[i] = min(best[i], (time.perf_counter() - t0) / number)
    return [b * 1e3 for b in best]


def _state(rng, kind):
    gates = {"LSTM": 4, "GRU": 3}[kind] * HIDDEN
    bound = 1 / np.sqrt(HIDDEN)
    state = {}
    for layer in range(LAYERS):
        n_in = FEATURES if layer == 0 else HIDDEN
        for name, shape in (("weight_ih", (gates, n_in)), ("weight_hh", (gates, HIDDEN)),
                            ("bias_ih", (gates,)), ("bias_hh", (gates,))):
            state[f"{name}_l{layer}"] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return state


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats and shorter timings (a few seconds, noisier)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for NumPy's BLAS and for torch (default: each library's "
                             "own); 1 gives the fairest comparison on a busy machine")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of ember's case (a), sorted by own time")
    args = parser.parse_args(argv)
    if args.threads is not None and torch is not None:
        torch.set_num_threads(args.threads)
    repeat, min_time = (3, 0.05) if args.quick else (10, 0.3)

    print(f"ember {ember.__version__}, numpy {np.__version__}", end="")
    if args.threads is not None:
        print(f", BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', '?')}", end="")
    if torch is not None:
        print(f", torch {torch.__version__} ({torch.get_num_threads()} threads)")
    else:
        print("\nPyTorch is not installed: timing ember only (no ratios).")

    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((BATCH, STEPS, FEATURES)).astype(np.float32)
    states = {k: _state(rng, k) for k in ("LSTM", "GRU")}
    shape = f"{LAYERS}-layer {{}}({FEATURES}->{HIDDEN}), {BATCH}x{STEPS}x{FEATURES}"
    cases = [
        ("a. " + shape.format("LSTM") + ", fwd+bwd", make_train_step, "LSTM"),
        ("b. " + shape.format("GRU") + ", fwd+bwd", make_train_step, "GRU"),
        ("c. " + shape.format("LSTM") + ", forward (no_grad)", make_infer_step, "LSTM"),
    ]
    rows, ember_steps = [], {}
    for label, maker, kind in cases:
        fns = [maker(ember, kind, states[kind], x_np)]
        ember_steps[label[0]] = fns[0]
        if torch is not None:
            fns.append(maker(torch, kind, states[kind], x_np))
        times = best_ms(fns, repeat, min_time)
        rows.append((label, times[0], times[1] if torch is not None else None))
    (cell_ms,) = best_ms([make_cell_loop_step(states["LSTM"], x_np)], repeat, min_time)
    rows.append(("d. case (a) in ember with per-step cell ops", cell_ms, None))

    width = max(len(r[0]) for r in rows) + 2
    print()
    print(f"{'case':<{width}}{'ember ms':>10}{'torch ms':>10}{'ember/torch':>13}")
    print("-" * (width + 33))
    for label, e, t in rows:
        ts = f"{t:10.2f}" if t is not None else f"{'-':>10}"
        ratio = f"{e / t:12.2f}x" if t else f"{'-':>13}"
        print(f"{label:<{width}}{e:10.2f}{ts}{ratio}")
    print(f"\n(d) / (a) in ember: {cell_ms / rows[0][1]:.2f}x (per-step cell ops vs the "
          f"whole-layer primitive)")

    if args.profile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(5):
            ember_steps["a"]()
        prof.disable()
        print("\ncProfile of 5 ember steps of case (a):")
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    return 0


if __name__ == "__main__":
    sys.exit(main())
