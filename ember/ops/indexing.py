"""Indexing operations: gather/scatter, index_select/index_add/..., masked_*, take/put,
nonzero, searchsorted/bucketize, one_hot.

Most of these reduce to two primitives on flat (C-order) positions: ``take_flat`` reads
``x.ravel()[pos]`` and ``scatter_add_flat`` adds values into zeros at ``pos``; each is the
other's gradient, so double backward works. Positions are computed once with broadcast
``arange`` arithmetic (vectorised), and scatter-adds use ``np.bincount`` (one pass, handles
repeated positions) for floating dtypes.

``where(condition)`` with one argument is ``nonzero(condition, as_tuple=True)``; the
three-argument ``where`` lives in ``elementwise.py``.

For ``ember.onnx``: ``gather``, ``take``, ``index_select``, ``scatter``, ``scatter_add`` and
``masked_fill`` pass their index (mask) tensor to their op as an input, so the tracer sees it;
the functions that read an index tensor in NumPy to lay out their result (``index_add``,
``index_copy``, ``index_fill``, ``index_put``, ``put``, ``scatter_reduce``,
``masked_scatter``) and ``nonzero`` (whose output shape depends on the values) refuse a
traced one (``_trace_check``).
"""
from __future__ import annotations

import math

import numpy as np

from .._tensor import _trace_check, _wrap_dim
from ._op import Op, Tensor, _wrap, tensor_method
from .elementwise import Predicate, _cast, _out
from .index import GetItem, IndexBackward, normalize_index
from .inplace import inplace_update

__all__ = [
    "gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
    "index_copy", "index_fill", "index_put", "index_put_", "masked_fill", "masked_select",
    "masked_scatter", "take", "take_along_dim", "put", "nonzero", "argwhere", "searchsorted",
    "bucketize", "one_hot",
]

# C type names PyTorch uses in some messages
_CNAME = {"uint8": "unsigned char", "int8": "signed char", "int16": "short int",
          "int32": "int", "int64": "long int", "float16": "c10::Half", "float32": "float",
          "float64": "double", "bfloat16": "c10::BFloat16", "complex64": "c10::complex<float>",
          "complex128": "c10::complex<double>"}


def _legacy(t: Tensor) -> str:
    return t.dtype._legacy[:-6]        # 'FloatTensor' -> 'Float'


# ---------------------------------------------------------------------------------------
# flat primitives

def _scatter_add_np(n: int, pos: np.ndarray, vals: np.ndarray, dtype) -> np.ndarray:
    """``zeros(n)`` with ``vals`` added at ``pos`` (repeated positions add up)."""
    pos = pos.reshape(-1)
    vals = np.broadcast_to(vals, pos.shape if vals.ndim <= 1 else vals.shape).reshape(-1)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.bincount(pos, weights=vals, minlength=n).astype(dtype, copy=False)
    if dtype.kind == "c":
        re = np.bincount(pos, weights=vals.real, minlength=n)
        im = np.bincount(pos, weights=vals.imag, minlength=n)
        return (re + 1j * im).astype(dtype, copy=False)
    out = np.zeros(n, dtype=dtype)
    np.add.at(out, pos, vals)
    return out


class TakeFlat(Op):
    """``x.ravel()[pos]``: an array of ``pos``'s shape."""

    def forward(self, x, pos):
        self.in_shape = x.shape
        self.pos = pos
        return np.take(x, pos)

    def backward(self, grad):
        return ScatterAddFlat.apply(grad, pos=self.pos, shape=self.in_shape)


class ScatterAddFlat(Op):
    """Zeros of ``shape`` with ``g`` added at flat positions ``pos`` (``g`` has pos's
    shape)."""

    def forward(self, g, pos, shape):
        self.pos = pos
        return _scatter_add_np(math.prod(shape), pos, g, g.dtype).reshape(shape)

    def backward(self, grad):
        return TakeFlat.apply(grad, pos=self.pos)


class Gather(Op):
    """``gather``: ``x`` read at ``index`` along ``dim`` (the other coordinates being the
    output's own). ``index`` is an input, so that ``ember.onnx`` sees it (GatherElements);
    the flat positions are computed from it here. Backward: ``ScatterAddFlat``."""

    def forward(self, x, index, dim):
        self.in_shape, self.dim = x.shape, dim
        pos = _positions_along(x.shape, index.shape, dim, index) if x.ndim else \
            index.astype(np.int64)
        self.pos = pos
        return np.take(x, pos)

    def backward(self, grad):
        return ScatterAddFlat.apply(grad, pos=self.pos, shape=self.in_shape), None


class Take(Op):
    """``take``: ``x.ravel()[index]`` (negative indices count from the end); ``index`` is an
    input (ONNX: Gather of the flattened ``x``). Backward: ``ScatterAddFlat``."""

    def forward(self, x, index):
        n = x.size
        self.in_shape = x.shape
        self.pos = np.where(index < 0, index + n, index)
        return np.take(x, self.pos)

    def backward(self, grad):
        return ScatterAddFlat.apply(grad, pos=self.pos, shape=self.in_shape), None


def take_flat(x: Tensor, pos: np.ndarray) -> Tensor:
    """``x.ravel()[pos]`` (differentiable)."""
    return TakeFlat.apply(x, pos=pos)


