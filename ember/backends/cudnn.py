"""``ember.backends.cudnn``: the cuDNN switches, kept as inert settings.

User code commonly writes ``torch.backends.cudnn.benchmark = True`` or
``torch.backends.cudnn.deterministic = True`` for reproducibility. ember has no cuDNN, so these
are ordinary module attributes with PyTorch's defaults: they can be read and set (directly or
with the :func:`flags` context manager), and they change nothing about how ember computes.
"""
from __future__ import annotations

import contextlib

__all__ = ["enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32",
           "is_available", "version", "flags"]

enabled = True            # PyTorch's default; has no effect in ember
benchmark = False         # has no effect in ember
benchmark_limit = None    # None as in PyTorch builds without cuDNN; no effect
deterministic = False     # has no effect in ember (ember's CPU ops are deterministic anyway)
allow_tf32 = True         # has no effect in ember (there are no tensor cores)


def is_available() -> bool:
    """Whether cuDNN can be used: False."""
    return False


def version():
    """The cuDNN version: None, as there is no cuDNN."""
    return None


@contextlib.contextmanager
def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False,
          allow_tf32=True):
    """Set the switches for the duration of a ``with`` block, then restore them (PyTorch's
    signature and defaults)."""
    g = globals()
    names = ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32")
    old = {n: g[n] for n in names}
    g.update(enabled=enabled, benchmark=benchmark, benchmark_limit=benchmark_limit,
             deterministic=deterministic, allow_tf32=allow_tf32)
    try:
        yield
    finally:
        g.update(old)
