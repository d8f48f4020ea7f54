"""Multi-head attention, ember next to PyTorch (CPU), in one run.

Cases (float32, milliseconds per step, best of several repeats; self-attention on a
batch-first 32 x 64 x 256 batch: 32 sequences of 64 tokens, ``MultiheadAttention(256, 8)``):

  a. forward + backward, ``need_weights=False`` (how the Transformer layers call it);
  b. forward + backward, the default ``need_weights=True`` (weights averaged over heads);
  c. forward only under no_grad (``need_weights=False``);
  d. ``F.scaled_dot_product_attention`` alone on ``(32, 8, 64, 32)`` q, k, v with a causal
     mask, forward + backward;
  e. ember only: case (d) written as composite ops (``matmul``, ``*``, ``masked_fill``,
     ``softmax``, ``matmul``), one graph node each: the design the fused primitive
     replaces, timed to show what it saves.

Each training step is ``out, _ = mha(x, x, x); out.sum().backward()`` with ``x`` requiring
grad (so the input, projection and output gradients are all computed). Both libraries get
the same parameters and data. PyTorch runs its ordinary autograd path in (a), (b) (its
inference fast path needs no_grad and eval; case (c) runs in eval, where PyTorch takes it).

Usage::

    python benchmarks/bench_attention.py             # full run (under a minute)
    python benchmarks/bench_attention.py --quick     # a few seconds, noisier
    python benchmarks/bench_attention.py --threads 1 # pin NumPy's BLAS and torch to 1 thread
    python benchmarks/bench_attention.py --profile   # also cProfile ember's case (a)

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

BATCH, TOKENS, EMBED, HEADS = 32, 64, 256, 8


def make_mha(lib, state):
    mha = lib.nn.MultiheadAttention(EMBED, HEADS, batch_first=True)
    mha.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    return mha


def make_train_step(lib, state, x_np, need_weights):
    mha = make_mha(lib, state)
    x = lib.tensor(x_np, requires_grad=True)

    def step():
        out, _ = mha(x, x, x, need_weights=need_weights)
        out.sum().backward()
        x.grad = None
        for p in mha.parameters():
            p.grad = None
    return step


def make_infer_step(lib, state, x_np):
    mha = make_mha(lib, state).eval()
    x = lib.tensor(x_np)

    def step():
        with lib.no_grad():
            mha(x, x, x, need_weights=False)
    return step


def make_sdpa_step(lib, qkv_np):
    q, k, v = (lib.tensor(a, requires_grad=True) for a in qkv_np)
    sdpa = lib.nn.functional.scaled_dot_product_attention

    def step():
        sdpa(q, k, v, is_causal=True).sum().backward()
        q.grad = k.grad = v.grad = None
    return step


def make_composite_sdpa_step(qkv_np):
    """Case (d) in ember without the fused primitive."""
    q, k, v = (ember.tensor(a, requires_grad=True) for a in qkv_np)
    L = q.shape[-2]
    causal = ember.tensor(np.triu(np.ones((L, L), dtype=bool), 1))
    scale = 1 / np.sqrt(q.shape[-1])

    def step():
        s = (q @ k.transpose(-2, -1)) * scale
        p = ember.nn.functional.softmax(s.masked_fill(causal, float("-inf")), -1)
        (p @ v).sum().backward()
        q.grad = k.grad = v.grad = None
    return step


def _state(rng):
    a = np.sqrt(6 / (EMBED + 3 * EMBED))
    b = 1 / np.sqrt(EMBED)
    f32 = np.float32
    return {"in_proj_weight": rng.uniform(-a, a, (3 * EMBED, EMBED)).astype(f32),
            "in_proj_bias": rng.uniform(-b, b, 3 * EMBED).astype(f32),
            "out_proj.weight": rng.uniform(-b, b, (EMBED, EMBED)).astype(f32),
            "out_proj.bias": rng.uniform(-b, b, EMBED).astype(f32)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _timing.add_common_args(parser, profile="print a cProfile of ember's case (a), sorted by "
                                            "own time")
    args = parser.parse_args(argv)
    _timing.apply_threads(args.threads, torch)
    repeat, min_time = (3, 0.05) if args.quick else (10, 0.3)
    _timing.print_header(ember, np, torch)

    rng = np.random.default_rng(0)
    state = _state(rng)
    x_np = rng.standard_normal((BATCH, TOKENS, EMBED)).astype(np.float32)
    qkv_np = [rng.standard_normal((BATCH, HEADS, TOKENS, EMBED // HEADS)).astype(np.float32)
              for _ in range(3)]
    shape = f"MHA({EMBED}, {HEADS}) on {BATCH}x{TOKENS}x{EMBED}"
    cases = [
        ("a. " + shape + ", fwd+bwd", lambda lib: make_train_step(lib, state, x_np, False)),
        ("b. " + shape + ", fwd+bwd, need_weights",
         lambda lib: make_train_step(lib, state, x_np, True)),
        ("c. " + shape + ", forward (no_grad, eval)", lambda lib: make_infer_step(lib, state,
                                                                                  x_np)),
        (f"d. SDPA {BATCH}x{HEADS}x{TOKENS}x{EMBED // HEADS} causal, fwd+bwd",
         lambda lib: make_sdpa_step(lib, qkv_np)),
    ]
    rows, ember_steps = [], {}
    for label, maker in cases:
        fns = [maker(ember)]
        ember_steps[label[0]] = fns[0]
        if torch is not None:
            fns.append(maker(torch))
        times = [t * 1e3 for t in _timing.best_times(fns, min_time, repeat)]
        rows.append((label, times[0], times[1] if torch is not None else None))
    comp_step = make_composite_sdpa_step(qkv_np)
    comp_ms = _timing.best_times([comp_step], min_time, repeat)[0] * 1e3
    rows.append(("e. case (d) in ember as composite ops", comp_ms, None))

    print()
    print(_timing.format_table(rows))
    print(f"\n(e) / (d) in ember: {comp_ms / rows[3][1]:.2f}x (composite ops vs the fused "
          f"attention primitive)")

    if args.profile:
        _timing.print_profile(ember_steps["a"], 10, "cProfile of 10 ember steps of case (a)",
                              top=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
