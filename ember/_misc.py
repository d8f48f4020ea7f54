"""Small top-level functions of the ``torch`` namespace that are not operations."""
from __future__ import annotations

import operator
import os

from ._tensor import Tensor

__all__ = ["is_tensor", "is_storage", "is_floating_point", "is_complex", "is_nonzero",
           "numel", "typename", "set_num_threads", "get_num_threads",
           "use_deterministic_algorithms", "are_deterministic_algorithms_enabled", "compile",
           "memory_format", "contiguous_format", "preserve_format", "channels_last",
           "channels_last_3d"]


class memory_format:
    """Memory layouts (``ember.contiguous_format`` ...). ember's arrays are NumPy arrays:
    ``clone``/``contiguous`` honour contiguous vs preserve; channels_last is accepted and
    gives a contiguous result."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "ember." + self.name

    def __reduce__(self):
        return self.name


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


def is_tensor(obj) -> bool:
    """True if ``obj`` is an ember Tensor (Parameters included)."""
    return isinstance(obj, Tensor)


def is_storage(obj) -> bool:
    from ._tensor import _Storage
    return isinstance(obj, _Storage)


def _check(input, fn):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")


def is_floating_point(input) -> bool:
    _check(input, "is_floating_point")
    return input.is_floating_point()


def is_complex(input) -> bool:
    _check(input, "is_complex")
    return input.is_complex()


def is_nonzero(input) -> bool:
    """The truth value of a one-element tensor (raises for any other size)."""
    _check(input, "is_nonzero")
    if input.numel() != 1:
        raise RuntimeError(f"Boolean value of Tensor with {'no values' if input.numel() == 0 else 'more than one value'} is ambiguous")
    return bool(input)


def numel(input) -> int:
    _check(input, "numel")
    return input.numel()


def typename(obj) -> str:
    if isinstance(obj, Tensor):
        return obj.type()
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


_threads_requested = [None]     # the last count given to set_num_threads


def _tp_name(obj) -> str:
    """The type name PyTorch's argument errors print (CPython's ``tp_name``): the bare name
    for built-in and Python-defined classes (``float``, ``Tensor``), the dotted one that C
    extension types declare (``numpy.bool``)."""
    cls = type(obj)
    if cls.__module__ == "builtins" or cls.__flags__ & (1 << 9):   # Py_TPFLAGS_HEAPTYPE
        return cls.__name__
    return f"{cls.__module__}.{cls.__name__}"


def set_num_threads(n: int) -> None:
    """Set the number of threads NumPy's BLAS uses for ember's matrix products (what
    PyTorch calls intra-op threads).

    The BLAS library NumPy loaded is found on first use and told the new count directly
    (see :mod:`ember._threads`), so this takes effect at once, unlike ``OMP_NUM_THREADS``,
    which BLAS reads only when NumPy is imported. Where no BLAS can be reached the number is
    only recorded for :func:`get_num_threads`.

    ``n`` must be an integer (a Python or NumPy int; not a bool, float or Tensor) and
    positive, with PyTorch's errors otherwise.
    """
    if isinstance(n, (bool, Tensor)) or not hasattr(type(n), "__index__"):
        raise RuntimeError(f"set_num_threads expects an int, but got {_tp_name(n)}")
    n = operator.index(n)
    if not -2 ** 31 <= n < 2 ** 31:     # PyTorch unpacks a C int
        raise ValueError("Overflow when unpacking long" if -2 ** 63 <= n < 2 ** 63
                         else "Overflow when unpacking long long")
    if n <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    from ._threads import set_blas_threads
    set_blas_threads(n)
    _threads_requested[0] = n


def get_num_threads() -> int:
    """The number of threads NumPy's BLAS uses: the library's own count when it can be read
    (after ``set_num_threads(n)`` that is ``n``, capped at the most threads the BLAS was
    built for), else the last ``set_num_threads`` value, else the CPUs this process may
    run on."""
    from ._threads import get_blas_threads
    n = get_blas_threads()
    if n is not None:
        return n
    if _threads_requested[0] is not None:
        return _threads_requested[0]
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:      # not Linux
        return os.cpu_count() or 1


_deterministic = [False]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Accepted for compatibility: every ember CPU kernel is already deterministic."""
    _deterministic[0] = bool(mode)


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic[0]


def compile(model=None, **kwargs):
    """``torch.compile`` counterpart: ember runs eagerly, so the model is returned as is
    (works as a decorator too)."""
    if model is None:
        return lambda m: m
    return model
