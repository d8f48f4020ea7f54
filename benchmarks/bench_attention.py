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
        times = best_ms(fns, repeat, min_time)
        rows.append((label, times[0], times[1] if torch is not None else None))
    (comp_ms,) = best_ms([make_composite_sdpa_step(qkv_np)], repeat, min_time)
    rows.append(("e. case (d) in ember as composite ops", comp_ms, None))

    width = max(len(r[0]) for r in rows) + 2
    print()
    print(f"{'case':<{width}}{'ember ms':>10}{'torch ms':>10}{'ember/torch':>13}")
    print("-" * (width + 33))
    for label, e, t in rows:
        ts = f"{t:10.2f}" if t is not None else f"{'-':>10}"
        ratio = f"{e / t:12.2f}x" if t else f"{'-':>13}"
        print(f"{label:<{width}}{e:10.2f}{ts}{ratio}")
    print(f"\n(e) / (d) in ember: {comp_ms / rows[3][1]:.2f}x (composite ops vs the fused "
          f"attention primitive)")

    if args.profile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(10):
            ember_steps["a"]()
        prof.disable()
        print("\ncProfile of 10 ember steps of case (a):")
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
