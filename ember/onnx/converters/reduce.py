"""Converters for the reductions and scans of ``ember/ops/reduce.py``.

Every reduction carries ``axes`` (None: all axes; ``()``: none, for a 0-d input, which is an
Identity) and ``keepdim``; ``ctx.reduce`` writes the axes as an input from opset 18
(ReduceSum: 13) and as an attribute before. ``dtype=`` (and ember's int64 accumulation of
bool and integer sums) is a Cast before the reduction; float16 is accumulated in float32 as
ember does. The mapping, ember op -> ONNX:

======================  ========================================================================
Sum, Mean, Prod         ReduceSum, ReduceMean, ReduceProd
NanSum, NanMean         ``Where(IsNaN(x), 0, x)`` summed; NanMean divides by the ReduceSum of
                        ``Not(IsNaN(x))``
Var / Std               ``ReduceSum((x - ReduceMean(x))^2) / max(n - correction, 0)`` (+ Sqrt);
                        ``n`` is a constant, or the product of the run-time sizes when a reduced
                        axis is dynamic
LogSumExp               ReduceLogSumExp
VectorNorm (p)          ReduceL2 (2), ReduceL1 (1), ReduceMax / ReduceMin of Abs (inf / -inf),
                        ReduceSum of ``x != 0`` (0), ``ReduceSum(|x|^p)^(1/p)`` otherwise
CumSum (reverse)        CumSum (``reverse`` attribute)
_Select (amax, amin,    ReduceMax / ReduceMin (bool through uint8); median() of all elements:
max(), min(),           TopK of the flattened input (smallest ``(n - 1) // 2 + 1``) and its last
aminmax, median())      value
Discrete argmax/argmin  ArgMax / ArgMin (``keepdims``, ``select_last_index=0``: the first
                        occurrence, as ember); of the flattened input when ``dim`` is None
Discrete sort           TopK indices with K the size of the axis (``largest`` = descending,
(sort, argsort)         ``sorted=1``; ONNX breaks ties by the lower index, as ember's stable sort)
Discrete topk           TopK indices (K = k)
Discrete kthvalue       TopK of the k smallest, the index at position k - 1
Discrete median (dim)   TopK of the ``(n - 1) // 2 + 1`` smallest, the index at the last position
                        (``n`` from the run-time shape when the axis is dynamic)
Discrete all / any      ReduceMin / ReduceMax of the operand cast to bool and int32, cast back
                        (uint8 for uint8 inputs)
Discrete count_nonzero  ReduceSum of the operand cast to bool and int64
_TakeAlong              GatherElements of the values at the indices another op computed
                        (the values of max/min/median/mode/kthvalue(dim), sort, topk,
                        cummax/cummin), with Unsqueeze/Squeeze of the picked axis
_Diff                   Concat of prepend/input/append, then ``Slice(1:) - Slice(:-1)`` (Xor
                        for bool)
======================  ========================================================================

Not supported: CumProd (no ONNX op), mode, cummax/cummin, histc and nanmedian (no ONNX
form); unique/bincount/nonzero refuse at trace time (their output shape depends on the
values). With nan in the input, ONNX's TopK/ArgMax/ReduceMax are not specified to order nan
as ember (largest) does, so sort/argmax/median of inputs with nan may differ.
"""
from __future__ import annotations

import math

import numpy as np

from ...ops import reduce as R
from .._registry import converter
from .._trace import Value
from ..errors import OnnxExporterError
from .elementwise import const

INT64_MAX = int(np.iinfo(np.int64).max)


# ---------------------------------------------------------------------------------------
# helpers

def _refuse(ctx, node, why):
    name = getattr(node.op, "fn_name", None) or node.op_name
    raise OnnxExporterError(f"ember.onnx.export: {name} at\n  {ctx.where()}\n{why}")


def _to(ctx, name, src, dtype):
    if np.dtype(src) == np.dtype(dtype):
        return name
    return ctx.cast(name, dtype)


