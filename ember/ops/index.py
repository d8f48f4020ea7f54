"""``tensor[index]`` and ``tensor[index] = value``.

An index is normalised once into a NumPy index: Tensors and lists become integer or boolean
arrays (advanced indexing), ints, slices, None and Ellipsis pass through (basic indexing).
Basic indexing gives a view that shares memory with the indexed tensor, as in PyTorch;
advanced indexing gives a copy. The gradient of ``x[idx]`` scatters the incoming gradient
back into zeros of x's shape, adding where an advanced index repeats an element.

Two places where PyTorch and NumPy read an index differently are translated: integers next
to tensor indices are applied first as ``select`` (``split_int_index``), and a short list
holding sequences or tensors is a tuple of indices (``x[[[0, 1], [1, 0]]]``).

Index tensors are inputs of the op. Reading ``x[i]`` does not turn an index tensor ``i`` into
an array up front: ``normalize_index`` leaves a placeholder (``_Slot``) where it goes and
hands the tensor over, and ``GetItem.apply(x, *index_tensors, index=template, basic=False)``
puts the arrays back in the placeholders' places when its forward runs. The index is thereby
an input of the recorded op, like ``gather``'s, so ember.onnx's tracer sees an index the
model computed (or received) and exports it as a graph tensor (Gather/GatherND) rather than
freezing the example's values. Index tensors are not differentiable: GetItem records only
``x``'s edge, so ``grad_fn.next_functions`` matches PyTorch's. Basic indices have no tensors,
so a view is still replayed from its base by ``cls.apply(base, index=..., basic=True)``.

Writes (``x[i] = v``) still read index tensors as arrays: the in-place machinery
(``ember.ops.inplace``) keeps NumPy indices, and ember.onnx cannot export a partial write
anyway, so a traced index there is refused with a TracingError naming the line. A boolean
mask computed from the inputs is refused the same way on reading: the size of ``x[mask]``
depends on the mask's values, which an exported graph cannot fix ahead of time.
"""
from __future__ import annotations

import numpy as np

from .._tensor import _TRACE_HOOK, _trace_check
from ._op import Op, Tensor
from .inplace import check_inplace_allowed, inplace_update

__all__ = ["getitem", "getitem_normalized", "normalize_index", "setitem"]

_BASIC = (int, slice, type(None), type(Ellipsis))


# what ember.onnx's TracingError names when a traced tensor is read as an index array
_WRITE_WHAT = ("ember.Tensor.__setitem__ (x[index] = value, index_put_) with an index tensor "
               "computed from the inputs (a partial in-place write: use ember.where, "
               "masked_fill or scatter out of place)")
_MASK_WHAT = ("data-dependent indexing x[mask] with a boolean mask (its result's size "
              "depends on the mask's values; ember.where(mask, x, other) or "
              "x.masked_fill(~mask, value) keep the shape)")


def _index_array(x, what="index"):
    """An index item as a NumPy array (the write path, and lists/arrays on the read path)."""
    if isinstance(x, Tensor):
        _trace_check(_WRITE_WHAT, x)      # ember.onnx refuses a write at a traced index
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


class _Slot:
    """The place of an index tensor in an index template (see the module docstring).

    ``mask``: a boolean (or uint8) mask; ``array``: not 0-d; ``int0``: a 0-d integer tensor,
    which PyTorch applies like an int (``split_int_index``); ``conv``: None, or how
    ``_fill`` turns the tensor's array into a NumPy index (uint8 to bool, other unsigned
    integers to intp). One shared instance per combination (``_SLOTS``)."""

    __slots__ = ("array", "conv", "int0", "mask")

    def __init__(self, mask: bool, array: bool, conv):
        self.mask = mask
        self.array = array
        self.int0 = not mask and not array
        self.conv = conv

    def __repr__(self):
        return f"<{'' if self.array else '0-d '}{'mask' if self.mask else 'integer'} tensor>"


def _to_bool(a):
    return a.astype(bool)


def _to_intp(a):
    return a.astype(np.intp)


_SLOTS = {(m, nd, c): _Slot(m, nd, c) for m, c in ((False, None), (True, None),
                                                   (True, _to_bool), (False, _to_intp))
          for nd in (False, True)}
