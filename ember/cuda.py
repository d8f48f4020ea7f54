"""``ember.cuda``: the CUDA namespace of an install without CUDA.

ember computes on the CPU with NumPy, so this module answers the way PyTorch's does in a
CPU-only build: the queries report no device (``is_available()`` is False, ``device_count()``
is 0, the memory counters are 0), the seeding and cache functions do nothing, and everything
that needs an actual device (``current_device()``, ``get_device_name()``, ``synchronize()``,
...) raises :class:`~ember._device.BackendUnavailableError`, which is both a RuntimeError and
an AssertionError (PyTorch raises AssertionError here), with a message naming CUDA.

Typical device-agnostic code keeps working unchanged::

    device = "cuda" if ember.cuda.is_available() else "cpu"
    ember.cuda.manual_seed_all(0)          # a no-op, as in PyTorch without CUDA
"""
from __future__ import annotations

from ._device import BackendUnavailableError

__all__ = [
    "is_available", "device_count", "current_device", "get_device_name",
    "get_device_capability", "get_device_properties", "set_device", "synchronize",
    "is_initialized", "init", "manual_seed", "manual_seed_all", "seed", "seed_all",
    "initial_seed", "empty_cache", "memory_allocated", "max_memory_allocated",
    "memory_reserved", "max_memory_reserved", "reset_peak_memory_stats", "mem_get_info",
    "is_bf16_supported", "get_arch_list", "get_rng_state_all", "set_rng_state_all",
]

_MESSAGE = ("ember was built without CUDA (it computes on the CPU with NumPy): "
            "ember.cuda.is_available() is False")


def _unavailable(what: str):
    raise BackendUnavailableError(f"{_MESSAGE}; ember.cuda.{what}() needs a CUDA device")


# ---------------------------------------------------------------- queries: no device here
def is_available() -> bool:
    """Whether a CUDA device can be used: always False in ember."""
    return False


def device_count() -> int:
    """The number of CUDA devices: 0."""
    return 0


def is_initialized() -> bool:
    """Whether CUDA has been initialised: never, in ember."""
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def get_arch_list() -> list:
    """The CUDA architectures this build supports: none."""
    return []


def memory_allocated(device=None) -> int:
    """Bytes of CUDA memory held by tensors: 0 (there is none)."""
    return 0


def max_memory_allocated(device=None) -> int:
    return 0


def memory_reserved(device=None) -> int:
    return 0


def max_memory_reserved(device=None) -> int:
    return 0


def get_rng_state_all() -> list:
    """The random states of all CUDA devices: an empty list, as there are none."""
    return []


def set_rng_state_all(new_states) -> None:
    """Set the random state of every CUDA device: there are none, so nothing to do."""


# ---------------------------------------------------------------- harmless no-ops
# PyTorch makes these no-ops without CUDA so that seeding / cache-freeing code can run
# unconditionally; ember does the same.
def manual_seed(seed: int) -> None:
    """Seed the CUDA generator of the current device: a no-op (use ``ember.manual_seed``)."""


def manual_seed_all(seed: int) -> None:
    """Seed the CUDA generators of all devices: a no-op (use ``ember.manual_seed``)."""


def seed() -> None:
    """Seed the CUDA generator randomly: a no-op."""


def seed_all() -> None:
    """Seed all CUDA generators randomly: a no-op."""


def empty_cache() -> None:
    """Release cached CUDA memory: a no-op (there is no CUDA memory)."""


# ---------------------------------------------------------------- need a device: raise
def current_device() -> int:
    """The index of the current CUDA device; raises, as there is none."""
    _unavailable("current_device")


def get_device_name(device=None) -> str:
    """The name of a CUDA device; raises, as there is none."""
    _unavailable("get_device_name")


def get_device_capability(device=None):
    _unavailable("get_device_capability")


def get_device_properties(device=None):
    _unavailable("get_device_properties")


def set_device(device) -> None:
    _unavailable("set_device")


def synchronize(device=None) -> None:
    """Wait for the CUDA device to finish; raises like PyTorch without CUDA (guard it with
    ``if ember.cuda.is_available():``)."""
    _unavailable("synchronize")


def init() -> None:
    _unavailable("init")


def initial_seed() -> int:
    _unavailable("initial_seed")


def reset_peak_memory_stats(device=None) -> None:
    _unavailable("reset_peak_memory_stats")


def mem_get_info(device=None):
    _unavailable("mem_get_info")