def scatter_add_flat(g: Tensor, pos: np.ndarray, shape) -> Tensor:
    """Zeros of ``shape`` with ``g`` added at the flat positions ``pos`` (differentiable)."""
    return ScatterAddFlat.apply(g, pos=np.ascontiguousarray(pos), shape=tuple(shape))


def _c_strides(shape):
    """C-order strides of ``shape``, in elements."""
    out, acc = [], 1
    for s in reversed(shape):
        out.append(acc)
        acc *= s
    return tuple(reversed(out))


def _positions_along(shape, out_shape, dim, index):
    """Flat C-order positions in an array of ``shape`` of the elements an index selects:
    coordinate ``index`` (broadcast against ``out_shape``) along ``dim`` and the output's own
    coordinate along every other dimension."""
    st = _c_strides(shape)
    nd = len(out_shape)
    pos = index.astype(np.int64) * (st[dim] if shape else 1)
    for d in range(nd):
        if d == dim:
            continue
        ax = [1] * nd
        ax[d] = out_shape[d]
        pos = pos + (np.arange(out_shape[d], dtype=np.int64) * st[d]).reshape(ax)
    return np.broadcast_to(pos, out_shape)


def _check_index_dtype(index, fn, kinds=("int64",), what=None):
    if not isinstance(index, Tensor):
        raise TypeError(f"{fn}(): argument 'index' must be Tensor, not {type(index).__name__}")
    name = index.dtype.name
    if name not in kinds:
        if what is not None:
            raise RuntimeError(what.format(got=_legacy(index)))
        raise RuntimeError(f"{fn}(): Expected dtype int64 for index")


def _check_bounds(idx, n, dim):
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx.reshape(-1)[np.argmax((idx.reshape(-1) < 0) | (idx.reshape(-1) >= n))]
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {n}")


def _dim_of(input, dim):
    return _wrap_dim(dim, input._data.ndim)


def _refuse_traced_index(index, fn, what="index"):
    """Functions that compute positions from their index tensor in NumPy, outside the ops,
    refuse a traced one under ``ember.onnx.export`` (the graph would freeze the example's
    positions); see ``ember._tensor._trace_check``."""
    if isinstance(index, Tensor):
        _trace_check(f"the {what} of ember.{fn}(), which it reads in NumPy", index)


# ---------------------------------------------------------------------------------------
# gather / scatter

def _gather_checks(input, dim, index, fn):
    d = _dim_of(input, dim)
    xs, ishape = input._data.shape, index._data.shape
    if len(ishape) != len(xs) and not (len(xs) <= 1 and len(ishape) <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input "
                           "tensor")
    if len(ishape) == len(xs):
        for k, (a, b) in enumerate(zip(ishape, xs)):
            if k != d and a > b:
                raise RuntimeError(f"Size does not match at dimension {k} expected index "
                                   f"{list(ishape)} to be no larger than self {list(xs)} apart "
                                   f"from dimension {d}")
    n = xs[d] if xs else 1
    _check_bounds(index._data, n, d)
    return d


