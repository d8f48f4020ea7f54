"""Small top-level functions of the ``torch`` namespace that are not operations."""
from __future__ import annotations

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


_threads = [1]


def set_num_threads(n: int) -> None:
    """Recorded for ``get_num_threads``; NumPy's BLAS sets its thread count from the
    environment (OMP_NUM_THREADS) when it is loaded, so this has no effect on speed."""
    if int(n) < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    _threads[0] = int(n)


def get_num_threads() -> int:
    return _threads[0]


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
