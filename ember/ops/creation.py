"""Creating tensors: from data (``tensor``, ``as_tensor``, ``from_numpy``) and by shape
(``zeros``, ``ones``, ``full``, ``empty``, ``eye``, ``arange``, ``linspace``, ...).
Random creation lives in ``ember/_random.py``."""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._device import check_device
from .._dtype import as_dtype, get_default_dtype
from ._op import Tensor, _wrap

__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty",
           "zeros_like", "ones_like", "full_like", "empty_like"]


def _infer_dtype(arr: np.ndarray, data) -> np.dtype:
    """PyTorch's inference: Python floats -> default dtype, ints -> int64, bools -> bool;
    NumPy arrays keep their dtype."""
    kind = arr.dtype.kind
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        if kind in "biufc":
            return arr.dtype
    if kind == "f":
        return get_default_dtype().np
    if kind == "c":
        return get_default_dtype().to_complex().np
    if kind in "iu":
        return np.dtype(np.int64)
    if kind == "b":
        return np.dtype(np.bool_)
    raise TypeError(f"can't convert np.ndarray of type {arr.dtype}. The only supported types "
                    "are: float64, float32, float16, complex64, complex128, int64, int32, "
                    "int16, int8, uint8, and bool.")


def _from_data(data, dtype):
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        arr = np.array([_to_nested(x) for x in data])
    else:
        try:
            arr = np.asarray(data)
        except ValueError as e:
            raise ValueError(f"expected sequence of equal-length lists: {e}") from None
        if arr.dtype == object:
            raise TypeError(f"Could not infer dtype of {type(data).__name__}: ragged nested "
                            "sequences or unsupported element types")
    if dtype is not None:
        return arr.astype(_dtype.to_np(as_dtype(dtype)), copy=False)
    return arr.astype(_infer_dtype(arr, data), copy=False)


def _flat(data):
    for x in data:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _to_nested(x):
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, (list, tuple)):
        return [_to_nested(y) for y in x]
    return x


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """A new tensor that copies ``data`` (a number, nested sequence, array or tensor)."""
    check_device(device)
    arr = np.array(_from_data(data, dtype), copy=True)
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or tensor when it can."""
    check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype is as_dtype(dtype) else data.to(dtype)
    return _wrap(np.asarray(_from_data(data, dtype)))


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False) -> Tensor:
    t = tensor(obj, dtype=dtype) if copy else as_tensor(obj, dtype=dtype, device=device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray`` (writes through either show in both)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _infer_dtype(ndarray, ndarray)
    return _wrap(ndarray)


def _size_arg(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = int(s)
        if not isinstance(s, (int, np.integer)):
            raise TypeError(f"size must be tuple of ints, but got an element of type "
                            f"{type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
        out.append(int(s))
    return tuple(out)


def _make(arr, requires_grad):
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _np_dtype(dtype, default=None):
    if dtype is None:
        return (default or get_default_dtype()).np
    return _dtype.to_np(as_dtype(dtype))


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    check_device(device)
    return _make(np.zeros(_size_arg(size), dtype=_np_dtype(dtype)), requires_grad)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    check_device(device)
    return _make(np.ones(_size_arg(size), dtype=_np_dtype(dtype)), requires_grad)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None) -> Tensor:
    check_device(device)
    return _make(np.empty(_size_arg(size), dtype=_np_dtype(dtype)), requires_grad)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value (bool,
    int64, or the default float dtype) unless given."""
    check_device(device)
    if dtype is None:
        dtype = _dtype.scalar_dtype(fill_value)
    return _make(np.full(_size_arg((size,)), fill_value, dtype=_np_dtype(dtype)), requires_grad)


def _like(input, dtype):
    return _np_dtype(dtype, input.dtype)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    return _make(np.zeros(input._data.shape, dtype=_like(input, dtype)), requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    return _make(np.ones(input._data.shape, dtype=_like(input, dtype)), requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    return _make(np.empty(input._data.shape, dtype=_like(input, dtype)), requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    return _make(np.full(input._data.shape, fill_value, dtype=_like(input, dtype)),
                 requires_grad)