@tensor_method
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False,
           out=None) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` (for ``dim=0``; likewise for other dims).

    Shape: ``index`` has input's number of dimensions and is no larger than ``input``
    except along ``dim``; the output has ``index``'s shape.
    """
    _check_index_dtype(index, "gather")
    d = _gather_checks(input, dim, index, "gather")
    return _out(Gather.apply(input, index, dim=d), out)


def _scatter_checks(input, dim, index, src, fn, want_pos=False):
    _check_index_dtype(index, fn)
    d = _dim_of(input, dim)
    xs, ishape = input._data.shape, index._data.shape
    if src is not None and isinstance(src, Tensor) and src.dtype is not input.dtype:
        raise RuntimeError(f"{fn}(): Expected self.dtype to be equal to src.dtype")
    if len(ishape) != len(xs) and not (len(xs) <= 1 and len(ishape) <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self "
                           "tensor")
    ss = src._data.shape if isinstance(src, Tensor) else None
    bad = any(k != d and a > b for k, (a, b) in enumerate(zip(ishape, xs)))
    if ss is not None and len(ss) == len(ishape):
        bad = bad or any(a > b for a, b in zip(ishape, ss))
    if bad:
        tail = f" and to be no larger size than src {list(ss)}" if ss is not None else ""
        raise RuntimeError(f"Expected index {list(ishape)} to be no larger than self "
                           f"{list(xs)} apart from dimension {d}{tail}")
    n = xs[d] if xs else 1
    _check_bounds(index._data, n, d)
    if not want_pos:
        return d, None
    return d, _scatter_positions(xs, index._data, d)


def _src_region(src: Tensor, ishape):
    """The part of ``src`` that scatter reads: ``src[:i0, :i1, ...]`` for index shape i."""
    if src._data.shape == tuple(ishape):
        return src
    idx = tuple(slice(0, n) for n in ishape)
    return GetItem.apply(src, index=idx, basic=True)


def _scatter_positions(shape, index, dim):
    """Flat positions in an array of ``shape`` that a scatter along ``dim`` writes."""
    return _positions_along(shape, index.shape, dim, index) if shape else \
        index.astype(np.int64)


class Scatter(Op):
    """``input`` with ``src`` values written at ``index`` along ``dim`` (last write wins,
    as on PyTorch's CPU); ``index`` is an input (ONNX: ScatterElements). Backward: the
    written positions get no gradient from ``input``; ``src`` gets the gradient at the
    positions it was written to."""

    def forward(self, x, src, index, dim, reduce):
        pos = _scatter_positions(x.shape, index, dim)
        self.pos, self.reduce, self.dim = pos, reduce, dim
        out = x.copy()
        flat = out.reshape(-1)
        p = pos.reshape(-1)
        v = np.broadcast_to(src, pos.shape).reshape(-1)
        if reduce is None:
            flat[p] = v
        elif reduce == "add":
            np.add.at(flat, p, v)
        else:
            np.multiply.at(flat, p, v)
        return out

    def backward(self, grad):
        if self.reduce is not None:
            raise RuntimeError("derivative for aten::scatter is not implemented")
        gx = gs = None
        if self.needs_input_grad[0]:
            mask = np.ones(grad._data.shape, dtype=grad._data.dtype)
            mask.reshape(-1)[self.pos.reshape(-1)] = 0
            gx = grad * _wrap(mask)
        if self.needs_input_grad[1]:
            gs = TakeFlat.apply(grad, pos=self.pos)
        return gx, gs, None


class ScatterAdd(Op):
    """Zeros of ``shape`` with ``src`` added at ``index`` along ``dim`` (repeated indices
    add up); ``index`` is an input. ``scatter_add`` adds this to its input. Backward: the
    gradient read at the positions written."""

    def forward(self, src, index, dim, shape):
        pos = _scatter_positions(shape, index, dim)
        self.pos, self.dim = pos, dim
        return _scatter_add_np(math.prod(shape), pos, src, src.dtype).reshape(shape)

    def backward(self, grad):
        return TakeFlat.apply(grad, pos=self.pos), None


@tensor_method
def scatter(input: Tensor, dim: int, index: Tensor, src=None, value=None, *, reduce=None,
            out=None) -> Tensor:
    """A copy of ``input`` with ``src`` (a tensor, or a number ``value``) written at
    ``index`` along ``dim``: ``out[index[i][j]][j] = src[i][j]`` for ``dim=0``.

    ``reduce='add'``/``'multiply'`` combines instead of overwriting (no gradient, as in
    PyTorch).
    """
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    d, _ = _scatter_checks(input, dim, index, src, "scatter")
    if isinstance(src, Tensor):
        src = _src_region(src, index._data.shape)
    else:
        src = np.asarray(src).astype(input._data.dtype)
    return _out(Scatter.apply(input, src, index, dim=d, reduce=reduce), out)


@tensor_method
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor, *, out=None) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeated indices
    add up): ``out[index[i][j]][j] += src[i][j]`` for ``dim=0``."""
    d, _ = _scatter_checks(input, dim, index, src, "scatter_add")
    src = _src_region(src, index._data.shape)
    r = input + ScatterAdd.apply(src, index, dim=d, shape=input._data.shape)
    return _out(r, out)


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


class ScatterReduce(Op):
    """``scatter_reduce`` (see there). Backward follows PyTorch: ties of amax/amin share the
    gradient equally; prod handles zeros without dividing by them."""

    save_inputs = (0, 1)
    save_outputs = (0,)

    def forward(self, x, src, pos, reduce, include_self):
        self.pos, self.reduce, self.include_self = pos, reduce, include_self
        dt = x.dtype
        flat = x.reshape(-1).copy()
        p = pos.reshape(-1)
        v = src.reshape(-1)
        n = flat.size
        touched = np.zeros(n, dtype=bool)
        touched[p] = True
        self.touched = touched.reshape(x.shape)
        if not include_self:
            init = {"sum": 0, "mean": 0, "prod": 1,
                    "amax": _lowest(dt), "amin": _highest(dt)}[reduce]
            flat[touched] = init
        if reduce in ("sum", "mean"):
            if dt.kind in "fc":
                flat = flat + _scatter_add_np(n, p, v, dt)
            else:
                np.add.at(flat, p, v)
            if reduce == "mean":
                count = np.bincount(p, minlength=n) + (1 if include_self else 0)
                count = np.maximum(count, 1)
                self.count = count.reshape(x.shape)
                if dt.kind in "fc":
                    flat = flat / count.astype(dt)
                else:
                    flat = np.floor_divide(flat, count).astype(dt)
        elif reduce == "prod":
            np.multiply.at(flat, p, v)
        elif reduce == "amax":
            np.maximum.at(flat, p, v)
        else:
            np.minimum.at(flat, p, v)
        return flat.reshape(x.shape)

    def backward(self, grad):
        x, src, result = self.saved_tensors
        pos, red = self.pos, self.reduce
        untouched = _wrap((~self.touched).astype(grad._data.dtype))
        keep_self = None if self.include_self else untouched    # mask of self's share
        gx = gs = None
        if red == "sum":
            gx = grad if keep_self is None else grad * keep_self
            gs = TakeFlat.apply(grad, pos=pos)
        elif red == "mean":
            g = grad / _wrap(self.count.astype(grad._data.dtype))
            gx = g if keep_self is None else grad * keep_self
            gs = TakeFlat.apply(g, pos=pos)
        elif red in ("amax", "amin"):
            res_at_src = TakeFlat.apply(result, pos=pos)
            src_hits = (src._data == res_at_src._data).astype(grad._data.dtype)
            # PyTorch counts the input among the tied values even with include_self=False
            # (it then gets no share itself, except where nothing was scattered)
            self_eq = (x._data == result._data).astype(grad._data.dtype)
            self_hits = self_eq if self.include_self else untouched._data
            ties = self_eq + _scatter_add_np(self_eq.size, pos, src_hits,
                                             grad._data.dtype).reshape(self_eq.shape)
            g = grad / _wrap(np.maximum(ties, 1))
            gx = g * _wrap(self_hits)
            gs = TakeFlat.apply(g, pos=pos) * _wrap(src_hits)
        else:
            gx, gs = self._prod_backward(grad, x, src, result, untouched)
        return (gx if self.needs_input_grad[0] else None,
                gs if self.needs_input_grad[1] else None)

    def _prod_backward(self, grad, x, src, result, untouched):
        # d(prod)/d(v) is the product of the other factors: result / v when no factor is
        # zero; the product of the non-zero factors when v is the only zero; else 0.
        pos, dt = self.pos, grad._data.dtype
        xz, sz = x._data == 0, src._data == 0
        zeros = _scatter_add_np(xz.size, pos, sz.astype(np.int64), np.int64).reshape(xz.shape)
        if self.include_self:
            zeros = zeros + xz
        x1, s1 = masked_fill(x, _wrap(xz), 1), masked_fill(src, _wrap(sz), 1)
        nonzero_prod = scatter_reduce(x1, 0, None, s1, "prod", include_self=self.include_self,
                                      _pos=pos)
        z_at_src = np.take(zeros, pos)
        gr = grad * result
        gs = (TakeFlat.apply(gr, pos=pos) / s1 * _wrap((~sz & (z_at_src == 0)).astype(dt))
              + TakeFlat.apply(grad * nonzero_prod, pos=pos)
              * _wrap((sz & (z_at_src == 1)).astype(dt)))
        if self.include_self:
            gx = (gr / x1 * _wrap((~xz & (zeros == 0)).astype(dt))
                  + grad * nonzero_prod * _wrap((xz & (zeros == 1)).astype(dt)))
        else:
            gx = grad * untouched
        return gx, gs


def _lowest(dt):
    if dt.kind == "f":
        return -np.inf
    if dt.kind == "b":
        return False
    return np.iinfo(dt).min


def _highest(dt):
    if dt.kind == "f":
        return np.inf
    if dt.kind == "b":
        return True
    return np.iinfo(dt).max


@tensor_method
def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True, out=None, _pos=None) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` at ``index`` along ``dim`` with
    ``reduce`` in ``'sum'``, ``'prod'``, ``'mean'``, ``'amax'``, ``'amin'``;
    ``include_self=False`` leaves ``input``'s values out of the reduction where ``index``
    points."""
    if reduce not in _REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, "
                           f"got {reduce}")
    if _pos is None:
        _refuse_traced_index(index, "scatter_reduce")
        _, pos = _scatter_checks(input, dim, index, src, "scatter_reduce", True)
        src = _src_region(src, index._data.shape)
    else:
        pos = _pos
    return _out(ScatterReduce.apply(input, src, pos=pos, reduce=reduce,
                                    include_self=bool(include_self)), out)


def _inplace_from(fn, name):
    def method(self, *args, **kwargs):
        r = fn(self, *args, **kwargs)
        if r._data.shape != self._data.shape:
            raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the "
                               f"broadcast shape {list(r._data.shape)}")
        return inplace_update(self, r)
    method.__name__ = name
    method.__doc__ = f"In-place version of :func:`{fn.__name__}`."
    setattr(Tensor, name, method)
    return method


# ---------------------------------------------------------------------------------------
# index_select / index_add / index_copy / index_fill

def _index_vector(index, fn, input, dim):
    if not isinstance(index, Tensor):
        raise TypeError(f"{fn}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype.kind not in "iu":
        if fn == "index_select":
            raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
        raise RuntimeError(f"{fn}_(): Expected dtype int32/int64 for index but got: "
                           f"{_legacy(index)}")
    if index._data.ndim > 1:
        if fn == "index_select":
            raise IndexError("index_select(): Index is supposed to be a vector")
        raise IndexError(f"{fn}_(): Index is supposed to be a vector")
    d = _dim_of(input, dim)
    n = input._data.shape[d] if input._data.ndim else 1
    return index._data.reshape(-1).astype(np.int64, copy=False), d, n


class IndexSelect(Op):
    """``np.take`` along ``dim``; backward adds the gradient back at the indices. ``index``
    (a 0-d or 1-d integer array) is an input, so that ``ember.onnx`` sees it (Gather)."""

    def forward(self, x, index, dim):
        index = index.reshape(-1).astype(np.int64, copy=False)
        self.in_shape, self.dim, self.index = x.shape, dim, index
        if x.ndim == 0:
            return x.reshape(1)[index].reshape(())
        return np.take(x, index, axis=dim)

    def backward(self, grad):
        return (IndexAddZeros.apply(grad, dim=self.dim, index=self.index, shape=self.in_shape),
                None)


class IndexAddZeros(Op):
    """Zeros of ``shape`` with ``g`` added at ``index`` along ``dim`` (the gradient of
    index_select); unique indices are written directly, repeated ones added by bincount."""

    def forward(self, g, dim, index, shape):
        self.dim, self.index = dim, index
        if not shape:
            return _scatter_add_np(1, index, g, g.dtype).reshape(())
        if np.unique(index).size == index.size:
            out = np.zeros(shape, dtype=g.dtype)
            out[(slice(None),) * dim + (index,)] = g
            return out
        pos = _positions_along(shape, g.shape, dim,
                               index.reshape((-1,) + (1,) * (g.ndim - dim - 1)))
        return _scatter_add_np(math.prod(shape), pos, g, g.dtype).reshape(shape)

    def backward(self, grad):
        return IndexSelect.apply(grad, self.index, dim=self.dim)


@tensor_method
def index_select(input: Tensor, dim: int, index: Tensor, *, out=None) -> Tensor:
    """The entries of ``input`` at ``index`` (a 1-d integer tensor) along ``dim``."""
    idx, d, n = _index_vector(index, "index_select", input, dim)
    if input._data.ndim == 0 and idx.size != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got "
                         f"{idx.size} value(s)")
    if idx.size and (idx.min() < -n or idx.max() >= n or idx.min() < 0):
        raise IndexError("index out of range in self")
    return _out(IndexSelect.apply(input, index, dim=d), out)


def _index_source_checks(input, index, source, dim, fn):
    idx, d, n = _index_vector(index, fn, input, dim)
    if source.dtype is not input.dtype:
        raise RuntimeError(f"{fn}_(): self ({_legacy(input)}) and source ({_legacy(source)}) "
                           f"must have the same scalar type")
    xs, ss = input._data.shape, source._data.shape
    ns = ss[d] if len(ss) > d else 1
    if idx.size != ns and not (not ss and idx.size == 1):
        raise RuntimeError(f"{fn}_(): Number of indices ({idx.size}) should be equal to "
                           f"source.size(dim): ({ns}), for dim: {d}")
    if len(ss) != len(xs) or any(a != b for k, (a, b) in enumerate(zip(xs, ss)) if k != d):
        if ss or xs:
            raise RuntimeError(f"source tensor shape must match self tensor shape, excluding "
                               f"the specified dimension. Got self.shape = {list(xs)} "
                               f"source.shape = {list(ss)}")
    _check_bounds(idx, n, d)
    return idx, d


@tensor_method
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1,
              out=None) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim``
    (repeated indices add up)."""
    _refuse_traced_index(index, "index_add")
    idx, d = _index_source_checks(input, index, source, dim, "index_add")
    if alpha != 1:
        source = source * alpha
    r = input + IndexAddZeros.apply(source, dim=d, index=idx, shape=input._data.shape)
    return _out(r, out)