_INT_SLOT = _SLOTS[False, True, None]       # the common case: an n-d signed integer tensor
_INT0_SLOT = _SLOTS[False, False, None]
_MASK_SLOT = _SLOTS[True, True, None]
_MASK0_SLOT = _SLOTS[True, False, None]


def _slot(t: Tensor) -> _Slot:
    """Check index tensor ``t`` and return its placeholder. A boolean (or uint8) mask that
    ember.onnx is tracing from the inputs is refused here, naming the model's line."""
    data = t._data
    dt = data.dtype
    kind = dt.kind
    if kind == "i":
        return _INT_SLOT if data.ndim else _INT0_SLOT
    if kind == "b":
        if _TRACE_HOOK[0] is not None:
            _trace_check(_MASK_WHAT, t)
        return _MASK_SLOT if data.ndim else _MASK0_SLOT
    if kind == "u":
        mask = dt == np.uint8
        conv = _to_bool if mask else _to_intp
        if mask and _TRACE_HOOK[0] is not None:
            _trace_check(_MASK_WHAT, t)
    else:
        raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors "
                         f"(got {NP_NAME.get(kind, str(dt))})")
    return _SLOTS[mask, data.ndim > 0, conv]


def _fill(template, arrays):
    """``template`` with the index arrays put in the places of its placeholders, in order
    (a plain loop: the cheapest form for the usual one or two tensors)."""
    if type(template) is _Slot:
        a = arrays[0]
        return a if template.conv is None else template.conv(a)
    out = []
    k = 0
    for i in template:
        if type(i) is _Slot:
            a = arrays[k]
            k += 1
            out.append(a if i.conv is None else i.conv(a))
        else:
            out.append(i)
    return tuple(out)


def normalize_index(index, tensors=None):
    """Return ``(numpy_index, is_basic)``.

    With a list ``tensors`` (the read path), index tensors are not read: each is appended
    to ``tensors`` and a ``_Slot`` takes its place in the returned index (a template that
    ``_fill`` completes). Without it, they become arrays.

    The usual items (ints, slices, None, Ellipsis, tensors) are recognised by their exact
    type first; anything else goes through the general checks below them."""
    t = type(index)
    if t is int:
        return index, True
    if t is slice:
        return _fix_slice(index), True
    if t is tuple:
        out, basic = [], True
        for i in index:
            ti = type(i)
            if ti is int or i is None or i is Ellipsis:
                out.append(i)
            elif ti is slice:
                out.append(_fix_slice(i))
            elif tensors is not None and isinstance(i, Tensor):
                out.append(_slot(i))
                tensors.append(i)
                basic = False
            elif isinstance(i, (bool, np.bool_)):     # (before int: bool is an int subclass)
                out.append(bool(i))
                basic = False
            elif isinstance(i, int):
                out.append(i)
            elif isinstance(i, np.integer):
                out.append(int(i))
            else:
                arr = _index_array(i)
                if arr.dtype == np.uint8:
                    arr = arr.astype(bool)
                out.append(arr)
                basic = False
        return tuple(out), basic
    if tensors is not None and isinstance(index, Tensor):
        tensors.append(index)
        return _slot(index), False
    if t is list:
        return _normalize_list(index, tensors)
    return _normalize_other(index, tensors)


def _normalize_list(index, tensors):
    # PyTorch (like old NumPy) reads a short list holding tensors, sequences, slices,
    # None or Ellipsis as a tuple of indices: x[[[0, 1], [1, 0]]] is x[[0, 1], [1, 0]]
    if len(index) < 32 and any(isinstance(i, (slice, type(None), type(Ellipsis), Tensor,
                                              list, tuple, np.ndarray)) for i in index):
        return normalize_index(tuple(index), tensors)
    arr = _index_array(index)
    return (arr.astype(bool) if arr.dtype == np.uint8 else arr), False


