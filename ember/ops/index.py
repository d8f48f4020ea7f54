"""``tensor[index]`` and ``tensor[index] = value``.

An index is normalised once into a NumPy index: Tensors and lists become integer or boolean
arrays (advanced indexing), ints, slices, None and Ellipsis pass through (basic indexing).
Basic indexing gives a view that shares memory with the indexed tensor, as in PyTorch;
advanced indexing gives a copy. The gradient of ``x[idx]`` scatters the incoming gradient
back into zeros of x's shape, adding where an advanced index repeats an element.

Two places where PyTorch and NumPy read an index differently are translated: integers next
to tensor indices are applied first as ``select`` (``split_int_index``), and a short list
holding sequences or tensors is a tuple of indices (``x[[[0, 1], [1, 0]]]``).
"""
from __future__ import annotations

import numpy as np

from .._tensor import _trace_check
from ._op import Op, Tensor
from .inplace import check_inplace_allowed, inplace_update

__all__ = ["getitem", "setitem", "getitem_normalized", "normalize_index"]

_BASIC = (int, slice, type(None), type(Ellipsis))


def _index_array(x, what="index"):
    if isinstance(x, Tensor):
        _trace_check("index", x)          # ember.onnx refuses indices computed from inputs
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
    if isinstance(index, (bool, np.bool_)):       # (before int: bool is an int subclass)
        return bool(index), False
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
            if isinstance(i, (bool, np.bool_)):
                out.append(bool(i))
                basic = False
            elif isinstance(i, _BASIC):
                if type(i) is slice and i.step is not None and _step(i.step) <= 0:
                    raise ValueError("step must be greater than zero")
                out.append(_fix_int(i))
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
        # PyTorch (like old NumPy) reads a short list holding tensors, sequences, slices,
        # None or Ellipsis as a tuple of indices: x[[[0, 1], [1, 0]]] is x[[0, 1], [1, 0]]
        if isinstance(index, list) and len(index) < 32 and any(
                isinstance(i, (slice, type(None), type(Ellipsis), Tensor, list, tuple,
                               np.ndarray)) for i in index):
            return normalize_index(tuple(index))
        arr = _index_array(index)
        return (arr.astype(bool) if arr.dtype == np.uint8 else arr), False
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
    """PyTorch's wording for NumPy's indexing errors."""
    import re
    msg = str(err)
    m = re.search(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)", msg)
    if m:
        return (f"index {m.group(1)} is out of bounds for dimension {m.group(2)} with size "
                f"{m.group(3)}")
    if "too many indices" in msg:
        return f"too many indices for tensor of dimension {len(shape)}"
    if "boolean index did not match" in msg:
        return _mask_error(shape, index) or msg
    if "could not be broadcast together" in msg:
        shapes = re.findall(r"\(([\d, ]*)\)", msg.split("shapes", 1)[1])
        listed = ", ".join("[" + ", ".join(v for v in t.replace(" ", "").split(",") if v) + "]"
                           for t in shapes)
        return f"shape mismatch: indexing tensors could not be broadcast together with shapes " \
               f"{listed}"
    return msg


def _mask_error(shape, index):
    """PyTorch's message for a boolean mask whose shape does not match the dimensions it
    indexes, found by walking the index as NumPy does."""
    items = index if isinstance(index, tuple) else (index,)
    consumed = sum(1 if not isinstance(i, np.ndarray) else max(i.ndim, 1) if i.dtype == bool
                   else 1 for i in items if i is not None and i is not Ellipsis
                   and not isinstance(i, bool))
    dim = 0
    for i in items:
        if i is Ellipsis:
            dim += len(shape) - consumed
        elif i is None or isinstance(i, bool):
            continue
        elif isinstance(i, np.ndarray) and i.dtype == bool:
            for k, n in enumerate(i.shape):
                if dim + k >= len(shape) or shape[dim + k] != n:
                    return (f"The shape of the mask {list(i.shape)} at index {k} does not match "
                            f"the shape of the indexed tensor {list(shape)} at index {dim + k}")
            dim += i.ndim
        else:
            dim += 1
    return None