class IndexCopy(Op):
    """``input`` with rows ``index`` (along ``dim``) replaced by ``source``."""

    def forward(self, x, src, dim, index):
        self.dim, self.index = dim, index
        out = x.copy()
        if x.ndim:
            out[(slice(None),) * dim + (index,)] = src
        else:
            out[...] = src.reshape(())
        return out

    def backward(self, grad):
        gx = gs = None
        if self.needs_input_grad[0]:
            mask = np.ones(grad._data.shape, dtype=grad._data.dtype)
            if mask.ndim:
                mask[(slice(None),) * self.dim + (self.index,)] = 0
            else:
                mask[...] = 0
            gx = grad * _wrap(mask)
        if self.needs_input_grad[1]:
            gs = IndexSelect.apply(grad, self.index, dim=self.dim)
        return gx, gs


@tensor_method
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor, *, out=None) -> Tensor:
    """A copy of ``input`` with the entries at ``index`` along ``dim`` replaced by
    ``source``."""
    _refuse_traced_index(index, "index_copy")
    try:
        idx, d = _index_source_checks(input, index, source, dim, "index_copy")
    except RuntimeError as e:
        if "out of bounds" in str(e):
            raise IndexError(f"index_copy_(): {e}") from None
        raise
    return _out(IndexCopy.apply(input, source, dim=d, index=idx), out)


