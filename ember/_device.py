"""Devices. ember computes on the CPU with NumPy; ``cuda`` and ``mps`` report unavailable and
moving a tensor there raises an error naming the missing backend."""
from __future__ import annotations

__all__ = ["device", "BackendUnavailableError", "check_device"]


class BackendUnavailableError(RuntimeError, AssertionError):
    """A device backend (CUDA, MPS) that this ember install does not have. It is both a
    RuntimeError and an AssertionError, the type PyTorch raises for a missing CUDA build."""


import re

_KNOWN = ("cpu", "cuda", "mps", "meta", "xpu")
_DEVICE_STRING = re.compile(r"^([A-Za-z_]+)(:(0|[1-9][0-9]*))?$")


class device:
    """``ember.device('cpu')``; also accepts ``'cuda:0'``-style strings and an index."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int):
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments: "
                            f"{type!r}")
        if not type:
            raise RuntimeError("Device string must not be empty")
        m = _DEVICE_STRING.match(type)
        if m is None:
            raise RuntimeError(f"Invalid device string: '{type}'")
        name, idx = m.group(1), m.group(3)
        if name not in _KNOWN:
            raise RuntimeError(f"Expected one of cpu, cuda, mps, meta, xpu device type at start "
                               f"of device string: {type}")
        if idx is not None:
            if index is not None:
                raise RuntimeError("type (string) must not include an index because index was "
                                   f"passed explicitly: {type}")
            index = int(idx)
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self.type, self.index = name, index

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if not isinstance(other, device):  # torch: device('cpu') == 'cpu' is False
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


CPU = device("cpu")


def check_device(dev) -> None:
    """Accept None or the CPU; refuse other devices with a clear error."""
    if dev is None:
        return
    d = dev if isinstance(dev, device) else device(dev)
    if d.type == "cpu":
        return
    if d.type == "cuda":
        raise BackendUnavailableError(
            "ember was built without a CUDA backend: ember.cuda.is_available() is False, so "
            f"tensors cannot be moved to '{d}'. Keep them on 'cpu'.")
    raise BackendUnavailableError(f"ember has no '{d.type}' backend; only 'cpu' is available")
