"""Reductions and scans: sum/mean/var/std/prod, min/max and friends, sort/topk/median/mode,
cumulative ops, norms, unique/bincount/histc, diff.

Forward passes are single vectorised NumPy calls on the input array. Backward passes are
written with ember operations, so double backward works. Ops whose values are picked out of
the input by an index (``max(dim)``, ``sort``, ``topk``, ``median(dim)``, ...) compute the
indices with a ``Discrete`` op (a NumPy kernel; no gradient) and then gather the values at
them with ``_TakeAlong``, whose backward scatters the gradient back to the picked positions
(and whose double backward gathers again). Every result, indices included, comes out of an
op, so that ``ember.onnx`` traces it; functions whose output shape depends on the values
(``unique``, ``bincount``) refuse a traced input instead (``_trace_check``).

dtype rules follow PyTorch: ``sum``/``prod``/``cumsum``/``cumprod`` of bool or integer
tensors give int64, ``dtype=`` casts the input before reducing, ``mean``/``var``/``std``
refuse integer inputs, index outputs are int64. float16 is accumulated in float32.
"""
from __future__ import annotations

import builtins as _b
import collections
import functools
import math

import numpy as np

from .. import _dtype
from .._dtype import as_dtype
from .._size import Size as _Size
from .._tensor import _trace_check, _wrap_dim
from ..autograd.grad_mode import STATE
from . import elementwise as _ew
from ._op import Op, Tensor, _wrap, tensor_method
from .elementwise import _cast, _out
from .inplace import inplace_update
from .shape import expand as _expand
from .shape import flip as _flip
from .shape import reshape as _reshape

__all__ = [
    "all", "amax", "amin", "aminmax", "any", "argmax", "argmin", "argsort", "bincount",
    "count_nonzero", "cummax", "cummin", "cumprod", "cumsum", "diff", "histc", "kthvalue",
    "logsumexp", "max", "mean", "median", "min", "mode", "msort", "nanmean", "nanmedian", "nansum",
    "norm", "prod", "sort", "std", "std_mean", "sum", "topk", "unique", "unique_consecutive",
    "var", "var_mean",
]


# =======================================================================================
# Argument handling

def _axes(dim, ndim, fn=None):
    """Normalise ``dim`` (None, an int, or a sequence of ints) into NumPy axes.

    Returns None for a full reduction (``dim`` None or empty), else a tuple of non-negative
    axes; a 0-d input accepts dims 0 and -1 and reduces over nothing (``()``).
    """
    if dim is None:
        return None
    if isinstance(dim, (int, np.integer)) and not isinstance(dim, bool):
        d = _wrap_dim(int(dim), ndim)
        return (d,) if ndim else ()
    if isinstance(dim, (tuple, list, _Size)):
        if len(dim) == 0:
            return None
        out = []
        for d in dim:
            if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
                raise TypeError(f"{fn or 'reduction'}(): argument 'dim' must be tuple of ints, "
                                f"but found element of type {type(d).__name__}")
            w = _wrap_dim(int(d), ndim)
            if w in out:
                raise RuntimeError(f"dim {w} appears multiple times in the list of dims")
            out.append(w)
        return tuple(out) if ndim else ()
    raise TypeError(f"{fn or 'reduction'}(): argument 'dim' must be int or tuple of ints, not "
                    f"{type(dim).__name__}")


def _one_axis(dim, ndim):
    """A single wrapped dimension (0-d tensors accept 0 and -1)."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"argument 'dim' must be int, not {type(dim).__name__}")
    return _wrap_dim(int(dim), ndim)


def _keep_shape(shape, axes):
    """``shape`` with the reduced axes set to 1 (what ``keepdim=True`` gives)."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _np_dtype(dtype):
    return None if dtype is None else _dtype.to_np(as_dtype(dtype))


_INT_KINDS = "biu"
_ndarray = np.ndarray
_add_reduce = np.add.reduce
_F16 = np.dtype(np.float16)


def _restore(grad, in_shape, axes, keepdim, scale=1):
    """Broadcast a reduced gradient back to the input's shape (reinserting reduced dims),
    times ``scale``: the backward of sum (scale 1) and mean (1/n)."""
    return _Unreduce.apply(grad, shape=in_shape, axes=axes, keepdim=keepdim, scale=scale)


def _broadcast_view(a, shape):
    """``np.broadcast_to(a, shape)`` for ``a`` of the same number of dimensions: the same
    read-only view, made directly (broadcast_to's Python-level setup costs more than a whole
    small op, and this is the backward of every ``sum()`` and ``mean()``)."""
    strides = tuple([0 if n == 1 and m != 1 else st
                     for n, m, st in zip(a.shape, shape, a.strides)])
    try:
        r = _ndarray(shape, a.dtype, a, 0, strides)    # a view of a's memory
    except (TypeError, ValueError, BufferError):        # a not contiguous: the general way
        return np.broadcast_to(a, shape)
    r.setflags(write=False)
    return r


class _Unreduce(Op):
    """``grad`` (a reduction's shape) reshaped to keepdim shape, scaled, and broadcast to
    ``shape`` without copying. One op for the hot backward of sum/mean; its own backward
    is the reduction again."""

    def forward(self, g, shape, axes, keepdim, scale):
        self.axes, self.keepdim, self.scale = axes, keepdim, scale
        if not keepdim:
            g = g.reshape(_keep_shape(shape, axes))
        if scale != 1:
            g = g * scale
        return _broadcast_view(g, shape)

    def backward(self, grad):
        s = Sum.apply(grad, axes=self.axes, keepdim=self.keepdim, dtype=None)
        return s if self.scale == 1 else _ew.mul(s, self.scale)

    def name(self):
        return "ExpandBackward0"


def _unsqueeze_to(t, in_shape, axes, keepdim):
    """Reinsert the reduced dims of ``t`` (size 1) without broadcasting."""
    if keepdim or axes == ():
        return t
    return _reshape(t, _keep_shape(in_shape, axes))


def _const(arr):
    """A constant (no-grad) tensor around a NumPy array."""
    return _wrap(np.asarray(arr))


# What ember.onnx's tracer is told when a traced tensor reaches a function whose output shape
# depends on the values (see ember._tensor._trace_check).
_DATA_SHAPE = "ember.{}(), whose output shape depends on the values"


def _check_tensor(x, fn):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")


# =======================================================================================
# Small private ops the backward passes are built from

class _MaskedWhere(Op):
    """``where(mask, a, b)`` with a constant NumPy ``mask``: the gradient is routed to the
    side each element came from. Used where a backward formula has branches (zeros in
    prod/cumprod, ties, zero norms)."""

    def forward(self, a, b, mask):
        self.mask = mask
        return np.where(mask, a, b)

    def backward(self, grad):
        m = self.mask
        ga = _MaskedWhere.apply(grad, 0, mask=m) if self.needs_input_grad[0] else None
        gb = _MaskedWhere.apply(0, grad, mask=m) if self.needs_input_grad[1] else None
        return ga, gb

    def name(self):
        return "WhereBackward0"


def _where(mask, a, b):
    return _MaskedWhere.apply(a, b, mask=mask)


class _TakeAlong(Op):
    """Values picked from ``x`` by ``idx`` along ``axis`` (``np.take_along_axis``), with the
    picked axis dropped unless ``keepdim``; the gradient goes back to the picked positions.
    A 0-d ``x`` is treated as shape (1,). ``idx`` is an input (the index tensor an op
    computed, so that ``ember.onnx`` sees where the values come from: a GatherElements);
    it has either the keepdim shape or, when ``keepdim`` is False, the result's shape (the
    picked axis dropped), as the indices that ``max(dim)`` and friends return."""

    def forward(self, x, idx, axis, keepdim, name, accumulate=False):
        x1 = x.reshape(1) if x.ndim == 0 else x
        if idx.ndim < x1.ndim:                  # (a reshape: cheaper than expand_dims)
            idx = idx.reshape(idx.shape[:axis] + (1,) + idx.shape[axis:])
        self.idx, self.axis, self.keepdim, self.in_shape = idx, axis, keepdim, x.shape
        self._name, self.accumulate = name, accumulate
        r = np.take_along_axis(x1, idx, axis)
        return r if keepdim else r.squeeze(axis)

    def backward(self, grad):
        return (_PutAlong.apply(grad, idx=self.idx, axis=self.axis, keepdim=self.keepdim,
                                shape=self.in_shape, accumulate=self.accumulate), None)