@tensor_method
def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of ``input`` with the entries at ``index`` along ``dim`` set to ``value`` (a
    number or a 0-d tensor)."""
    _refuse_traced_index(index, "index_fill")
    idx, d, n = _index_vector(index, "index_fill", input, dim)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)][0]
        raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {n}")
    mask = np.zeros(input._data.shape, dtype=bool)
    if mask.ndim:
        mask[(slice(None),) * d + (idx,)] = True
    else:
        mask[...] = idx.size > 0
    return masked_fill(input, _wrap(mask), value)


# ---------------------------------------------------------------------------------------
# index_put

class IndexPut(Op):
    """A copy of ``input`` with ``values`` written (or added, ``accumulate``) at an
    advanced index."""

    def forward(self, x, v, index, accumulate):
        self.index, self.accumulate = index, accumulate
        out = x.copy()
        if accumulate:
            np.add.at(out, index, np.broadcast_to(v, out[index].shape))
        else:
            out[index] = v
        return out

    def backward(self, grad):
        gx = gv = None
        if self.needs_input_grad[0]:
            if self.accumulate:
                gx = grad
            else:
                mask = np.ones(grad._data.shape, dtype=grad._data.dtype)
                mask[self.index] = 0
                gx = grad * _wrap(mask)
        if self.needs_input_grad[1]:
            gv = GetItem.apply(grad, index=self.index, basic=False)
        return gx, gv


def _put_index(indices):
    if isinstance(indices, Tensor):
        indices = (indices,)
    idx = tuple(slice(None) if i is None else i for i in indices)
    return normalize_index(idx)[0]


def _put_value(input, values, fn):
    if not isinstance(values, Tensor):
        values = _wrap(np.asarray(values, dtype=input._data.dtype))
    if values.dtype is not input.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{_legacy(input)} for the destination and {_legacy(values)} for "
                           f"the source.")
    return values


@tensor_method
def index_put(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``input[indices] = values`` (``+=`` with ``accumulate``,
    where repeated indices add up)."""
    values = _put_value(input, values, "index_put")
    for t in (indices,) if isinstance(indices, Tensor) else indices:
        _refuse_traced_index(t, "index_put")
    idx = _put_index(indices)
    try:
        target = input._data[idx].shape
    except IndexError as e:
        from .index import _index_error
        raise IndexError(_index_error(e, input._data.shape, idx)) from None
    try:
        np.broadcast_shapes(values._data.shape, target)
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(values.shape)} cannot "
                           f"be broadcast to indexing result of shape {list(target)}") from None
    return IndexPut.apply(input, values, index=idx, accumulate=bool(accumulate))


