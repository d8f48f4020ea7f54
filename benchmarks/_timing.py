"""The timing harness shared by the benchmark scripts (``bench_*.py``, ``train_step.py``).

Every script times ember and PyTorch side by side in one process and prints a table of
ember / torch ratios. What they have in common lives here:

* **threads**: ``--threads N`` pins NumPy's BLAS and torch to ``N`` threads.  OpenBLAS
  reads ``OPENBLAS_NUM_THREADS`` once, when NumPy is loaded, so :func:`pin_threads_early`
  puts ``N`` in the environment before the script imports NumPy, and :func:`apply_threads`
  sets it again at run time (``torch.set_num_threads`` and ember's ``set_blas_threads``,
  which talks to the BLAS library already loaded), so the setting holds even when NumPy was
  imported first;
* **PyTorch is optional**: :func:`import_torch` returns None when it is not installed, and
  the scripts then time ember alone (no ratios);
* **timing**: :func:`time_calls` warms each function up, calibrates a loop count so one
  repeat lasts at least ``min_time`` seconds, then runs the repeats with the functions
  taking turns, so that a change in the machine's load hits ember and torch alike.  The
  scripts report the *best* repeat (:func:`best_times`): on a shared machine the slower
  repeats measure other processes, not the code.  The median is there to show the spread;
* **import time** of a module in fresh interpreters (:func:`import_times`);
* **printing**: the one-line header naming the versions and thread counts
  (:func:`print_header`), the ember / torch table (:func:`format_table`) and a cProfile
  of one case (:func:`print_profile`).

The scripts import this module as ``_timing`` (Python puts the script's own folder on
``sys.path``); importing it also puts the repository root there, so the scripts run from a
checkout without installing ember.
"""
from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)          # run from a checkout without installing

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

__all__ = ["ROOT", "add_common_args", "apply_threads", "best_times", "format_table",
           "import_times", "import_torch", "median_times", "pin_threads_early",
           "print_header", "print_profile", "time_calls"]


# -- threads -----------------------------------------------------------------------------

def threads_from_argv(argv) -> str | None:
    """The value of ``--threads N`` / ``--threads=N`` in ``argv``, or None (read by hand:
    argparse runs too late, after NumPy is imported)."""
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return None


def pin_threads_early(default: int | None = None) -> None:
    """Put ``--threads`` (from ``sys.argv``, else ``default``; nothing when both are
    missing) into the BLAS/OpenMP environment variables.  Call it before NumPy is first
    imported, and only when the script runs as ``__main__`` (``sys.argv`` is someone else's
    when the script is imported)."""
    value = threads_from_argv(sys.argv[1:])
    if value is None and default is not None:
        value = str(default)
    if value is not None:
        for var in _THREAD_VARS:
            os.environ[var] = value


def thread_env(n: int | None) -> dict:
    """A copy of ``os.environ`` for a child interpreter, with ``n`` BLAS/OpenMP threads
    (unchanged when ``n`` is None)."""
    env = dict(os.environ)
    if n is not None:
        env.update({var: str(n) for var in _THREAD_VARS})
    return env


def apply_threads(n: int | None, torch=None) -> None:
    """Use ``n`` threads from now on in torch (when given) and in NumPy's BLAS; None leaves
    each library's own default."""
    if n is None:
        return
    if torch is not None:
        torch.set_num_threads(n)
    from ember.train.threads import set_blas_threads
    set_blas_threads(n)


def blas_threads() -> int | None:
    """NumPy's BLAS thread count as the loaded library reports it (None if unknown)."""
    from ember.train.threads import get_blas_threads
    return get_blas_threads()


def import_torch():
    """``torch``, or None when PyTorch is not installed (the scripts then time ember
    alone)."""
    try:
        import torch
    except ImportError:               # pragma: no cover - depends on the machine
        return None
    return torch


# -- command line and header -------------------------------------------------------------

def add_common_args(parser, *, threads_default: int | None = None, profile: str | None = None,
                    repeat: bool = False):
    """Add the options every script takes: ``--quick`` and ``--threads``; ``--repeat`` when
    ``repeat`` is true; ``--profile`` (with ``profile`` as its help) when given."""
    parser.add_argument("--quick", action="store_true",
                        help="shorter timing loops and fewer repeats (a few seconds, noisier)")
    default_text = (f"default {threads_default}" if threads_default is not None
                    else "default: each library's own")
    parser.add_argument("--threads", type=int, default=threads_default,
                        help=f"threads for NumPy's BLAS and for torch ({default_text}); "
                             "1 gives the fairest comparison on a busy machine")
    if repeat:
        parser.add_argument("--repeat", type=int, default=None,
                            help="timed repeats per case (the best is reported)")
    if profile is not None:
        parser.add_argument("--profile", action="store_true", help=profile)
    return parser