class _PutAlong(Op):
    """Zeros of ``shape`` with ``g`` written at ``idx`` along ``axis`` (summed where
    ``accumulate``: the indices may repeat). The backward of ``_TakeAlong``."""

    def forward(self, g, idx, axis, keepdim, shape, accumulate):
        self.idx, self.axis, self.keepdim, self.accumulate = idx, axis, keepdim, accumulate
        if not keepdim:
            g = np.expand_dims(g, axis)
        work = shape if shape else (1,)
        if accumulate:
            return _scatter_add_along(g, idx, axis, work).reshape(shape)
        out = np.zeros(work, dtype=g.dtype)
        np.put_along_axis(out, idx, g, axis)
        return out.reshape(shape)

    def backward(self, grad):
        return _TakeAlong.apply(grad, self.idx, axis=self.axis, keepdim=self.keepdim,
                                name="GatherBackward0", accumulate=self.accumulate)

    def name(self):
        return "ScatterBackward0"


def _scatter_add_along(g, idx, axis, shape):
    """Sum ``g`` into zeros of ``shape`` at ``idx`` along ``axis`` (indices may repeat).
    One ``np.bincount`` over flat positions: much faster than ``np.add.at``."""
    n = int(np.prod(shape))
    if n == 0 or g.size == 0:
        return np.zeros(shape, dtype=g.dtype)
    strides = np.cumprod((1,) + tuple(shape[::-1]))[:-1][::-1]
    lin = idx.astype(np.int64) * strides[axis]
    for d, s in enumerate(idx.shape):
        if d != axis:
            ar = np.arange(s, dtype=np.int64).reshape([-1 if i == d else 1
                                                       for i in range(idx.ndim)])
            lin = lin + ar * strides[d]
    lin = np.broadcast_to(lin, g.shape).ravel()
    if g.dtype.kind == "c":
        re = np.bincount(lin, weights=g.real.ravel(), minlength=n)
        im = np.bincount(lin, weights=g.imag.ravel(), minlength=n)
        return (re + 1j * im).astype(g.dtype).reshape(shape)
    return np.bincount(lin, weights=g.ravel(), minlength=n).astype(g.dtype).reshape(shape)


def _take_along(x, idx, axis, name, keepdim=True, accumulate=False):
    return _TakeAlong.apply(x, idx, axis=axis, keepdim=keepdim, name=name,
                            accumulate=accumulate)


class Discrete(Op):
    """A reduction or scan whose result carries no gradient: the index outputs of
    argmax/argmin, max/min/median/mode/kthvalue(dim), sort/argsort/topk and cummax/cummin,
    and all/any/count_nonzero/histc.

    ``Discrete.apply(x, fn=kernel, name="argmax", axis=1, keepdim=False)`` computes
    ``kernel(x, **kw)`` in NumPy; ``name`` (kept as ``self.fn_name``) says which function it
    is, and the keyword parameters are its arguments, for the ONNX exporter. Computing these
    results inside an op (rather than wrapping a NumPy result) is what lets ``ember.onnx``
    trace them; an op that picks values by these indices takes them as an input
    (``_TakeAlong``)."""
    differentiable = False

    def forward(self, x, fn, name, **kw):
        self.fn_name = name
        return fn(x, **kw)


# =======================================================================================
# Named tuples (torch.return_types.*)

def _return_type(name, fields=("values", "indices")):
    cls = collections.namedtuple(name, fields)
    cls.__module__ = "ember.return_types"
    cls.__qualname__ = name

    def __repr__(self):
        body = ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields)
        return f"ember.return_types.{name}(\n{body})"
    cls.__repr__ = __repr__
    return cls


_RT = {n: _return_type(n) for n in (
    "max", "min", "cummax", "cummin", "median", "nanmedian", "mode", "kthvalue", "topk",
    "sort")}
_RT["aminmax"] = _return_type("aminmax", ("min", "max"))


# =======================================================================================
# sum / mean / nansum / nanmean

class Sum(Op):
    """Sum over ``axes`` (None: all). Backward broadcasts the gradient back."""

    def forward(self, x, axes, keepdim, dtype):
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        if dtype is None and x.dtype == _F16:
            return _add_reduce(x, axes, np.float32, None, keepdim).astype(_F16)
        return _add_reduce(x, axes, dtype, None, keepdim)

    def backward(self, grad):
        return _Unreduce.apply(grad, shape=self.in_shape, axes=self.axes, keepdim=self.keepdim,
                               scale=1)


def _sum_dtype(x, dtype):
    """The NumPy accumulation dtype: ``dtype`` if given, int64 for bool/int inputs."""
    if dtype is not None:
        return _np_dtype(dtype)
    if x._data.dtype.kind in _INT_KINDS:
        return np.dtype(np.int64)
    return None


@tensor_method
def sum(input, dim=None, keepdim=False, *, dtype=None, out=None) -> Tensor:
    """Sum of elements over ``dim`` (an int, a tuple of ints, or None for all).

    bool/integer inputs sum to int64; ``dtype`` casts the input before summing.
    """
    _check_tensor(input, "sum")
    r = Sum.apply(input, axes=_axes(dim, input._data.ndim, "sum"), keepdim=bool(keepdim),
                  dtype=_sum_dtype(input, dtype))
    return r if out is None else _out(r, out)


class Mean(Op):
    """Mean over ``axes``; backward spreads ``grad / n`` over the reduced elements."""

    def forward(self, x, axes, keepdim, dtype):
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        if axes is None:
            self.n = x.size
        else:
            n = 1
            for a in axes:
                n *= x.shape[a]
            self.n = n
        if self.n == 0:                          # mean of nothing is nan, without a warning
            shape = _keep_shape(x.shape, axes) if keepdim else tuple(
                s for i, s in enumerate(x.shape) if axes is not None and i not in axes)
            return np.full(shape, np.nan, dtype=dtype or x.dtype)
        if dtype is None and x.dtype == _F16:
            return (_add_reduce(x, axes, np.float32, None, keepdim) / self.n).astype(_F16)
        s = _add_reduce(x, axes, dtype, None, keepdim)
        return np.true_divide(s, self.n, out=s) if type(s) is np.ndarray else s / self.n

    def backward(self, grad):
        return _Unreduce.apply(grad, shape=self.in_shape, axes=self.axes, keepdim=self.keepdim,
                               scale=1.0 / self.n if self.n else 1)


def _float_only(input, dtype, fn):
    """mean-style ops need a floating (or complex) result dtype."""
    dt = as_dtype(dtype) if dtype is not None else input.dtype
    if not (dt.is_floating_point or dt.is_complex):
        what = "Input dtype" if dtype is None else "Optional dtype"
        raise RuntimeError(f"{fn}(): could not infer output dtype. {what} must be either a "
                           f"floating point or complex dtype. Got: {_legacy_name(dt)}")
    return dt


def _legacy_name(dt):
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool", "float32": "Float", "float64": "Double", "float16": "Half",
            "bfloat16": "BFloat16"}.get(dt.name, dt.name)


@tensor_method
def mean(input, dim=None, keepdim=False, *, dtype=None, out=None) -> Tensor:
    """Mean of elements over ``dim`` (an int, a tuple of ints, or None for all).

    The input (or ``dtype``) must be floating point or complex.
    """
    _check_tensor(input, "mean")
    if dtype is not None or input._data.dtype.kind not in "fc":
        _float_only(input, dtype, "mean")
    r = Mean.apply(input, axes=_axes(dim, input._data.ndim, "mean"), keepdim=bool(keepdim),
                   dtype=_np_dtype(dtype))
    return r if out is None else _out(r, out)


# =======================================================================================
# Constants for backward formulas

def _sgn(a):
    """sign(a) for real arrays, a/|a| (0 at 0) for complex ones: a constant in backward."""
    if a.dtype.kind == "c":
        m = np.abs(a)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(m == 0, 0, a / np.where(m == 0, 1, m))
    return np.sign(a)


# =======================================================================================
# nansum / nanmean

class NanSum(Op):
    """Sum treating NaN as zero; NaN positions get no gradient."""
    save_inputs = (0,)

    def forward(self, x, axes, keepdim, dtype):
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        if dtype is None and x.dtype == _F16:
            return np.nansum(x, axis=axes, keepdims=keepdim, dtype=np.float32).astype(_F16)
        return np.nansum(x, axis=axes, keepdims=keepdim, dtype=dtype)

    def backward(self, grad):
        (x,) = self.saved_tensors
        g = _unsqueeze_to(grad, self.in_shape, self.axes, self.keepdim)
        return _where(np.isnan(x._data), 0, g)