def _reduce(ctx, op_type, x, axes, keepdim, outputs=1):
    """``op_type`` over ``axes`` (None: all; ``()``: none, an Identity)."""
    if axes is not None and len(axes) == 0:
        return ctx.emit("Identity", [x], outputs)
    return ctx.reduce(op_type, x, None if axes is None else list(axes), bool(keepdim),
                      outputs)


def _out(ctx, node, i=0):
    return [ctx.out(node, i)]


def _work_dtype(x_dtype, dtype):
    """The dtype a reduction accumulates in: ``dtype`` if given, float32 for float16."""
    if dtype is not None:
        return np.dtype(dtype)
    if np.dtype(x_dtype) == np.float16:
        return np.dtype(np.float32)
    return np.dtype(x_dtype)


def _reduce_cast(ctx, node, op_type, x: str, x_dtype, axes, keepdim, dtype):
    """Cast to the accumulation dtype, reduce, cast to the output dtype."""
    work = _work_dtype(x_dtype, dtype)
    out_dt = node.outputs[0].dtype
    x = _to(ctx, x, x_dtype, work)
    if work == np.dtype(out_dt):
        _reduce(ctx, op_type, x, axes, keepdim, _out(ctx, node))
        return
    r = _reduce(ctx, op_type, x, axes, keepdim)
    ctx.emit("Cast", [r], _out(ctx, node), to=_onnx_type(out_dt))


def _onnx_type(dtype):
    from onnx import helper
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _size(ctx, x: Value, axis: int) -> str:
    """A 1-d int64 tensor with ``x``'s size along ``axis``: a constant unless the axis
    follows a dynamic axis of the inputs."""
    if axis not in x.dyn:
        return ctx.int64s([x.shape[axis]])
    name = ctx.name(x)
    if ctx.opset >= 15:
        return ctx.emit("Shape", [name], start=axis, end=axis + 1)
    return ctx.emit("Gather", [ctx.emit("Shape", [name]), ctx.int64s([axis])], axis=0)


def _count(ctx, x: Value, axes, dtype) -> str:
    """The number of elements reduced over ``axes`` (None: all), as a 0-d ``dtype``."""
    axes = range(len(x.shape)) if axes is None else axes
    if not any(a in x.dyn for a in axes):
        return const(ctx, np.asarray(math.prod(x.shape[a] for a in axes), dtype=dtype))
    sizes = [_size(ctx, x, a) for a in axes]
    cat = sizes[0] if len(sizes) == 1 else ctx.emit("Concat", sizes, axis=0)
    n = ctx.reduce("ReduceProd", cat, None, False)
    return ctx.cast(n, dtype)


def _topk(ctx, x: str, k: str, axis: int, largest: bool):
    """TopK: (values, indices) names."""
    return ctx.emit("TopK", [x, k], 2, axis=axis, largest=int(largest), sorted=1)


def _orderable(ctx, x: Value) -> str:
    """``x`` in a dtype TopK / ArgMax / ReduceMax accept (bool as uint8)."""
    name = ctx.name(x)
    return ctx.cast(name, np.uint8) if x.dtype == np.bool_ else name


def _zero_index(ctx, node):
    """The index output of a 0-d input: 0."""
    ctx.emit("Identity", [const(ctx, np.zeros((), dtype=np.int64))], _out(ctx, node))


# ---------------------------------------------------------------------------------------
# sums and means

@converter(R.Sum, R.Mean, R.Prod)
def sum_mean_prod(ctx, node):
    x = node.inputs[0]
    p = node.params
    op = {R.Sum: "ReduceSum", R.Mean: "ReduceMean", R.Prod: "ReduceProd"}[type(node.op)]
    _reduce_cast(ctx, node, op, ctx.name(x), x.dtype, p["axes"], p["keepdim"], p["dtype"])


def _nan_zeroed(ctx, x: Value) -> str:
    name = ctx.name(x)
    zero = const(ctx, np.zeros((), dtype=x.dtype))
    return ctx.emit("Where", [ctx.emit("IsNaN", [name]), zero, name])