@tensor_method
def index_put_(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """In-place :func:`index_put`."""
    if not accumulate:
        values = _put_value(input, values, "index_put_")
        from .index import setitem
        if isinstance(indices, Tensor):
            indices = (indices,)
        setitem(input, tuple(slice(None) if i is None else i for i in indices), values)
        return input
    return inplace_update(input, index_put(input, indices, values, True))


# ---------------------------------------------------------------------------------------
# masks

def _check_mask(mask, fn):
    if not isinstance(mask, Tensor):
        raise TypeError(f"{fn}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask._data.dtype != np.bool_:
        if fn == "masked_fill":
            raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with "
                               f"dtype {_CNAME.get(mask.dtype.name, mask.dtype.name)}")
        raise RuntimeError(f"{fn}: expected BoolTensor for mask")


def _broadcast_pair(a_shape, b_shape):
    try:
        return np.broadcast_shapes(a_shape, b_shape)
    except ValueError:
        from .shape import _broadcast_error
        raise _broadcast_error((a_shape, b_shape)) from None


class MaskedFill(Op):
    """``value`` where ``mask`` is set, ``x`` elsewhere (all broadcast). A tensor ``value``
    gets the gradient at the filled positions (summed to its shape by the engine).

    ``masked_fill`` passes the mask as the third input, so that ``ember.onnx`` sees it (a
    Where); ops that fill by a constant mask of their own may pass it as ``mask=``."""

    def forward(self, x, value, mask):
        self.mask = mask
        return np.where(mask, np.asarray(value, dtype=x.dtype), x)

    def backward(self, grad):
        gx = gv = None
        if self.needs_input_grad[0]:
            gx = MaskedFill.apply(grad, 0, mask=self.mask)
        if self.needs_input_grad[1]:
            gv = MaskedFill.apply(grad, 0, mask=~self.mask)
        return (gx, gv, None) if len(self.next_functions) == 3 else (gx, gv)


@tensor_method
def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """A copy of ``input`` with ``value`` (a number or 0-d tensor) where ``mask`` (bool,
    broadcastable) is True."""
    _check_mask(mask, "masked_fill")
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value._data.ndim} dimension(s).")
        if value.dtype is not input.dtype:
            value = _cast(value, input.dtype)
    _broadcast_pair(input._data.shape, mask._data.shape)
    return MaskedFill.apply(input, value, mask)


class MaskedSelect(Op):
    """The elements where ``mask`` is set, as a 1-d tensor (both broadcast first)."""

    def forward(self, x, mask):
        shape = np.broadcast_shapes(x.shape, mask.shape)
        self.mask = np.broadcast_to(mask, shape)
        return np.broadcast_to(x, shape)[self.mask]

    def backward(self, grad):
        return MaskedSelectBackward.apply(grad, mask=self.mask), None


class MaskedSelectBackward(Op):
    """Zeros of the mask's shape with ``g`` written where the mask is set."""

    def forward(self, g, mask):
        self.mask = mask
        out = np.zeros(mask.shape, dtype=g.dtype)
        out[mask] = g
        return out

    def backward(self, grad):
        return MaskedSelect.apply(grad, self.mask)


@tensor_method
def masked_select(input: Tensor, mask: Tensor, *, out=None) -> Tensor:
    """The elements of ``input`` where ``mask`` is True, flattened (in C order)."""
    _check_mask(mask, "masked_select")
    _broadcast_pair(input._data.shape, mask._data.shape)
    return _out(MaskedSelect.apply(input, mask._data), out)