@tensor_method
def nansum(input, dim=None, keepdim=False, *, dtype=None, out=None) -> Tensor:
    """Sum over ``dim`` treating NaN as zero (integer inputs: same as ``sum``)."""
    _check_tensor(input, "nansum")
    if input._data.dtype.kind in _INT_KINDS:
        return sum(input, dim, keepdim, dtype=dtype, out=out)
    r = NanSum.apply(input, axes=_axes(dim, input._data.ndim, "nansum"), keepdim=bool(keepdim),
                     dtype=_np_dtype(dtype))
    return _out(r, out)


class NanMean(Op):
    """Mean of the non-NaN elements (NaN where there are none)."""
    save_inputs = (0,)

    def forward(self, x, axes, keepdim, dtype):
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        acc = np.float32 if dtype is None and x.dtype == _F16 else dtype
        ok = ~np.isnan(x)
        self.count = np.sum(ok, axis=axes, keepdims=True)
        s = np.nansum(x, axis=axes, keepdims=True, dtype=acc)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (s / self.count).astype(dtype or x.dtype, copy=False)
        return r if keepdim else _squeeze_axes(r, axes)

    def backward(self, grad):
        (x,) = self.saved_tensors
        g = _unsqueeze_to(grad, self.in_shape, self.axes, self.keepdim)
        # (grad / count) * not-nan, as PyTorch: a slice with no valid element gets NaN
        keep = _const((~np.isnan(x._data)).astype(x._data.dtype))
        with np.errstate(invalid="ignore", divide="ignore"):
            return _ew.mul(_ew.div(g, _const(self.count)), keep)


def _squeeze_axes(r, axes):
    return r.reshape(()) if axes is None else np.squeeze(r, axis=axes)


@tensor_method
def nanmean(input, dim=None, keepdim=False, *, dtype=None, out=None) -> Tensor:
    """Mean over ``dim`` of the elements that are not NaN."""
    _check_tensor(input, "nanmean")
    dt = as_dtype(dtype) if dtype is not None else input.dtype
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype "
                           f"but got {_legacy_name(dt)}")
    r = NanMean.apply(input, axes=_axes(dim, input._data.ndim, "nanmean"),
                      keepdim=bool(keepdim), dtype=_np_dtype(dtype))
    return _out(r, out)


# =======================================================================================
# var / std

def _numel(shape, axes):
    n = 1
    for i, s in enumerate(shape):
        if axes is None or i in axes:
            n *= s
    return n


class Var(Op):
    """Variance over ``axes`` with ``correction`` (Bessel's correction is 1); ``std=True``
    gives its square root."""
    save_inputs = (0,)

    def forward(self, x, axes, correction, keepdim, std):
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        n = _numel(x.shape, axes)
        self.denom = _b.max(0, n - correction)
        xx = x.astype(np.float32) if x.dtype == _F16 else x
        with np.errstate(invalid="ignore", divide="ignore"):   # n or denom 0: NaN/inf
            d = xx - _add_reduce(xx, axes, None, None, True) / n
            sq = (d.real * d.real + d.imag * d.imag) if d.dtype.kind == "c" else d * d
            v = np.sum(sq, axis=axes, keepdims=keepdim) / sq.dtype.type(self.denom)
            if std:
                v = np.sqrt(v)
        return v.astype(_F16) if x.dtype == _F16 else v

    def backward(self, grad):
        # d var / dx = 2 (x - mean) / (n - correction)
        (x,) = self.saved_tensors
        g = _unsqueeze_to(grad, self.in_shape, self.axes, self.keepdim)
        d = _ew.sub(x, Mean.apply(x, axes=self.axes, keepdim=True, dtype=None))
        scale = 2.0 / self.denom if self.denom else math.inf
        return _ew.mul(_ew.mul(g, scale), d)


class Std(Var):
    """Standard deviation: the square root of :class:`Var`."""
    save_inputs = (0,)
    save_outputs = (0,)

    def forward(self, x, axes, correction, keepdim):
        return Var.forward(self, x, axes, correction, keepdim, True)

    def backward(self, grad):
        # d std = d var / (2 std); where std == 0 the gradient is 0, as in PyTorch
        (x, s) = self.saved_tensors
        g = _unsqueeze_to(grad, self.in_shape, self.axes, self.keepdim)
        sk = _unsqueeze_to(s, self.in_shape, self.axes, self.keepdim)
        zero = sk._data == 0
        gs = _where(zero, 0, _ew.div(g, _where(zero, 1, sk)))
        d = _ew.sub(x, Mean.apply(x, axes=self.axes, keepdim=True, dtype=None))
        scale = 1.0 / self.denom if self.denom else math.inf
        return _ew.mul(_ew.mul(gs, scale), d)


def _var_args(fn, input, dim, unbiased, correction):
    """Resolve the legacy ``unbiased`` and the newer ``correction`` arguments."""
    _check_tensor(input, fn)
    if isinstance(dim, bool):                       # var(input, unbiased) overload
        if unbiased is not None:
            raise TypeError(f"{fn}() received an invalid combination of arguments")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{fn}() received an invalid combination of arguments - got both "
                        "'unbiased' and 'correction'; pass only one of them")
    if correction is None:
        correction = 0 if unbiased is False else 1
    if input._data.dtype.kind not in "fc":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    axes = _axes(dim, input._data.ndim, fn)
    if _numel(input._data.shape, axes) - correction <= 0:
        import warnings
        warnings.warn(f"{fn}(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=3)
    return axes, correction


@tensor_method
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None) -> Tensor:
    """Variance over ``dim``. ``correction`` (default 1, Bessel's correction) is subtracted
    from the number of elements in the divisor; the legacy ``unbiased=False`` means 0."""
    axes, c = _var_args("var", input, dim, unbiased, correction)
    return _out(Var.apply(input, axes=axes, correction=c, keepdim=bool(keepdim), std=False), out)


@tensor_method
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None) -> Tensor:
    """Standard deviation over ``dim`` (see :func:`var` for ``correction``/``unbiased``)."""
    axes, c = _var_args("std", input, dim, unbiased, correction)
    return _out(Std.apply(input, axes=axes, correction=c, keepdim=bool(keepdim)), out)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var(input, dim), mean(input, dim))`` as a tuple."""
    axes, c = _var_args("var_mean", input, dim, unbiased, correction)
    return (Var.apply(input, axes=axes, correction=c, keepdim=bool(keepdim), std=False),
            Mean.apply(input, axes=axes, keepdim=bool(keepdim), dtype=None))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std(input, dim), mean(input, dim))`` as a tuple."""
    axes, c = _var_args("std_mean", input, dim, unbiased, correction)
    return (Std.apply(input, axes=axes, correction=c, keepdim=bool(keepdim)),
            Mean.apply(input, axes=axes, keepdim=bool(keepdim), dtype=None))


# =======================================================================================
# prod

class Prod(Op):
    """Product over ``axes`` (one axis or all). The gradient is ``grad * prod / x`` when no
    factor is zero; otherwise, for each element, (product of the elements before it) *
    (product of the elements after it), which needs no division."""
    save_inputs = (0,)
    save_outputs = (0,)

    def forward(self, x, axes, keepdim, dtype):
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        if dtype is None and x.dtype == _F16:
            return np.prod(x, axis=axes, keepdims=keepdim, dtype=np.float32).astype(_F16)
        return np.prod(x, axis=axes, keepdims=keepdim, dtype=dtype)

    def backward(self, grad):
        x, out = self.saved_tensors
        if self.axes == ():                       # a 0-d input: prod(x) = x
            return grad
        g = _unsqueeze_to(grad, self.in_shape, self.axes, self.keepdim)
        o = _unsqueeze_to(out, self.in_shape, self.axes, self.keepdim)
        if not (x._data == 0).any():
            return _ew.div(_ew.mul(g, o), x)
        # With zeros: d prod / d x_i = (product of the elements before i) * (product of the
        # elements after i), both exclusive cumulative products: no division, and
        # differentiable again.
        flat = self.axes is None
        xs = _reshape(x, (-1,)) if flat else x
        ax = 0 if flat else self.axes[0]
        before = CumProd.apply(_Shift.apply(xs, axis=ax, right=True, fill=1), axis=ax,
                               dtype=None, reverse=False)
        after = CumProd.apply(_Shift.apply(xs, axis=ax, right=False, fill=1), axis=ax,
                              dtype=None, reverse=True)
        r = _ew.mul(before, after)
        return _ew.mul(g, _reshape(r, self.in_shape) if flat else r)


