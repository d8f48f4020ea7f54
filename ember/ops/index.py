"""``tensor[index]`` and ``tensor[index] = value``.

An index is normalised once into a NumPy index: Tensors and lists become integer or boolean
arrays (advanced indexing), ints, slices, None and Ellipsis pass through (basic indexing).
Basic indexing gives a view that shares memory with the indexed tensor, as in PyTorch;
advanced indexing gives a copy. The gradient of ``x[idx]`` scatters the incoming gradient
back into zeros of x's shape, adding where an advanced index repeats an element.
"""
from __future__ import annotations

import numpy as np

from ._op import Op, Tensor, _wrap
from .inplace import inplace_update

__all__ = ["getitem", "setitem", "getitem_normalized", "normalize_index"]

_BASIC = (int, slice, type(None), type(Ellipsis))


def _index_array(x, what="index"):
    arr = x._data if isinstance(x, Tensor) else np.asarray(x)
    kind = arr.dtype.kind
    if kind == "b":
        return arr
    if kind in "iu":
        return arr.astype(np.intp, copy=False) if kind == "u" and arr.dtype != np.uint8 else arr
    if arr.size == 0 and kind == "f":            # x[[]] : an empty list is an empty int index
        return arr.astype(np.intp)
    dt = NP_NAME.get(arr.dtype.kind, str(arr.dtype))
    raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors "
                     f"(got {dt})")


NP_NAME = {"f": "float", "c": "complex"}


def normalize_index(index):
    """Return ``(numpy_index, is_basic)``."""
    if isinstance(index, _BASIC):
        if type(index) is slice and index.step is not None and _step(index.step) <= 0:
            raise ValueError("step must be greater than zero")
        return _fix_int(index), True
    if isinstance(index, Tensor):
        arr = _index_array(index)
        if arr.dtype == np.uint8:
            arr = arr.astype(bool)
        return arr, False
    if isinstance(index, tuple):
        out, basic = [], True
        for i in index:
            if isinstance(i, _BASIC):
                if type(i) is slice and i.step is not None and _step(i.step) <= 0:
                    raise ValueError("step must be greater than zero")
                out.append(_fix_int(i))
            elif isinstance(i, (bool, np.bool_)):
                out.append(bool(i))
                basic = False
            elif isinstance(i, (np.integer,)):
                out.append(int(i))
            else:
                arr = _index_array(i)
                if arr.dtype == np.uint8:
                    arr = arr.astype(bool)
                out.append(arr)
                basic = False
        return tuple(out), basic
    if isinstance(index, (list, np.ndarray)):
        if isinstance(index, list) and any(isinstance(i, (slice, type(None), type(Ellipsis)))
                                           or isinstance(i, Tensor) and i.ndim > 0
                                           for i in index):
            return normalize_index(tuple(index))
        arr = _index_array(index)
        return (arr.astype(bool) if arr.dtype == np.uint8 else arr), False
    if isinstance(index, (bool, np.bool_)):
        return bool(index), False
    if isinstance(index, np.integer):
        return int(index), True
    raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                     f"Variables are valid indices (got {type(index).__name__})")


def _step(s):
    return int(s)


def _fix_int(i):
    if type(i) is slice:
        return slice(_as_int(i.start), _as_int(i.stop), _as_int(i.step))
    return i


def _as_int(v):
    if v is None or type(v) is int:
        return v
    return int(v)


class GetItem(Op):
    """``x[index]``: a view for basic indices, a copy for advanced ones."""

    def forward(self, x, index, basic):
        self.index = index
        self.basic = basic
        self.in_shape = x.shape
        self.is_view = basic
        try:
            return x[index]
        except IndexError as e:
            raise IndexError(_index_error(e, x.shape, index)) from None

    def backward(self, grad):
        return IndexBackward.apply(grad, shape=self.in_shape, index=self.index,
                                   basic=self.basic)


class IndexBackward(Op):
    """Scatter-add ``grad`` into zeros of ``shape`` at ``index`` (the gradient of GetItem);
    its own gradient is the same indexing again."""

    def forward(self, grad, shape, index, basic):
        self.index = index
        self.basic = basic
        out = np.zeros(shape, dtype=grad.dtype)
        if basic or _unique_index(index):
            out[index] = grad
        else:
            np.add.at(out, index, grad)
        return out

    def backward(self, grad):
        return GetItem.apply(grad, index=self.index, basic=self.basic)


def _unique_index(index):
    """True when an advanced index cannot hit an element twice (boolean masks)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(not isinstance(i, np.ndarray) or i.dtype == np.bool_ for i in items)


def _index_error(err, shape, index):
    msg = str(err)
    if "out of bounds" in msg:
        import re
        m = re.search(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)", msg)
        if m:
            return (f"index {m.group(1)} is out of bounds for dimension {m.group(2)} with size "
                    f"{m.group(3)}")
    if "too many indices" in msg:
        return (f"too many indices for tensor of dimension {len(shape)}")
    if "boolean index did not match" in msg:
        return (f"The shape of the mask {msg.split('size of')[0].strip()} does not match the "
                f"shape of the indexed tensor {list(shape)}: {msg}")
    return msg


def getitem(input: Tensor, index) -> Tensor:
    """``input[index]`` (see the module docstring)."""
    idx, basic = normalize_index(index)
    return GetItem.apply(input, index=idx, basic=basic)


def getitem_normalized(input: Tensor, idx) -> Tensor:
    """``input[idx]`` for an index already normalised by ``normalize_index``."""
    basic = isinstance(idx, _BASIC) or (isinstance(idx, tuple) and all(
        isinstance(i, _BASIC) for i in idx))
    return GetItem.apply(input, index=idx, basic=basic)


def setitem(input: Tensor, index, value) -> None:
    """``input[index] = value``: writes in place; differentiable with respect to both the
    untouched elements of ``input`` and ``value``."""
    idx, _ = normalize_index(index)
    if not isinstance(value, Tensor):
        if isinstance(value, (list, tuple, np.ndarray)):
            value = np.asarray(value)
            if value.dtype.kind in "fc" and input._data.dtype.kind in "iub":
                raise RuntimeError(f"Index put requires the source and destination dtypes "
                                   f"match, got {input.dtype._legacy[:-6]} for the "
                                   f"destination and Double for the source.")
    try:
        target_shape = input._data[idx].shape
    except IndexError as e:
        raise IndexError(_index_error(e, input._data.shape, idx)) from None
    vshape = value._data.shape if isinstance(value, Tensor) else np.shape(value)
    try:
        np.broadcast_shapes(vshape, target_shape)
        if len(vshape) > len(target_shape) and any(s != 1 for s in vshape[:len(vshape) -
                                                                           len(target_shape)]):
            raise ValueError
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(vshape)} cannot be "
                           f"broadcast to indexing result of shape {list(target_shape)}") \
            from None
    if isinstance(value, Tensor) and len(vshape) > len(target_shape):
        value = value.reshape(target_shape if not target_shape else
                              vshape[len(vshape) - len(target_shape):])
    inplace_update(input, value, idx, check_cast=False)