@converter(R.NanSum)
def nansum(ctx, node):
    x = node.inputs[0]
    p = node.params
    _reduce_cast(ctx, node, "ReduceSum", _nan_zeroed(ctx, x), x.dtype, p["axes"],
                 p["keepdim"], p["dtype"])


@converter(R.NanMean)
def nanmean(ctx, node):
    x = node.inputs[0]
    p = node.params
    work = _work_dtype(x.dtype, p["dtype"])
    s = _reduce(ctx, "ReduceSum", _to(ctx, _nan_zeroed(ctx, x), x.dtype, work), p["axes"],
                p["keepdim"])
    valid = ctx.cast(ctx.emit("Not", [ctx.emit("IsNaN", [ctx.name(x)])]), work)
    n = _reduce(ctx, "ReduceSum", valid, p["axes"], p["keepdim"])
    r = ctx.emit("Div", [s, n])
    ctx.emit("Identity", [_to(ctx, r, work, node.outputs[0].dtype)], _out(ctx, node))


@converter(R.Var, R.Std)
def var_std(ctx, node):
    x = node.inputs[0]
    p = node.params
    axes, keepdim = p["axes"], p["keepdim"]
    out_dt = node.outputs[0].dtype
    work = _work_dtype(x.dtype, None)
    xn = _to(ctx, ctx.name(x), x.dtype, work)
    if axes is not None and len(axes) == 0:       # a 0-d input: (x - x)^2 / denominator
        axes_l = None
    else:
        axes_l = axes
    mean = _reduce(ctx, "ReduceMean", xn, axes_l, True)
    d = ctx.emit("Sub", [xn, mean])
    s = _reduce(ctx, "ReduceSum", ctx.emit("Mul", [d, d]), axes_l, keepdim)
    n = _count(ctx, x, axes, work)
    denom = ctx.emit("Max", [ctx.emit("Sub", [n, const(ctx, np.asarray(p["correction"],
                                                                         dtype=work))]),
                             const(ctx, np.zeros((), dtype=work))])
    v = ctx.emit("Div", [s, denom])
    if isinstance(node.op, R.Std):
        v = ctx.emit("Sqrt", [v])
    ctx.emit("Identity", [_to(ctx, v, work, out_dt)], _out(ctx, node))


@converter(R.LogSumExp)
def logsumexp(ctx, node):
    p = node.params
    _reduce(ctx, "ReduceLogSumExp", ctx.name(node.inputs[0]), p["axes"], p["keepdim"],
            _out(ctx, node))


@converter(R.VectorNorm)
def vector_norm(ctx, node):
    x = node.inputs[0]
    p = node.params
    axes, keepdim, order = p["axes"], p["keepdim"], p["p"]
    dt = node.outputs[0].dtype
    xn = ctx.name(x)
    out = _out(ctx, node)
    if order == 2:
        _reduce(ctx, "ReduceL2", xn, axes, keepdim, out)
    elif order == 1:
        _reduce(ctx, "ReduceL1", xn, axes, keepdim, out)
    elif order == math.inf:
        _reduce(ctx, "ReduceMax", ctx.emit("Abs", [xn]), axes, keepdim, out)
    elif order == -math.inf:
        _reduce(ctx, "ReduceMin", ctx.emit("Abs", [xn]), axes, keepdim, out)
    elif order == 0:
        nz = ctx.cast(ctx.cast(xn, np.bool_), dt)
        _reduce(ctx, "ReduceSum", nz, axes, keepdim, out)
    else:
        a = ctx.emit("Pow", [ctx.emit("Abs", [xn]), const(ctx, np.asarray(order, dtype=dt))])
        s = _reduce(ctx, "ReduceSum", a, axes, keepdim)
        ctx.emit("Pow", [s, const(ctx, np.asarray(1.0 / order, dtype=dt))], out)