def print_header(ember, np, torch) -> None:
    """One line of versions and thread counts; says so when PyTorch is missing."""
    line = (f"ember {ember.__version__}, numpy {np.__version__}, "
            f"python {sys.version.split()[0]}")
    n = blas_threads()
    if n is not None:
        line += f", BLAS threads {n}"
    if torch is not None:
        print(f"{line}, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    else:
        print(line)
        print("PyTorch is not installed: timing ember only (no ratios).")


# -- timing ------------------------------------------------------------------------------

def _run(fn, number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return time.perf_counter() - t0


def calibrate(fn, min_time: float, max_number: int = 1_000_000) -> int:
    """How many calls of ``fn`` last at least ``min_time`` seconds (after one warm-up call:
    allocations, lazy imports, BLAS thread start-up)."""
    fn()
    number = 1
    while number < max_number:
        dt = _run(fn, number)
        if dt >= min_time:
            break
        # jump to the predicted count (with a margin), at least doubling
        guess = number * min_time / dt * 1.2 if dt > 0 else number * 10
        number = min(max_number, max(2 * number, math.ceil(guess)))
    return number


def time_calls(fns, min_time: float, repeat: int, max_number: int = 1_000_000):
    """Seconds per call of each function in ``fns``, one value per repeat: a list per
    function.  The functions take turns within each repeat."""
    numbers = [calibrate(fn, min_time, max_number) for fn in fns]
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, number, out in zip(fns, numbers, times):
            out.append(_run(fn, number) / number)
    return times


def best_times(fns, min_time: float, repeat: int, max_number: int = 1_000_000):
    """The fastest repeat of each function, in seconds per call (see :func:`time_calls`)."""
    return [min(t) for t in time_calls(fns, min_time, repeat, max_number)]


def median_times(times):
    """The median of each function's repeats from :func:`time_calls`."""
    return [statistics.median(t) for t in times]


def import_times(modules, repeat: int) -> dict:
    """Seconds to import each module in a fresh interpreter, best of ``repeat`` (the
    modules take turns); None for a module that fails to import."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    best = {m: math.inf for m in modules}
    for _ in range(repeat):
        for m in modules:
            if best[m] is None:
                continue
            code = (f"import time; t = time.perf_counter(); import {m}; "
                    "print(time.perf_counter() - t)")
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 env=env, cwd=ROOT)
            if out.returncode != 0:
                best[m] = None
                continue
            best[m] = min(best[m], float(out.stdout.strip().splitlines()[-1]))
    return best


# -- printing ----------------------------------------------------------------------------

def format_table(rows, *, unit: str = "ms", label_head: str = "case", width: int | None = None,
                 col: int = 10, digits: int = 2, ratio_head: str = "ember/torch",
                 ratio_col: int = 13, ratio_digits: int = 2, ratio_suffix: str = "x",
                 rule: bool = True) -> str:
    """The ember / torch table as text.

    ``rows`` are ``(label, ember_value, torch_value)`` in ``unit``; ``torch_value`` None
    prints dashes (no PyTorch, or an ember-only case).  ``width`` is the label column
    (default: the longest label plus 2), ``col`` the number columns, ``digits`` their
    decimals; the ratio column is ``ratio_col`` wide including ``ratio_suffix``.  ``rule``
    draws a line of dashes under the heading.
    """
    if width is None:
        width = max([len(r[0]) for r in rows] + [len(label_head)]) + 2
    head = (f"{label_head:<{width}}{unit_head('ember', unit):>{col}}"
            f"{unit_head('torch', unit):>{col}}{ratio_head:>{ratio_col}}")
    lines = [head]
    if rule:
        lines.append("-" * len(head))
    rcol = ratio_col - len(ratio_suffix)
    for label, e, t in rows:
        line = f"{label:<{width}}{e:>{col}.{digits}f}"
        if t is None:
            line += f"{'-':>{col}}{'-':>{ratio_col}}"
        else:
            line += f"{t:>{col}.{digits}f}{e / t:>{rcol}.{ratio_digits}f}{ratio_suffix}"
        lines.append(line)
    return "\n".join(lines)


def unit_head(lib: str, unit: str) -> str:
    return f"{lib} {unit}" if unit else lib


def print_profile(fn, calls: int, title: str, top: int = 12) -> None:
    """Run ``fn`` ``calls`` times under cProfile and print the ``top`` functions by own
    time."""
    import cProfile
    import pstats
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        fn()
    prof.disable()
    print(f"\n{title}:")
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)