class _Shift(Op):
    """Shift by one along ``axis`` (towards higher indices when ``right``), filling the
    vacated slot with ``fill``. Linear; its adjoint is the opposite shift filling 0."""

    def forward(self, x, axis, right, fill):
        self.axis, self.right = axis, right
        out = np.empty_like(x)
        n = x.shape[axis]
        lo = (slice(None),) * axis
        if right:
            out[lo + (slice(1, None),)] = x[lo + (slice(0, n - 1),)]
            out[lo + (slice(0, 1),)] = fill
        else:
            out[lo + (slice(0, n - 1),)] = x[lo + (slice(1, None),)]
            out[lo + (slice(n - 1, n),)] = fill
        return out

    def backward(self, grad):
        return _Shift.apply(grad, axis=self.axis, right=not self.right, fill=0)


@tensor_method
def prod(input, dim=None, keepdim=False, *, dtype=None, out=None) -> Tensor:
    """Product of elements over ``dim`` (one int) or of all elements.

    bool/integer inputs give int64; ``dtype`` casts the input first.
    """
    _check_tensor(input, "prod")
    if dim is not None and (not isinstance(dim, (int, np.integer)) or isinstance(dim, bool)):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    axes = None if dim is None else _axes(dim, input._data.ndim, "prod")
    r = Prod.apply(input, axes=axes, keepdim=bool(keepdim) and dim is not None,
                   dtype=_sum_dtype(input, dtype))
    return _out(r, out)


# =======================================================================================
# max / min / amax / amin / aminmax / argmax / argmin

def _full_median(x, ignore_nan):
    """The lower median of all of ``x`` (0-d); NaN for an empty ``x``."""
    if x.size == 0:
        return np.full((), np.nan, dtype=x.dtype)
    flat = x.reshape(-1)
    return flat[_median_index(flat, 0, ignore_nan)].reshape(())


class _Select(Op):
    """A reduction whose result is one of the input's elements: ``kind`` is "max" or "min"
    (amax, amin, max(), min(), aminmax, over ``axes``) or "median"/"nanmedian" (median()
    and nanmedian() of all elements). The gradient is split evenly among the elements equal
    to the result along the reduced dims (ties), as PyTorch does; NaN results count the NaN
    elements. ``name`` is PyTorch's name of the backward node."""
    save_inputs = (0,)
    save_outputs = (0,)

    def forward(self, x, kind, axes, keepdim, name):
        self.in_shape, self.axes, self.keepdim, self._name = x.shape, axes, keepdim, name
        self.kind = kind
        if kind == "max":
            return np.asarray(np.max(x, axis=axes, keepdims=keepdim))
        if kind == "min":
            return np.asarray(np.min(x, axis=axes, keepdims=keepdim))
        return _full_median(x, kind == "nanmedian")

    def backward(self, grad):
        x, v = self.saved_tensors
        xa = x._data
        vk = v._data if self.keepdim else v._data.reshape(_keep_shape(xa.shape, self.axes))
        mask = xa == vk
        if xa.dtype.kind in "fc":
            mask |= np.isnan(xa) & np.isnan(vk)
        count = np.sum(mask, axis=self.axes, keepdims=True)
        g = _unsqueeze_to(grad, self.in_shape, self.axes, self.keepdim)
        return _where(mask, _ew.div(g, _const(np.maximum(count, 1))), 0)


def _nonempty(input, axes, fn):
    """PyTorch's errors for reducing an empty tensor with no identity (max, amin, ...)."""
    shape = input._data.shape
    if axes is None:
        if input._data.size == 0:
            raise RuntimeError(
                f"{fn}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument.")
        return
    for a in axes:
        if shape[a] == 0:
            raise IndexError(f"{fn}(): Expected reduction dim {a} to have non-zero size.")


def _extreme(input, dim, keepdim, fn, np_fn):
    """amax/amin: the value via NumPy, the gradient split among ties."""
    axes = _axes(dim, input._data.ndim, fn)
    _nonempty(input, axes, fn)
    return _Select.apply(input, kind=np_fn, axes=axes, keepdim=keepdim,
                         name=fn.capitalize() + "Backward0")


@tensor_method
def amax(input, dim=(), keepdim=False, *, out=None) -> Tensor:
    """Maximum over ``dim`` (default: all dims); the gradient is split evenly among ties."""
    _check_tensor(input, "amax")
    return _out(_extreme(input, dim, bool(keepdim), "amax", "max"), out)


@tensor_method
def amin(input, dim=(), keepdim=False, *, out=None) -> Tensor:
    """Minimum over ``dim`` (default: all dims); the gradient is split evenly among ties."""
    _check_tensor(input, "amin")
    return _out(_extreme(input, dim, bool(keepdim), "amin", "min"), out)


@tensor_method
def aminmax(input, *, dim=None, keepdim=False, out=None):
    """``(min, max)`` over ``dim`` (or all elements), a named tuple with ``.min``/``.max``."""
    _check_tensor(input, "aminmax")
    axes = _axes(dim, input._data.ndim, "aminmax")
    if axes is None and input._data.size == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                           "operation has no identity.")
    if axes is not None:
        for a in axes:
            if input._data.shape[a] == 0:
                raise IndexError(f"aminmax: Expected reduction dim {a} to have non-zero size.")
    keepdim = bool(keepdim)
    lo = _Select.apply(input, kind="min", axes=axes, keepdim=keepdim, name="AminmaxBackward0")
    hi = _Select.apply(input, kind="max", axes=axes, keepdim=keepdim, name="AminmaxBackward0")
    return _tuple_out(_RT["aminmax"](lo, hi), out)


def _tuple_out(result, out):
    if out is None:
        return result
    for r, o in zip(result, out):
        _out(r, o)
    return type(result)(*out)


def _argext_kernel(np_arg):
    """The kernel of argmax/argmin (``np_arg``) as int64: along ``axis``, or of the
    flattened ``x`` when ``axis`` is None (then ``keepdim`` keeps every dim as size 1)."""
    def kernel(x, axis, keepdim):
        if axis is None:
            i = np_arg(x.reshape(-1))
            return np.full((1,) * x.ndim if keepdim else (), i, dtype=np.int64)
        if x.ndim == 0:
            return np.zeros((), dtype=np.int64)
        return np_arg(x, axis=axis, keepdims=keepdim).astype(np.int64, copy=False)
    return kernel


_ARG_KERNELS = {"argmax": _argext_kernel(np.argmax), "argmin": _argext_kernel(np.argmin)}