class MaskedScatter(Op):
    """``x`` with the positions where ``mask`` is set filled, in order, from ``src``."""

    def forward(self, x, src, mask):
        shape = np.broadcast_shapes(x.shape, mask.shape)
        self.mask = np.broadcast_to(mask, shape)
        self.src_shape = src.shape
        self.k = int(self.mask.sum())
        out = np.array(np.broadcast_to(x, shape))
        out[self.mask] = src.reshape(-1)[:self.k]
        return out

    def backward(self, grad):
        gx = gs = None
        if self.needs_input_grad[0]:
            gx = MaskedFill.apply(grad, 0, mask=self.mask)
        if self.needs_input_grad[1]:
            from .shape import reshape
            n = math.prod(self.src_shape)
            sel = MaskedSelect.apply(grad, self.mask)
            gs = reshape(IndexBackward.apply(sel, shape=(n,), index=(slice(0, self.k),),
                                             basic=True), self.src_shape)
        return gx, gs


@tensor_method
def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` where the positions with ``mask`` True take the elements of
    ``source`` in order."""
    _check_mask(mask, "masked_scatter")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got{_legacy(input)} and {_legacy(source)}")
    _refuse_traced_index(mask, "masked_scatter", "mask")
    shape = _broadcast_pair(input._data.shape, mask._data.shape)
    if np.broadcast_to(mask._data, shape).sum() > source._data.size:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    return MaskedScatter.apply(input, source, mask=mask._data)


for _fn, _name in ((masked_fill, "masked_fill_"), (masked_scatter, "masked_scatter_"),
                   (scatter, "scatter_"), (scatter_add, "scatter_add_"),
                   (scatter_reduce, "scatter_reduce_"), (index_add, "index_add_"),
                   (index_copy, "index_copy_"), (index_fill, "index_fill_")):
    _inplace_from(_fn, _name)


# ---------------------------------------------------------------------------------------
# take / put

@tensor_method
def take(input: Tensor, index: Tensor) -> Tensor:
    """``input.ravel()[index]``: the output has ``index``'s shape; negative indices count
    from the end."""
    if not isinstance(index, Tensor) or index._data.dtype != np.int64:
        got = _legacy(index) if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"take(): Expected a long tensor for index, but got {got}")
    n = input._data.size
    idx = index._data
    bad = (idx < -n) | (idx >= n)
    if bad.any():
        raise IndexError(f"out of range: tried to access index {idx[bad].reshape(-1)[0]} on a "
                         f"tensor of {n} elements.")
    return Take.apply(input, index)


@tensor_method
def take_along_dim(input: Tensor, indices: Tensor, dim=None, *, out=None) -> Tensor:
    """Values of ``input`` at ``indices`` along ``dim`` (input and indices broadcast in the
    other dims); without ``dim``, indices into the flattened input."""
    from .shape import expand, reshape
    if indices._data.dtype.kind not in "iu":
        raise RuntimeError("torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{indices.dtype.name.capitalize()}")
    if dim is None:
        return _out(gather(reshape(input, (-1,)), 0, reshape(indices, (-1,)).long()), out)
    nd = input._data.ndim
    d = _wrap_dim(dim, nd)
    if indices._data.ndim != nd:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {nd} dimensions for input, and "
                           f"{indices._data.ndim} dimensions for indices")
    xs, ishape = list(input._data.shape), list(indices._data.shape)
    a, b = xs.copy(), ishape.copy()
    a[d] = b[d] = 1
    common = list(_broadcast_pair(tuple(a), tuple(b)))
    xs_t, is_t = common.copy(), common.copy()
    xs_t[d], is_t[d] = xs[d], ishape[d]
    x = expand(input, tuple(xs_t)) if tuple(xs_t) != tuple(xs) else input
    i = expand(indices, tuple(is_t)) if tuple(is_t) != tuple(ishape) else indices
    return _out(gather(x, d, i.long()), out)


class Put(Op):
    """``x`` with ``src`` written (or added, ``accumulate``) at flat positions ``pos``."""

    def forward(self, x, src, pos, accumulate):
        self.pos, self.accumulate = pos, accumulate
        out = x.copy()
        flat = out.reshape(-1)
        if accumulate:
            flat += _scatter_add_np(flat.size, pos, src.reshape(-1), x.dtype)
        else:
            flat[pos.reshape(-1)] = src.reshape(-1)
        return out

    def backward(self, grad):
        gx = gs = None
        if self.needs_input_grad[0]:
            if self.accumulate:
                gx = grad
            else:
                mask = np.ones(grad._data.shape, dtype=grad._data.dtype)
                mask.reshape(-1)[self.pos.reshape(-1)] = 0
                gx = grad * _wrap(mask)
        if self.needs_input_grad[1]:
            gs = TakeFlat.apply(grad, pos=self.pos)
        return gx, gs


@tensor_method
def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source`` written at the flat indices ``index`` (added with
    ``accumulate``)."""
    if not isinstance(index, Tensor) or index._data.dtype != np.int64:
        raise RuntimeError("put_(): Expected a long tensor for index")
    if index._data.size != source._data.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {source._data.size}, "
                         f"index.numel() = {index._data.size}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {input.dtype.name} and source.dtype = "
                           f"{source.dtype.name}")
    _refuse_traced_index(index, "put")
    n = input._data.size
    idx = index._data.reshape(-1)
    bad = (idx < -n) | (idx >= n)
    if bad.any():
        raise IndexError(f"out of range: tried to access index {idx[bad][0]} on a tensor of "
                         f"{n} elements.")
    pos = np.where(idx < 0, idx + n, idx).reshape(source._data.shape)
    return Put.apply(input, source, pos=pos, accumulate=bool(accumulate))


_inplace_from(put, "put_")


# ---------------------------------------------------------------------------------------
# nonzero, argwhere

@tensor_method
def nonzero(input: Tensor, *, out=None, as_tuple: bool = False):
    """Indices of the non-zero elements: an ``(n, ndim)`` int64 tensor, or with
    ``as_tuple`` one 1-d tensor per dimension (a 0-d input counts as 1-d)."""
    _trace_check("ember.nonzero(), whose output shape depends on the values", input)
    arr = input._data
    if as_tuple:
        if arr.ndim == 0:
            return (_wrap(np.zeros(int(bool(arr)), dtype=np.int64)),)
        return tuple(_wrap(i.astype(np.int64, copy=False)) for i in np.nonzero(arr))
    return _out(_wrap(np.argwhere(arr).astype(np.int64, copy=False)), out)


@tensor_method
def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: the ``(n, ndim)`` indices of the non-zero elements."""
    return nonzero(input)


# ---------------------------------------------------------------------------------------
# searchsorted, bucketize

def _side(right, side):
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        return side
    return "right" if right else "left"


def _batched_searchsorted(seq, values, side):
    """``searchsorted`` of each row of values in the matching row of seq, for all rows at
    once: sort every (row, value) key together and count the sequence entries before each
    query."""
    rows, m = seq.shape
    k = values.shape[1]
    keys = np.concatenate([seq, values], axis=1)
    row_id = np.broadcast_to(np.arange(rows)[:, None], keys.shape)
    # on ties, queries go before the sequence entries for side='left', after for 'right'
    is_query = np.concatenate([np.zeros((rows, m), np.int8), np.ones((rows, k), np.int8)],
                              axis=1)
    tie = is_query if side == "right" else 1 - is_query
    order = np.lexsort((tie.ravel(), keys.ravel(), row_id.ravel()))
    seq_before = np.cumsum(is_query.ravel()[order] == 0) - (is_query.ravel()[order] == 0)
    result = np.empty(rows * (m + k), dtype=np.int64)
    result[order] = seq_before
    result = result.reshape(rows, m + k)[:, m:]
    return result - (np.arange(rows) * m)[:, None]


def _searchsorted_np(seq, vals, side, dt, sorter=None):
    """Kernel of searchsorted (``seq`` 1-d or batched like ``vals``; see there)."""
    vals = np.asarray(vals)
    if sorter is not None:
        seq = np.take_along_axis(seq, sorter, axis=-1)
    if seq.ndim <= 1:
        res = np.searchsorted(seq.reshape(-1), vals, side=side)
    else:
        res = _batched_searchsorted(seq.reshape(-1, seq.shape[-1]),
                                    vals.reshape(-1, vals.shape[-1]), side).reshape(vals.shape)
    return np.asarray(res, dtype=dt)


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False,
                 right: bool = False, side=None, sorter=None, out=None) -> Tensor:
    """Indices at which ``input``'s values would be inserted into ``sorted_sequence`` to keep
    it sorted (``side='right'``/``right=True``: after equal entries). ``sorted_sequence`` is
    1-d or has the leading dimensions of ``input``; ``sorter`` sorts an unsorted sequence."""
    side = _side(right, side)
    seq = sorted_sequence._data
    scalar = not isinstance(input, Tensor)
    vals = np.asarray(input) if scalar else input._data
    dt = np.int32 if out_int32 else np.int64
    if seq.ndim > 1 and (seq.shape[:-1] != vals.shape[:-1] or vals.ndim != seq.ndim):
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or "
                           f"the first N-1 dimensions of boundaries tensor and input value "
                           f"tensor must match, but we got boundaries tensor "
                           f"{list(seq.shape)} and input value tensor {list(vals.shape)}")
    r = Predicate.apply(sorted_sequence, input, fn=_searchsorted_np, name="searchsorted",
                        side=side, dt=dt, sorter=None if sorter is None else sorter._data)
    return _out(r, out)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False,
              out=None) -> Tensor:
    """The bucket of each value given sorted 1-d ``boundaries``: ``i`` such that
    ``boundaries[i-1] < x <= boundaries[i]`` (``right=True``: ``boundaries[i-1] <= x <
    boundaries[i]``)."""
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries._data.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right, out=out)


# ---------------------------------------------------------------------------------------
# one_hot

def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``(*, num_classes)`` int64 one-hot encoding of an int64 class-index tensor
    (``num_classes=-1``: one more than the largest index)."""
    if tensor._data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    arr = tensor._data
    if arr.size and arr.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        _trace_check("ember.nn.functional.one_hot() without num_classes, whose output shape "
                     "depends on the values", tensor)
        if arr.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(arr.max()) + 1
    elif arr.size and arr.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return Predicate.apply(tensor, fn=_one_hot_np, name="one_hot", num_classes=num_classes)


def _one_hot_np(arr, num_classes):
    """Kernel of one_hot: int64 of ``arr.shape + (num_classes,)``."""
    out = np.zeros(arr.shape + (num_classes,), dtype=np.int64)
    if arr.size:
        np.put_along_axis(out, arr[..., None], 1, axis=-1)
    return out