def _normalize_other(index, tensors):
    """``normalize_index`` for the less common forms (and the write path's tensors)."""
    if isinstance(index, (bool, np.bool_)):       # (before int: bool is an int subclass)
        return bool(index), False
    if isinstance(index, _BASIC):
        return _fix_int(index), True
    if isinstance(index, Tensor):
        arr = _index_array(index)
        if arr.dtype == np.uint8:
            arr = arr.astype(bool)
        return arr, False
    if isinstance(index, tuple):                  # a tuple subclass (a namedtuple)
        return normalize_index(tuple(index), tensors)
    if isinstance(index, (list, np.ndarray)):
        if isinstance(index, list):
            return _normalize_list(index, tensors)
        arr = _index_array(index)
        return (arr.astype(bool) if arr.dtype == np.uint8 else arr), False
    if isinstance(index, np.integer):
        return int(index), True
    raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                     f"Variables are valid indices (got {type(index).__name__})")


def _fix_slice(s: slice) -> slice:
    """``s`` with a positive step checked and its bounds made Python ints (``s`` itself
    when they already are, the usual case)."""
    start, stop, step = s.start, s.stop, s.step
    if step is not None:
        if type(step) is not int:
            step = int(step)
        if step <= 0:
            raise ValueError("step must be greater than zero")
    if (start is None or type(start) is int) and (stop is None or type(stop) is int) and \
            step is s.step:
        return s
    return slice(_as_int(start), _as_int(stop), step)


def _fix_int(i):
    if type(i) is slice:
        return _fix_slice(i)
    return i


def _as_int(v):
    if v is None or type(v) is int:
        return v
    return int(v)


class GetItem(Op):
    """``x[index]``: a view for basic indices, a copy for advanced ones.

    ``index`` is a NumPy index, or a template whose ``_Slot`` placeholders take the index
    tensors given as inputs after ``x`` (``GetItem.apply(x, i, index=(slice(None), slot),
    basic=False)`` is ``x[:, i]``). Forward stores the completed index on ``self.index``."""

    def forward(self, x, *arrays, index, basic):
        if arrays:
            index = _fill(index, arrays)
        self.index = index
        self.basic = basic
        self.in_shape = x.shape
        self.is_view = basic
        try:
            return x[index]
        except IndexError as e:
            raise IndexError(_index_error(e, x.shape, index)) from None

    def _record(self, inputs, outs):
        # index tensors are not differentiable: only x gets an edge, as in PyTorch
        Op._record(self, inputs[:1] if len(inputs) > 1 else inputs, outs)

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
        if isinstance(i, np.ndarray) and i.ndim > 0 or type(i) is _Slot and i.array:
            has_arr = True
        elif type(i) is int or isinstance(i, np.ndarray) and i.dtype.kind in "iu" or \
                type(i) is _Slot and i.int0:
            has_int = True
    if not (has_int and has_arr):
        return None
    basic, adv = [], []
    for i in idx:
        if type(i) is int or isinstance(i, np.ndarray) and i.ndim == 0 and \
                i.dtype.kind in "iu":
            basic.append(int(i))
        elif type(i) is _Slot and i.int0:     # a 0-d tensor stays a tensor (see getitem)
            basic.append(i)
        elif isinstance(i, (np.ndarray, _Slot)):
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
    """``input[index]`` (see the module docstring): index tensors are inputs of GetItem.

    When integers select before tensor indices (``split_int_index``), the first GetItem
    takes the integers; a 0-d integer tensor among them stays a tensor input (so that a
    traced one is exported, not frozen), which makes that first step an advanced-index copy
    instead of a view: the values and gradients are the same, and the result is a copy
    either way."""
    if type(index) is Tensor:                           # x[i], the usual tensor index
        return GetItem.apply(input, index, index=_slot(index), basic=False)
    tensors = []
    idx, basic = normalize_index(index, tensors)
    if basic:
        return GetItem.apply(input, index=idx, basic=True)
    parts = split_int_index(idx)
    if parts is None:
        if tensors:
            return GetItem.apply(input, *tensors, index=idx, basic=False)
        return GetItem.apply(input, index=idx, basic=False)     # (lists, arrays)
    if not tensors:
        view = GetItem.apply(input, index=parts[0], basic=True)
        return GetItem.apply(view, index=parts[1], basic=False)
    # hand each tensor to the step whose template holds its placeholder (order is kept)
    first, rest = [], []
    for item, t in zip((i for i in idx if type(i) is _Slot), tensors):
        (first if item.int0 else rest).append(t)
    view = GetItem.apply(input, *first, index=parts[0], basic=not first)
    return GetItem.apply(view, *rest, index=parts[1], basic=False)


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