def _arg_extreme(input, dim, keepdim, fn):
    """argmax/argmin indices (first occurrence; NaN counts as the extreme), as a Discrete op
    named ``fn`` with parameters ``axis`` (None: of the flattened input) and ``keepdim``."""
    xa = input._data
    if dim is None:
        if xa.size == 0:
            raise IndexError(f"{fn}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        axis = None
    else:
        axis = _one_axis(dim, xa.ndim)
        if xa.ndim and xa.shape[axis] == 0:
            raise IndexError(f"{fn}(): Expected reduction dim {axis} to have non-zero size.")
    return Discrete.apply(input, fn=_ARG_KERNELS[fn], name=fn, axis=axis,
                          keepdim=bool(keepdim))


@tensor_method
def argmax(input, dim=None, keepdim=False, *, out=None) -> Tensor:
    """Index of the maximum (of the flattened tensor when ``dim`` is None), as int64."""
    _check_tensor(input, "argmax")
    return _out(_arg_extreme(input, dim, keepdim, "argmax"), out)


@tensor_method
def argmin(input, dim=None, keepdim=False, *, out=None) -> Tensor:
    """Index of the minimum (of the flattened tensor when ``dim`` is None), as int64."""
    _check_tensor(input, "argmin")
    return _out(_arg_extreme(input, dim, keepdim, "argmin"), out)


def _max_min(input, dim, keepdim, other, out, fn):
    _check_tensor(input, fn)
    if isinstance(dim, Tensor) or other is not None:       # max(a, b): elementwise
        b = dim if isinstance(dim, Tensor) else other
        return _binary_extreme(input, b, "maximum" if fn == "max" else "minimum", out)
    if dim is None:                                          # full reduction: one value
        _nonempty(input, None, fn)
        return _out(_Select.apply(input, kind=fn, axes=None, keepdim=False,
                                  name=fn.capitalize() + "Backward1"), out)
    xa = input._data
    axis = _one_axis(dim, xa.ndim)
    keepdim = bool(keepdim)
    if xa.ndim and xa.shape[axis] == 0:
        raise IndexError(f"{fn}(): Expected reduction dim {axis} to have non-zero size.")
    # the indices (an op: argmax/argmin along the axis), then the values picked by them
    indices = Discrete.apply(input, fn=_ARG_KERNELS["arg" + fn], name="arg" + fn, axis=axis,
                        keepdim=keepdim and xa.ndim > 0)
    vals = _take_along(input, indices, axis, fn.capitalize() + "Backward0",
                       keepdim=keepdim and xa.ndim > 0)
    return _tuple_out(_RT[fn](vals, indices), out)


def _binary_extreme(a, b, name, out):
    f = getattr(_ew, name)                   # ember.maximum / ember.minimum
    return f(a, b) if out is None else f(a, b, out=out)


@tensor_method
def max(input, dim=None, keepdim=False, *, other=None, out=None):
    """``max(input)``: the largest element (a 0-d tensor; the gradient is split among ties).
    ``max(input, dim, keepdim=False)``: a named tuple ``(values, indices)`` along ``dim``.
    ``max(input, other)``: the elementwise maximum (``ember.maximum``)."""
    return _max_min(input, dim, keepdim, other, out, "max")


@tensor_method
def min(input, dim=None, keepdim=False, *, other=None, out=None):
    """``min(input)``, ``min(input, dim, keepdim=False)`` -> ``(values, indices)``, or
    ``min(input, other)``: see :func:`max`."""
    return _max_min(input, dim, keepdim, other, out, "min")


# =======================================================================================
# logsumexp

class LogSumExp(Op):
    """``log(sum(exp(x)))`` over ``axes``, shifted by the maximum for stability."""
    save_inputs = (0,)
    save_outputs = (0,)

    def forward(self, x, axes, keepdim):
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        kshape = _keep_shape(x.shape, axes)
        if x.size:
            m = np.max(x, axis=axes, keepdims=True)
            m = np.where(np.isfinite(m), m, 0)     # all -inf (or an inf): shift by 0 instead
        else:
            m = np.zeros(kshape, dtype=x.dtype)
        with np.errstate(divide="ignore"):
            r = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        return r if keepdim else _squeeze_axes(r, axes)

    def backward(self, grad):
        x, out = self.saved_tensors
        g = _unsqueeze_to(grad, self.in_shape, self.axes, self.keepdim)
        o = _unsqueeze_to(out, self.in_shape, self.axes, self.keepdim)
        return _ew.mul(g, _ew.exp(_ew.sub(x, o)))


@tensor_method
def logsumexp(input, dim, keepdim=False, *, out=None) -> Tensor:
    """``log(sum(exp(input), dim))``, computed stably. Integer inputs give the default float
    dtype."""
    _check_tensor(input, "logsumexp")
    if input._data.dtype.kind in _INT_KINDS:
        input = _cast(input, _dtype.get_default_dtype())
    axes = _axes(dim, input._data.ndim, "logsumexp")
    return _out(LogSumExp.apply(input, axes=axes, keepdim=bool(keepdim)), out)


# =======================================================================================
# cumsum / cumprod / cummax / cummin

class CumSum(Op):
    """Cumulative sum along ``axis`` (from the end when ``reverse``); the gradient of one
    direction is the cumulative sum in the other."""

    def forward(self, x, axis, reverse, dtype):
        self.axis, self.reverse = axis, reverse
        f16 = dtype is None and x.dtype == _F16
        acc = np.float32 if f16 else dtype
        if x.ndim == 0:
            r = x.astype(acc or x.dtype)
        elif reverse:
            r = np.flip(np.cumsum(np.flip(x, axis), axis=axis, dtype=acc), axis).copy()
        else:
            r = np.cumsum(x, axis=axis, dtype=acc)
        return r.astype(_F16) if f16 else r

    def backward(self, grad):
        return CumSum.apply(grad, axis=self.axis, reverse=not self.reverse, dtype=None)


@tensor_method
def cumsum(input, dim, *, dtype=None, out=None) -> Tensor:
    """Cumulative sum along ``dim``; bool/integer inputs give int64."""
    _check_tensor(input, "cumsum")
    axis = _one_axis(dim, input._data.ndim)
    return _out(CumSum.apply(input, axis=axis, reverse=False, dtype=_sum_dtype(input, dtype)),
                out)


class CumProd(Op):
    """Cumulative product along ``axis``.

    Gradient, with z the first zero along the axis (or the end): before z it is
    ``reverse_cumsum(grad * out) / x``; at z it is ``reverse_cumsum(grad * cumprod(x'))``
    where x' is x with the zero replaced by 1; after z it is 0. No division by zero, and
    every step is an ember op, so double backward works.
    """
    save_inputs = (0,)
    save_outputs = (0,)

    def forward(self, x, axis, dtype, reverse=False):
        self.axis, self.reverse = axis, reverse
        f16 = dtype is None and x.dtype == _F16
        acc = np.float32 if f16 else dtype
        if x.ndim == 0:
            r = x.astype(acc or x.dtype)
        elif reverse:
            r = np.flip(np.cumprod(np.flip(x, axis), axis=axis, dtype=acc), axis).copy()
        else:
            r = np.cumprod(x, axis=axis, dtype=acc)
        return r.astype(_F16) if f16 else r

    def backward(self, grad):
        x, y = self.saved_tensors
        if x._data.ndim == 0:
            return grad
        ax = self.axis
        if self.reverse:        # (only inside prod's backward) the forward formula, flipped
            return _flip(_cumprod_backward(_flip(x, ax), _flip(y, ax), _flip(grad, ax), ax), ax)
        return _cumprod_backward(x, y, grad, ax)


def _cumprod_backward(x, y, grad, ax):
    """Gradient of ``y = cumprod(x)`` along ``ax`` (see CumProd)."""
    zero = x._data == 0

    def rcumsum(t):
        return CumSum.apply(t, axis=ax, reverse=True, dtype=None)
    if not zero.any():
        return _ew.div(rcumsum(_ew.mul(grad, y)), x)
    if STATE.enabled:                     # create_graph: a formula differentiable again
        return _cumprod_grad_quadratic(x, grad, ax)
    seen = np.cumsum(zero, axis=ax)
    before = seen == 0
    first = zero & (seen == 1)
    a = _ew.div(rcumsum(_ew.mul(grad, y)), _where(before, x, 1))
    b = rcumsum(_ew.mul(grad, CumProd.apply(_where(first, 1, x), axis=ax, dtype=None)))
    return _where(before, a, _where(first, b, 0))


def _cumprod_grad_quadratic(x, grad, ax):
    """``grad_i = P_i * sum_{j>=i} grad_j * prod_{i<k<=j} x_k`` (P_i: product of the
    elements before i), built from an (n, n) table per slice; O(n^2) but free of divisions,
    so it stays correct under double backward when x has zeros. PyTorch does the same."""
    shape = x._data.shape
    n = shape[ax]
    tail = (1,) * (len(shape) - ax - 1)
    table_shape = shape[:ax] + (n, n) + shape[ax + 1:]
    upper = np.triu(np.ones((n, n), dtype=bool), 1).reshape((n, n) + tail)     # k > i
    upper_eq = np.triu(np.ones((n, n), dtype=bool), 0).reshape((n, n) + tail)  # j >= i
    xb = _expand(_reshape(x, shape[:ax] + (1, n) + shape[ax + 1:]), table_shape)
    runs = CumProd.apply(_where(upper, xb, 1), axis=ax + 1, dtype=None)
    gb = _reshape(grad, shape[:ax] + (1, n) + shape[ax + 1:])
    s = Sum.apply(_where(upper_eq, _ew.mul(gb, runs), 0), axes=(ax + 1,), keepdim=False,
                  dtype=None)
    before = CumProd.apply(_Shift.apply(x, axis=ax, right=True, fill=1), axis=ax, dtype=None)
    return _ew.mul(before, s)


@tensor_method
def cumprod(input, dim, *, dtype=None, out=None) -> Tensor:
    """Cumulative product along ``dim``; bool/integer inputs give int64."""
    _check_tensor(input, "cumprod")
    axis = _one_axis(dim, input._data.ndim)
    return _out(CumProd.apply(input, axis=axis, dtype=_sum_dtype(input, dtype)), out)


def _cum_inplace(fn):
    def method(self, dim, *, dtype=None):
        return inplace_update(self, fn(self, dim, dtype=dtype))
    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place version of :func:`{fn.__name__}`."
    setattr(Tensor, method.__name__, method)


_cum_inplace(cumsum)
_cum_inplace(cumprod)


def _cum_index_np(x, axis, which):
    """Kernel of cummax/cummin's indices (``which``): the index where each running extreme was
    last attained (ties move the index forward; NaN propagates, as PyTorch), int64 of
    ``x``'s shape."""
    x1 = x.reshape(1) if x.ndim == 0 else x
    if x1.size == 0:
        return np.zeros(x.shape, dtype=np.int64)
    acc = (np.maximum if which == "cummax" else np.minimum).accumulate
    run = acc(x1, axis=axis)
    hit = x1 == run
    if x1.dtype.kind in "fc":
        hit |= np.isnan(x1)
    pos = np.arange(x1.shape[axis], dtype=np.int64).reshape(
        [-1 if i == axis else 1 for i in range(x1.ndim)])
    return np.maximum.accumulate(np.where(hit, pos, 0), axis=axis).reshape(x.shape)


def _cum_extreme(input, dim, fn):
    """cummax/cummin: the indices (a Discrete op), then the values picked by them."""
    _check_tensor(input, fn)
    xa = input._data
    axis = _one_axis(dim, xa.ndim)
    idx = Discrete.apply(input, fn=_KERNELS[fn], name=fn, axis=axis)
    vals = _take_along(input, idx, axis, fn.capitalize() + "Backward0",
                       keepdim=xa.ndim > 0, accumulate=True)
    return _RT[fn](vals, idx)


@tensor_method
def cummax(input, dim):
    """Running maximum along ``dim``: a named tuple ``(values, indices)``."""
    return _cum_extreme(input, dim, "cummax")


@tensor_method
def cummin(input, dim):
    """Running minimum along ``dim``: a named tuple ``(values, indices)``."""
    return _cum_extreme(input, dim, "cummin")


# =======================================================================================
# norm

class VectorNorm(Op):
    """``sum(|x|^p)^(1/p)`` over ``axes`` (p may be inf, -inf or 0). The result is real."""
    save_inputs = (0,)
    save_outputs = (0,)

    def forward(self, x, p, axes, keepdim):
        self.in_shape, self.axes, self.keepdim, self.p = x.shape, axes, keepdim, p
        a = np.abs(x)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            if p == 2:
                r = np.sqrt(np.sum(a * a, axis=axes, keepdims=keepdim))
            elif p == 1:
                r = np.sum(a, axis=axes, keepdims=keepdim)
            elif p == math.inf:
                r = np.max(a, axis=axes, keepdims=keepdim)
            elif p == -math.inf:
                r = np.min(a, axis=axes, keepdims=keepdim)
            elif p == 0:
                r = np.sum(a != 0, axis=axes, keepdims=keepdim).astype(a.dtype)
            else:
                r = np.power(np.sum(np.power(a, p), axis=axes, keepdims=keepdim), 1.0 / p)
        return np.asarray(r, dtype=a.dtype)

    def backward(self, grad):
        x, n = self.saved_tensors
        p, xa = self.p, x._data
        g = _unsqueeze_to(grad, self.in_shape, self.axes, self.keepdim)
        nk = _unsqueeze_to(n, self.in_shape, self.axes, self.keepdim)
        sgn = _sgn(xa)
        if p == 0:
            return _ew.mul(_restore(grad, self.in_shape, self.axes, self.keepdim), 0)
        if p == 1:
            return _ew.mul(g, _const(sgn))
        if p in (math.inf, -math.inf):
            mask = np.abs(xa) == nk._data
            count = np.maximum(np.sum(mask, axis=self.axes, keepdims=True), 1)
            return _where(mask, _ew.mul(g, _const(sgn / count)), 0)
        nzero = nk._data == 0                     # the gradient of a zero norm is 0
        n_safe = _where(nzero, 1, nk)
        if p == 2:
            return _where(nzero, 0, _ew.div(_ew.mul(g, x), n_safe))
        # g * sgn(x) * |x|^(p-1) / norm^(p-1), 0 where x == 0 (|x|^(p-1) may be inf there)
        xzero = xa == 0
        t = _where(xzero, 0, _ew.pow(_where(xzero, 1, _ew.abs(x)), p - 1))
        r = _ew.div(_ew.mul(_ew.mul(g, _const(sgn)), t), _ew.pow(n_safe, p - 1))
        return _where(nzero, 0, r)


@tensor_method
def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None) -> Tensor:
    """The legacy ``torch.norm``: the vector p-norm over ``dim`` (all elements when None)
    for a number ``p`` (inf, -inf and 0 included) or ``'fro'``; the nuclear norm of
    matrices for ``p='nuc'`` (``dim`` a 2-tuple, or a 2-D input)."""
    _check_tensor(input, "norm")
    if dtype is not None:
        input = _cast(input, as_dtype(dtype))
    if input._data.dtype.kind not in "fc":
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor "
                           f"as input. Got {_legacy_name(input.dtype)}")
    nd = input._data.ndim
    dims = [dim] if isinstance(dim, (int, np.integer)) else dim
    if isinstance(p, str):
        if p == "nuc":
            if dims is None:
                if nd != 2:
                    raise RuntimeError("linalg.matrix_norm: The input tensor A must have at "
                                       "least 2 dimensions.")
                dims = (0, 1)
            if len(dims) != 2:
                raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                                   f"{' '.join(map(str, dims))}")
            from ..linalg import matrix_norm  # sum of singular values, via SVD
            return matrix_norm(input, "nuc", dim=tuple(dims), keepdim=bool(keepdim), out=out)
        if p != "fro":
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
        if dims is not None and len(dims) > 2:
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                               f"{' '.join(map(str, dims))}")
        p = 2.0
    p = float(p)
    axes = _axes(dim, nd, "norm")
    if p in (math.inf, -math.inf) and input._data.size == 0 and (
            axes is None or _b.any(input._data.shape[a] == 0 for a in axes)):
        raise RuntimeError("linalg.vector_norm cannot compute the inf norm on an empty tensor "
                           "because the operation does not have an identity")
    return _out(VectorNorm.apply(input, p=p, axes=axes, keepdim=bool(keepdim)), out)