@converter(R.CumSum)
def cumsum(ctx, node):
    x = node.inputs[0]
    p = node.params
    work = _work_dtype(x.dtype, p["dtype"])
    out_dt = node.outputs[0].dtype
    xn = _to(ctx, ctx.name(x), x.dtype, work)
    if not x.shape:
        r = xn
    else:
        r = ctx.emit("CumSum", [xn, const(ctx, np.asarray(p["axis"], dtype=np.int64))],
                     reverse=int(bool(p["reverse"])))
    ctx.emit("Identity", [_to(ctx, r, work, out_dt)], _out(ctx, node))


# ---------------------------------------------------------------------------------------
# max / min / median of a tensor's elements

@converter(R._Select)
def select(ctx, node):
    x = node.inputs[0]
    p = node.params
    kind = p["kind"]
    if kind in ("max", "min"):
        op = "ReduceMax" if kind == "max" else "ReduceMin"
        if x.dtype == np.bool_:
            r = _reduce(ctx, op, _orderable(ctx, x), p["axes"], p["keepdim"])
            ctx.emit("Cast", [r], _out(ctx, node), to=_onnx_type(np.bool_))
        else:
            _reduce(ctx, op, ctx.name(x), p["axes"], p["keepdim"], _out(ctx, node))
        return
    if kind == "nanmedian":
        _refuse(ctx, node, "nanmedian() has no ONNX form (TopK cannot leave nan out).")
    # median of all elements: the last of the (n - 1) // 2 + 1 smallest
    flat = ctx.emit("Reshape", [_orderable(ctx, x), ctx.int64s([-1])])
    n = _count(ctx, x, None, np.int64)
    k = ctx.emit("Add", [ctx.emit("Div", [ctx.emit("Sub", [n, const(ctx, np.int64(1))]),
                                          const(ctx, np.int64(2))]), const(ctx, np.int64(1))])
    vals, _ = _topk(ctx, flat, ctx.unsqueeze(k, [0]), 0, largest=False)
    last = ctx.emit("Gather", [vals, const(ctx, np.asarray(-1, dtype=np.int64))], axis=0)
    ctx.emit("Identity", [_to(ctx, last, np.uint8 if x.dtype == np.bool_ else x.dtype,
                              x.dtype)], _out(ctx, node))


# ---------------------------------------------------------------------------------------
# indices: argmax/argmin, sort/topk/kthvalue/median; all/any/count_nonzero

def _arg_extreme(ctx, node, name):
    x = node.inputs[0]
    p = node.params
    axis, keepdim = p["axis"], p["keepdim"]
    op = "ArgMax" if name == "argmax" else "ArgMin"
    if not x.shape:
        _zero_index(ctx, node)
        return
    xn = _orderable(ctx, x)
    if axis is None:
        flat = ctx.emit("Reshape", [xn, ctx.int64s([-1])])
        i = ctx.emit(op, [flat], axis=0, keepdims=0, select_last_index=0)
        shape = ctx.int64s([1] * len(x.shape) if keepdim else [])
        ctx.emit("Reshape", [i, shape], _out(ctx, node))
        return
    ctx.emit(op, [xn], _out(ctx, node), axis=axis, keepdims=int(bool(keepdim)),
             select_last_index=0)


def _pick_position(ctx, node, indices: str, pos: str, axis: int, keepdim: bool):
    """``indices`` at position ``pos`` (a 1-d int64 tensor of one element) along ``axis``,
    the axis kept or dropped."""
    got = ctx.emit("Gather", [indices, pos], axis=axis)
    if keepdim:
        ctx.emit("Identity", [got], _out(ctx, node))
    else:
        ctx.squeeze(got, [axis], _out(ctx, node))


