"""Padding layers: ``ZeroPad{1,2,3}d``, ``ConstantPad{1,2,3}d``, ``ReflectionPad{1,2,3}d``,
``ReplicationPad{1,2,3}d`` and ``CircularPad{1,2,3}d``, thin wrappers around
``nn.functional.pad``."""
from __future__ import annotations

from collections.abc import Iterable

from .. import functional as F
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]


def _ntuple(value, n):
    """An int repeated ``2 * n`` times, or a sequence as a tuple (not length-checked, as in
    PyTorch: ``F.pad`` reports a bad length)."""
    if isinstance(value, Iterable):
        return tuple(value)
    return (value,) * (2 * n)


class _PadNd(Module):
    """Common base: ``padding`` is a tuple in ``F.pad`` order (last dimension first)."""

    __constants__ = ["padding"]
    _mode = "constant"
    _nd = 1

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _ntuple(padding, self._nd)

    def forward(self, input):
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    __constants__ = ["padding", "value"]

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dimension with ``value``.

    Args:
        padding (int or 2-tuple): ``(left, right)``; an int pads both sides.
        value (float): the fill value.

    Shape: ``(C, W)`` or ``(N, C, W)`` -> ``W + left + right`` in the last dimension (any
    number of leading dimensions is accepted, as by ``F.pad``).
    """

    _nd = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dimensions with ``value``; ``padding`` is an int or
    ``(left, right, top, bottom)``."""

    _nd = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dimensions with ``value``; ``padding`` is an int or
    ``(left, right, top, bottom, front, back)``."""

    _nd = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dimension with zeros; ``padding`` is an int or ``(left, right)``."""

    _nd = 1


class ZeroPad2d(_ZeroPadNd):
    """Pad the last two dimensions with zeros; ``padding`` is an int or
    ``(left, right, top, bottom)``."""

    _nd = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last three dimensions with zeros; ``padding`` is an int or
    ``(left, right, top, bottom, front, back)``."""

    _nd = 3


class ReflectionPad1d(_PadNd):
    """Pad the last dimension with its reflection (the edge is not repeated); each amount
    must be smaller than the dimension.

    Shape: ``(C, W)`` or ``(N, C, W)``.
    """

    _mode, _nd = "reflect", 1


class ReflectionPad2d(_PadNd):
    """Reflection padding of the last two dimensions; input ``(C, H, W)`` or
    ``(N, C, H, W)``."""

    _mode, _nd = "reflect", 2


class ReflectionPad3d(_PadNd):
    """Reflection padding of the last three dimensions; input ``(C, D, H, W)`` or
    ``(N, C, D, H, W)``."""

    _mode, _nd = "reflect", 3


class ReplicationPad1d(_PadNd):
    """Pad the last dimension by repeating its edge values. Shape: ``(C, W)`` or
    ``(N, C, W)``."""

    _mode, _nd = "replicate", 1


class ReplicationPad2d(_PadNd):
    """Replication padding of the last two dimensions; input ``(C, H, W)`` or
    ``(N, C, H, W)``."""

    _mode, _nd = "replicate", 2


class ReplicationPad3d(_PadNd):
    """Replication padding of the last three dimensions; input ``(C, D, H, W)`` or
    ``(N, C, D, H, W)``."""

    _mode, _nd = "replicate", 3


class _CircularPadNd(_PadNd):
    _mode = "circular"

    def forward(self, input):
        self._check_input_dim(input)
        return F.pad(input, self.padding, "circular")

    def _check_input_dim(self, input):
        d = input.dim()
        if d not in (self._nd + 1, self._nd + 2):
            raise ValueError(f"expected {self._nd + 1}D or {self._nd + 2}D input (got {d}D "
                             "input)")


class CircularPad1d(_CircularPadNd):
    """Pad the last dimension by wrapping around (the right end continues from the start).
    Shape: ``(C, W)`` or ``(N, C, W)``."""

    _nd = 1


class CircularPad2d(_CircularPadNd):
    """Circular padding of the last two dimensions; input ``(C, H, W)`` or
    ``(N, C, H, W)``."""

    _nd = 2


class CircularPad3d(_CircularPadNd):
    """Circular padding of the last three dimensions; input ``(C, D, H, W)`` or
    ``(N, C, D, H, W)``."""

    _nd = 3