# =======================================================================================
# all / any / count_nonzero

def _logical_np(x, axes, keepdim, which):
    """Kernel of all/any (``which``): bool, or uint8 for uint8 inputs (as PyTorch)."""
    r = np.asarray((np.all if which == "all" else np.any)(x, axis=axes, keepdims=keepdim))
    return r.astype(np.uint8) if x.dtype == np.uint8 else r


def _logical_reduce(input, dim, keepdim, out, fn):
    _check_tensor(input, fn)
    xa = input._data
    r = Discrete.apply(input, fn=_KERNELS[fn], name=fn, axes=_axes(dim, xa.ndim, fn),
                       keepdim=bool(keepdim))
    return _out(r, out)


@tensor_method
def all(input, dim=None, keepdim=False, *, out=None) -> Tensor:
    """Whether every element (over ``dim``) is nonzero, as bool."""
    return _logical_reduce(input, dim, keepdim, out, "all")


@tensor_method
def any(input, dim=None, keepdim=False, *, out=None) -> Tensor:
    """Whether any element (over ``dim``) is nonzero, as bool."""
    return _logical_reduce(input, dim, keepdim, out, "any")


def _count_nonzero_np(x, axes):
    return np.asarray(np.count_nonzero(x, axis=axes), dtype=np.int64)


_KERNELS = {name: functools.partial(kernel, which=name)
            for kernel, names in ((_cum_index_np, ("cummax", "cummin")),
                                  (_logical_np, ("all", "any")))
            for name in names}


@tensor_method
def count_nonzero(input, dim=None) -> Tensor:
    """Number of nonzero elements over ``dim`` (int64)."""
    _check_tensor(input, "count_nonzero")
    return Discrete.apply(input, fn=_count_nonzero_np, name="count_nonzero",
                     axes=_axes(dim, input._data.ndim, "count_nonzero"))