def _sort_like(ctx, node, name):
    x = node.inputs[0]
    p = node.params
    if not x.shape:
        _zero_index(ctx, node)
        return
    xn = _orderable(ctx, x)
    axis = p["axis"]
    if name == "sort":
        _, idx = _topk(ctx, xn, _size(ctx, x, axis), axis, largest=p["descending"])
    elif name == "topk":
        _, idx = _topk(ctx, xn, ctx.int64s([p["k"]]), axis, largest=p["largest"])
    elif name == "kthvalue":
        k = p["k"]
        _, idx = _topk(ctx, xn, ctx.int64s([k]), axis, largest=False)
        _pick_position(ctx, node, idx, ctx.int64s([k - 1]), axis, p["keepdim"])
        return
    else:                                                  # median along an axis
        if p["ignore_nan"]:
            _refuse(ctx, node, "nanmedian() has no ONNX form (TopK cannot leave nan out).")
        one = ctx.int64s([1])
        if axis in x.dyn:
            n = _size(ctx, x, axis)
            k = ctx.emit("Add", [ctx.emit("Div", [ctx.emit("Sub", [n, one]),
                                                  ctx.int64s([2])]), one])
            last = ctx.emit("Sub", [k, one])
        else:
            kk = (x.shape[axis] - 1) // 2 + 1
            k, last = ctx.int64s([kk]), ctx.int64s([kk - 1])
        _, idx = _topk(ctx, xn, k, axis, largest=False)
        _pick_position(ctx, node, idx, last, axis, p["keepdim"])
        return
    ctx.emit("Identity", [idx], _out(ctx, node))


def _logical(ctx, node, name):
    x = node.inputs[0]
    p = node.params
    xn = _to(ctx, ctx.name(x), x.dtype, np.bool_)
    as_int = ctx.cast(xn, np.int32)
    r = _reduce(ctx, "ReduceMin" if name == "all" else "ReduceMax", as_int, p["axes"],
                p["keepdim"])
    ctx.emit("Cast", [r], _out(ctx, node), to=_onnx_type(node.outputs[0].dtype))


def _count_nonzero(ctx, node):
    x = node.inputs[0]
    nz = ctx.cast(_to(ctx, ctx.name(x), x.dtype, np.bool_), np.int64)
    _reduce(ctx, "ReduceSum", nz, node.params["axes"], False, _out(ctx, node))


@converter(R.Discrete)
def discrete(ctx, node):
    name = node.op.fn_name
    if name in ("argmax", "argmin"):
        _arg_extreme(ctx, node, name)
    elif name in ("sort", "topk", "kthvalue", "median", "nanmedian"):
        _sort_like(ctx, node, name)
    elif name in ("all", "any"):
        _logical(ctx, node, name)
    elif name == "count_nonzero":
        _count_nonzero(ctx, node)
    else:
        _refuse(ctx, node, f"{name}() has no ONNX form.")


@converter(R._TakeAlong)
def take_along(ctx, node):
    """The values an index op picked: GatherElements along the axis."""
    x, idx = node.inputs[0], node.inputs[1]
    p = node.params
    axis, keepdim = p["axis"], p["keepdim"]
    if not x.shape:
        ctx.emit("Identity", [ctx.name(x)], _out(ctx, node))
        return
    if isinstance(idx, Value):
        iname, ind = ctx.name(idx), len(idx.shape)
    else:
        iname, ind = const(ctx, np.asarray(idx, dtype=np.int64)), np.ndim(idx)
    if ind < len(x.shape):
        iname = ctx.unsqueeze(iname, [axis])
    if keepdim:
        ctx.emit("GatherElements", [ctx.name(x), iname], _out(ctx, node), axis=axis)
    else:
        got = ctx.emit("GatherElements", [ctx.name(x), iname], axis=axis)
        ctx.squeeze(got, [axis], _out(ctx, node))


@converter(R._Diff)
def diff(ctx, node):
    x = node.inputs[0]
    axis = node.params["axis"]
    x_, pre, app = node.inputs[:3]
    parts = [ctx.name(v) for v in (pre, x_, app) if v is not None]
    full = parts[0] if len(parts) == 1 else ctx.emit("Concat", parts, axis=axis)
    ax = ctx.int64s([axis])
    hi = ctx.emit("Slice", [full, ctx.int64s([1]), ctx.int64s([INT64_MAX]), ax])
    lo = ctx.emit("Slice", [full, ctx.int64s([0]), ctx.int64s([-1]), ax])
    op = "Xor" if x.dtype == np.bool_ else "Sub"
    ctx.emit(op, [hi, lo], _out(ctx, node))
