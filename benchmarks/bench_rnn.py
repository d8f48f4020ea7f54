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
import sys

import _timing

if __name__ == "__main__":
    _timing.pin_threads_early()   # before NumPy is imported

import numpy as np  # noqa: E402

import ember  # noqa: E402

torch = _timing.import_torch()

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
    _timing.add_common_args(parser, profile="print a cProfile of ember's case (a), sorted by "
                                            "own time")
    args = parser.parse_args(argv)
    _timing.apply_threads(args.threads, torch)
    repeat, min_time = (3, 0.05) if args.quick else (10, 0.3)
    _timing.print_header(ember, np, torch)

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
        times = [t * 1e3 for t in _timing.best_times(fns, min_time, repeat)]
        rows.append((label, times[0], times[1] if torch is not None else None))
    cell_step = make_cell_loop_step(states["LSTM"], x_np)
    cell_ms = _timing.best_times([cell_step], min_time, repeat)[0] * 1e3
    rows.append(("d. case (a) in ember with per-step cell ops", cell_ms, None))

    print()
    print(_timing.format_table(rows))
    print(f"\n(d) / (a) in ember: {cell_ms / rows[0][1]:.2f}x (per-step cell ops vs the "
          f"whole-layer primitive)")

    if args.profile:
        _timing.print_profile(ember_steps["a"], 5, "cProfile of 5 ember steps of case (a)",
                              top=12)
    return 0


if __name__ == "__main__":
    sys.exit(main())