# =======================================================================================
# Order statistics: sort / argsort / topk / kthvalue / median / nanmedian / mode

def _argsort(x, axis, descending):
    """Stable argsort; descending keeps equal elements in their original order too. NaN
    sorts as the largest value, as in PyTorch."""
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    n = x.shape[axis]
    r = np.argsort(np.flip(x, axis), axis=axis, kind="stable")
    return (n - 1) - np.flip(r, axis)


def _as1d(xa):
    """0-d arrays are handled as shape (1,)."""
    return xa.reshape(1) if xa.ndim == 0 else xa


def _pick(input, indices, axis, keepdim, name, rt):
    """Named tuple of the values picked at ``indices`` (the int64 tensor a Discrete op
    returned: keepdim shape when ``keepdim`` and the input is not 0-d, else the result's
    shape) and the indices."""
    vals = _take_along(input, indices, axis, name, keepdim=keepdim and input._data.ndim > 0)
    return _RT[rt](vals, indices)


def _squeeze_unless(idx, axis, keep):
    """``idx`` (keepdim shape) with ``axis`` dropped unless ``keep``."""
    return idx if keep else np.squeeze(idx, axis)


def _sort_np(x, axis, descending):
    """Kernel of sort/argsort: the stable sorting order along ``axis``, int64 of x's shape."""
    return _argsort(_as1d(x), axis, descending).reshape(x.shape).astype(np.int64, copy=False)


def _topk_np(x, k, axis, largest):
    """Kernel of topk: the first ``k`` of the stable order (descending when ``largest``);
    a 0-d ``x`` gives index 0 (0-d)."""
    if x.ndim == 0:
        return np.zeros((), dtype=np.int64)
    order = _argsort(x, axis, largest)
    return order[(slice(None),) * axis + (slice(0, k),)].astype(np.int64, copy=False)


def _kthvalue_np(x, k, axis, keepdim):
    """Kernel of kthvalue: the index of the k-th smallest (stable) along ``axis``."""
    order = np.argsort(_as1d(x), axis=axis, kind="stable")
    idx = order[(slice(None),) * axis + (slice(k - 1, k),)]
    return _squeeze_unless(idx, axis, keepdim and x.ndim > 0).astype(np.int64, copy=False)


def _median_np(x, axis, keepdim, ignore_nan):
    """Kernel of median/nanmedian(dim): the index of the lower median along ``axis``."""
    idx = _median_index(_as1d(x), axis, ignore_nan)
    return _squeeze_unless(idx, axis, keepdim and x.ndim > 0).astype(np.int64, copy=False)


@tensor_method
def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    """Sorted values along ``dim`` and their original indices, a named tuple
    ``(values, indices)``. The sort is always stable (equal elements keep their order)."""
    _check_tensor(input, "sort")
    axis = _one_axis(dim, input._data.ndim)
    idx = Discrete.apply(input, fn=_sort_np, name="sort", axis=axis,
                         descending=bool(descending))
    return _tuple_out(_pick(input, idx, axis, True, "SortBackward0", "sort"), out)


@tensor_method
def argsort(input, dim=-1, descending=False, stable=False) -> Tensor:
    """Indices that sort ``input`` along ``dim`` (int64, stable)."""
    _check_tensor(input, "argsort")
    axis = _one_axis(dim, input._data.ndim)
    return Discrete.apply(input, fn=_sort_np, name="sort", axis=axis,
                          descending=bool(descending))


@tensor_method
def msort(input, *, out=None) -> Tensor:
    """``sort(input, dim=0).values``."""
    return _out(sort(input, 0).values, out)


