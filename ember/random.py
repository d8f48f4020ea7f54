"""``ember.random``: seeding and state of the default generator (PyTorch's ``torch.random``).

The generator itself and the sampling functions live in ``ember/_random.py``; see there for
how the numbers are produced (NumPy PCG64: reproducible for a seed, but not PyTorch's stream).
"""
from __future__ import annotations

import contextlib

from ._random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)

__all__ = ["Generator", "default_generator", "fork_rng", "get_rng_state", "initial_seed",
           "manual_seed", "seed", "set_rng_state"]


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type="cuda"):
    """Context manager: random numbers drawn inside do not advance the default generator
    outside; its state (and seed) are restored on exit, also after an exception.

    ``devices``/``device_type`` are accepted for PyTorch compatibility; ember has only the
    CPU generator, which is always forked. ``enabled=False`` makes it a no-op.
    """
    if not enabled:
        yield
        return
    state = default_generator.get_state()
    try:
        yield
    finally:
        default_generator.set_state(state)