def split_int_index(idx):
    """PyTorch applies integers as ``select`` before any tensor index, while NumPy counts
    them among the advanced indices when tensors are present (which moves the broadcast
    dimensions: ``x[1, :, [0, 1]]`` is 4x2 in PyTorch, 2x4 in NumPy). For such an index,
    return ``(basic, advanced)`` with ``x[idx] == x[basic][advanced]`` in PyTorch's sense;
    otherwise None."""
    if not isinstance(idx, tuple):
        return None
    has_int = has_arr = False
    for i in idx:
        if isinstance(i, bool):
            return None
        if isinstance(i, np.ndarray) and i.ndim > 0:
            has_arr = True
        elif type(i) is int or isinstance(i, np.ndarray) and i.dtype.kind in "iu":
            has_int = True
    if not (has_int and has_arr):
        return None
    basic, adv = [], []
    for i in idx:
        if type(i) is int or isinstance(i, np.ndarray) and i.ndim == 0 and \
                i.dtype.kind in "iu":
            basic.append(int(i))
        elif isinstance(i, np.ndarray):
            basic.append(slice(None))
            adv.append(i)
        elif i is None:
            basic.append(None)
            adv.append(slice(None))
        else:
            basic.append(i)
            adv.append(slice(None) if i is not Ellipsis else Ellipsis)
    return tuple(basic), tuple(adv)


def getitem(input: Tensor, index) -> Tensor:
    """``input[index]`` (see the module docstring)."""
    idx, basic = normalize_index(index)
    if not basic:
        parts = split_int_index(idx)
        if parts is not None:
            view = GetItem.apply(input, index=parts[0], basic=True)
            return GetItem.apply(view, index=parts[1], basic=False)
    return GetItem.apply(input, index=idx, basic=basic)


def _is_basic(i):
    return isinstance(i, _BASIC) and not isinstance(i, bool)


def getitem_normalized(input: Tensor, idx) -> Tensor:
    """``input[idx]`` for an index already normalised by ``normalize_index``."""
    basic = _is_basic(idx) or (isinstance(idx, tuple) and all(_is_basic(i) for i in idx))
    return GetItem.apply(input, index=idx, basic=basic)


def setitem(input: Tensor, index, value) -> None:
    """``input[index] = value``: writes in place; differentiable with respect to both the
    untouched elements of ``input`` and ``value``. ``value`` is a number or a tensor that
    broadcasts to ``input[index]`` (values are cast to input's dtype)."""
    idx, basic = normalize_index(index)
    if not basic:
        parts = split_int_index(idx)
        if parts is not None:           # write through the view the integers select
            check_inplace_allowed(input)
            setitem(GetItem.apply(input, index=parts[0], basic=True), parts[1], value)
            return
    if isinstance(value, (list, tuple, np.ndarray)):
        what = "numpy.ndarray" if isinstance(value, np.ndarray) else type(value).__name__
        raise TypeError(f"can't assign a {what} to a ember.{input.dtype._legacy}")
    if isinstance(value, complex) and input._data.dtype.kind != "c":
        raise RuntimeError(f"value cannot be converted to type {input.dtype.name} without "
                           "overflow")
    try:
        target_shape = input._data[idx].shape
    except IndexError as e:
        raise IndexError(_index_error(e, input._data.shape, idx)) from None
    vshape = value._data.shape if isinstance(value, Tensor) else ()
    # leading size-1 dimensions of the value beyond the target's are dropped, as in PyTorch
    lead = 0
    while len(vshape) - lead > len(target_shape) and vshape[lead] == 1:
        lead += 1
    stripped = vshape[lead:]
    if basic:
        from .shape import _expand_shape
        _expand_shape(stripped, target_shape, input.dtype)     # raises PyTorch's errors
    else:
        try:
            ok = np.broadcast_shapes(stripped, target_shape) == tuple(target_shape)
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(vshape)} cannot "
                               f"be broadcast to indexing result of shape "
                               f"{list(target_shape)}")
    if lead:
        value = value.reshape(stripped)
    inplace_update(input, value, idx, check_cast=False)