@tensor_method
def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices, a named
    tuple ``(values, indices)``; always returned in sorted order."""
    _check_tensor(input, "topk")
    xa = input._data
    axis = _one_axis(dim, xa.ndim)
    x1 = _as1d(xa)
    k = int(k)
    if not 0 <= k <= x1.shape[axis]:
        raise RuntimeError("selected index k out of range")
    # (a 0-d input gives the element itself, for k = 0 or 1, as PyTorch)
    idx = Discrete.apply(input, fn=_topk_np, name="topk", k=k, axis=axis,
                         largest=bool(largest))
    return _tuple_out(_pick(input, idx, axis, True, "TopkBackward0", "topk"), out)


def _nonempty_dim(xa, axis, fn):
    if xa.ndim and xa.shape[axis] == 0:
        raise IndexError(f"{fn}(): Expected reduction dim {axis} to have non-zero size.")


@tensor_method
def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    """The ``k``-th smallest element (1-based) along ``dim`` and its index, a named tuple
    ``(values, indices)``."""
    _check_tensor(input, "kthvalue")
    xa = input._data
    axis = _one_axis(dim, xa.ndim)
    _nonempty_dim(xa, axis, "kthvalue")
    x1 = _as1d(xa)
    k = int(k)
    if not 1 <= k <= x1.shape[axis]:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis}")
    idx = Discrete.apply(input, fn=_kthvalue_np, name="kthvalue", k=k, axis=axis,
                         keepdim=bool(keepdim))
    return _tuple_out(_pick(input, idx, axis, bool(keepdim), "KthvalueBackward0", "kthvalue"),
                      out)


def _median_index(x, axis, ignore_nan):
    """Index (keepdim shape) of the lower median along ``axis``. With NaN present the
    median is NaN (the first NaN's index) unless ``ignore_nan``, which takes the median of
    the other elements (index 0 when all are NaN)."""
    n = x.shape[axis]
    order = np.argsort(x, axis=axis, kind="stable")   # NaN last, in original order
    if x.dtype.kind in "fc":
        valid = np.sum(~np.isnan(x), axis=axis, keepdims=True)
        if ignore_nan:
            k = np.maximum(valid - 1, 0) // 2
        else:
            k = np.where(valid < n, valid, (n - 1) // 2)
    else:
        k = np.full(_keep_shape(x.shape, (axis,)), (n - 1) // 2, dtype=np.int64)
    return np.take_along_axis(order, k, axis)


def _median(input, dim, keepdim, fn, ignore_nan):
    _check_tensor(input, fn)
    xa = input._data
    name = "NanmedianBackward0" if ignore_nan else "MedianBackward0"
    if dim is None:
        return _Select.apply(input, kind=fn, axes=None, keepdim=False, name=name)
    axis = _one_axis(dim, xa.ndim)
    _nonempty_dim(xa, axis, "median")
    idx = Discrete.apply(input, fn=_median_np, name=fn, axis=axis, keepdim=bool(keepdim),
                    ignore_nan=ignore_nan)
    return _pick(input, idx, axis, bool(keepdim), name, fn)


@tensor_method
def median(input, dim=None, keepdim=False, *, out=None):
    """The lower median (for an even count, the smaller of the two middle values).

    Without ``dim``: a 0-d tensor (NaN if any element is NaN). With ``dim``: a named tuple
    ``(values, indices)``.
    """
    r = _median(input, dim, keepdim, "median", False)
    return _out(r, out) if dim is None else _tuple_out(r, out)


@tensor_method
def nanmedian(input, dim=None, keepdim=False, *, out=None):
    """:func:`median` ignoring NaN (NaN only where every element is NaN)."""
    r = _median(input, dim, keepdim, "nanmedian", True)
    return _out(r, out) if dim is None else _tuple_out(r, out)


def _mode_np(x, axis, keepdim):
    """Kernel of mode: the index of the last occurrence of the most frequent value (the
    smallest among equally frequent ones) along ``axis``."""
    x1 = np.moveaxis(_as1d(x), axis, -1)
    lead = x1.shape[:-1]
    n = x1.shape[-1]
    x2 = x1.reshape(-1, n)
    if x2.shape[0] == 0:
        idx = np.zeros(lead + (1,), dtype=np.int64)
    else:
        order = np.argsort(x2, axis=1, kind="stable")
        xs = np.take_along_axis(x2, order, axis=1)
        pos = np.broadcast_to(np.arange(n), xs.shape)
        start = np.ones(xs.shape, dtype=bool)
        start[:, 1:] = xs[:, 1:] != xs[:, :-1]
        end = np.ones(xs.shape, dtype=bool)
        end[:, :-1] = start[:, 1:]
        first = np.maximum.accumulate(np.where(start, pos, 0), axis=1)
        last = np.flip(np.minimum.accumulate(np.flip(np.where(end, pos, n), 1), axis=1), 1)
        length = last - first + 1
        best = np.argmax(length, axis=1)                  # first = smallest value on ties
        rows = np.arange(x2.shape[0])
        # stable sort: the run's last element is the value's last occurrence
        idx = order[rows, last[rows, best]].reshape(lead + (1,))
    idx = np.moveaxis(idx, -1, axis)
    return _squeeze_unless(idx, axis, keepdim and x.ndim > 0).astype(np.int64, copy=False)


@tensor_method
def mode(input, dim=-1, keepdim=False, *, out=None):
    """The most frequent value along ``dim`` (the smallest among equally frequent ones) and
    the index of its last occurrence, a named tuple ``(values, indices)``."""
    _check_tensor(input, "mode")
    xa = input._data
    axis = _one_axis(dim, xa.ndim)
    _nonempty_dim(xa, axis, "mode")
    idx = Discrete.apply(input, fn=_mode_np, name="mode", axis=axis,
                         keepdim=bool(keepdim))
    return _tuple_out(_pick(input, idx, axis, bool(keepdim), "ModeBackward0", "mode"), out)


# =======================================================================================
# unique / unique_consecutive / bincount / histc

def _unique_result(values, inverse, counts, return_inverse, return_counts):
    out = [_wrap(values)]
    if return_inverse:
        out.append(_wrap(inverse.astype(np.int64, copy=False)))
    if return_counts:
        out.append(_wrap(counts.astype(np.int64, copy=False)))
    return out[0] if len(out) == 1 else tuple(out)


@tensor_method
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The unique elements (sorted), or unique slices along ``dim``; optionally the index of
    each input element in the result (``return_inverse``) and the counts."""
    _check_tensor(input, "unique")
    _trace_check(_DATA_SHAPE.format("unique"), input)
    xa = input._data
    if dim is None:
        vals, inv, cnt = np.unique(xa.reshape(-1), return_inverse=True, return_counts=True,
                                   equal_nan=False)
        inv = inv.reshape(xa.shape)
    else:
        axis = _one_axis(dim, xa.ndim)
        if xa.shape[axis] == 0:
            vals, inv, cnt = xa, np.zeros(0, np.int64), np.zeros(0, np.int64)
        else:
            vals, inv, cnt = np.unique(xa, return_inverse=True, return_counts=True, axis=axis,
                                       equal_nan=False)
            inv = inv.reshape(-1)
    return _unique_result(vals, inv, cnt, return_inverse, return_counts)


@tensor_method
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive elements (or slices along ``dim``)."""
    _check_tensor(input, "unique_consecutive")
    _trace_check(_DATA_SHAPE.format("unique_consecutive"), input)
    xa = input._data
    if dim is None:
        flat = xa.reshape(-1)
        change = flat[1:] != flat[:-1]
        n = flat.size
    else:
        axis = _one_axis(dim, xa.ndim)
        moved = np.moveaxis(xa, axis, 0)
        n = moved.shape[0]
        rows = moved.reshape(n, -1)
        change = np.any(rows[1:] != rows[:-1], axis=1) if rows.shape[1] else \
            np.zeros(_b.max(n - 1, 0), dtype=bool)
    keep = np.concatenate([[True], change]) if n else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(keep)
    inv = np.cumsum(keep) - 1
    counts = np.diff(np.append(starts, n))
    if dim is None:
        vals = flat[starts]
        inv = inv.reshape(xa.shape)
    else:
        vals = np.take(xa, starts, axis=axis)
    return _unique_result(vals, inv, counts, return_inverse, return_counts)


@tensor_method
def bincount(input, weights=None, minlength=0) -> Tensor:
    """Count of each value in a 1-D tensor of non-negative integers (or the sum of
    ``weights`` at each value). int64 counts; float weights keep their dtype (others give
    float64)."""
    _check_tensor(input, "bincount")
    _trace_check(_DATA_SHAPE.format("bincount"), input)
    if isinstance(weights, Tensor):
        _trace_check(_DATA_SHAPE.format("bincount"), weights)
    xa = input._data
    if xa.dtype.kind not in "iub" or xa.dtype.kind == "b":
        raise NotImplementedError(f'"bincount_cpu" not implemented for '
                                  f"'{_legacy_name(input.dtype)}'")
    if xa.ndim != 1 or (xa.size and xa.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is None:
        return _wrap(np.bincount(xa, minlength=minlength).astype(np.int64, copy=False))
    w = weights._data if isinstance(weights, Tensor) else np.asarray(weights)
    if w.shape != xa.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    dt = w.dtype if w.dtype.kind == "f" else np.dtype(np.float64)
    return _wrap(np.bincount(xa, weights=w.astype(np.float64), minlength=minlength)
                 .astype(dt, copy=False))


def _histc_np(x, bins, lo, hi):
    """Kernel of histc: counts in ``bins`` equal bins over [lo, hi] (the data's range when
    they are equal), in x's dtype."""
    if lo == hi and x.size:
        lo, hi = float(np.min(x)), float(np.max(x))
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    counts, _ = np.histogram(x[~np.isnan(x)], bins=bins, range=(lo, hi))
    return counts.astype(x.dtype)


@tensor_method
def histc(input, bins=100, min=0, max=0, *, out=None) -> Tensor:
    """Histogram with ``bins`` equal-width bins over ``[min, max]`` (the data's range when
    both are equal); elements outside are ignored. The result has the input's dtype."""
    _check_tensor(input, "histc")
    xa = input._data
    if xa.dtype.kind != "f":
        raise NotImplementedError(f'"histogram_cpu" not implemented for '
                                  f"'{_legacy_name(input.dtype)}'")
    bins = int(bins)
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for "
                           "dimension 0")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    return _out(Discrete.apply(input, fn=_histc_np, name="histc", bins=bins, lo=lo, hi=hi), out)


# =======================================================================================
# diff

class _Diff(Op):
    """One forward difference along ``axis`` of ``cat([prepend, x, append])``; prepend and
    append may be None. Its adjoint (``_DiffT``) is the negated difference of the
    zero-padded gradient."""

    def forward(self, x, pre, app, axis):
        self.axis = axis
        parts = [a for a in (pre, x, app) if a is not None]
        self.sizes = [a.shape[axis] if a is not None else 0 for a in (pre, x, app)]
        full = np.concatenate(parts, axis=axis) if len(parts) > 1 else x
        return np.diff(full, axis=axis)

    def backward(self, grad):
        g = _DiffT.apply(grad, axis=self.axis)
        p, n, _ = self.sizes
        ax = self.axis
        out = []
        for i, (lo, hi) in enumerate(((p, p + n), (0, p), (p + n, None))):
            if not self.needs_input_grad[i]:
                out.append(None)
                continue
            out.append(g[(slice(None),) * ax + (slice(lo, hi),)])
        return tuple(out)


class _DiffT(Op):
    """Adjoint of a forward difference: ``out[i] = g[i-1] - g[i]`` (g zero outside)."""

    def forward(self, g, axis):
        self.axis = axis
        pad = [(0, 0)] * g.ndim
        pad[axis] = (1, 1)
        return -np.diff(np.pad(g, pad), axis=axis)

    def backward(self, grad):
        return _Diff.apply(grad, None, None, axis=self.axis)


@tensor_method
def diff(input, n=1, dim=-1, prepend=None, append=None) -> Tensor:
    """The ``n``-th forward difference along ``dim``, after concatenating ``prepend`` and
    ``append`` (tensors) to the input along that dim. bool inputs give XOR."""
    _check_tensor(input, "diff")
    xa = input._data
    if xa.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    axis = _one_axis(dim, xa.ndim)
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    for name, t in (("prepend", prepend), ("append", append)):
        if t is not None and (not isinstance(t, Tensor) or t._data.ndim != xa.ndim):
            raise RuntimeError(f"diff expects {name} or {name} to be the same dimension as "
                               "input".replace(f"{name} or {name}", "prepend or append"))
    if n == 0:
        return input
    if prepend is not None or append is not None:
        pieces = [t for t in (prepend, input, append) if t is not None]
        dt = _dtype.result_type(*pieces) if len(pieces) > 1 else input.dtype
        prepend = _cast(prepend, dt) if prepend is not None else None
        append = _cast(append, dt) if append is not None else None
        input = _cast(input, dt)
    r = _Diff.apply(input, prepend, append, axis=axis)
    for _ in range(n - 1):
        r = _Diff.apply(r, None, None, axis=axis)
    return r


