"""Converters for the layers of ember.nn: linear, convolution, pooling, normalization,
embedding, resampling.

==========================  ==============================================================
ember op                    ONNX
==========================  ==============================================================
Linear                      ``Gemm(transB=1)`` for a 2-d input and weight with a 1-d bias;
                            otherwise ``MatMul`` with the transposed weight (``+ Add``)
Bilinear                    ``Einsum("...i,oij,...j->...o")`` (``+ Add``)
Convolution                 ``Conv``: ``pads`` = the (lo, hi) pairs (``padding='same'``
                            with an even kernel pads more at the end, as PyTorch)
ConvTranspose               ``ConvTranspose``: ember's crop ``(p, p - output_padding)``
                            becomes ``pads = [p, p]``, ``output_padding``
ModePad (padding_mode)      ``Pad`` with mode ``reflect`` / ``edge`` (replicate) / ``wrap``
                            (circular, opset 19+; before: ``Slice`` + ``Concat``)
_MaxPoolValues, _MaxPool    ``MaxPool``; ``ceil_mode`` is chosen so that ONNX's output size
                            equals ember's (checked for both traces when the spatial
                            sizes are dynamic). Indices: ONNX counts over the whole
                            tensor, PyTorch within each (n, c) plane: the plane offset
                            (read from a 1x1 ``MaxPool``'s indices) is subtracted
_AvgPool                    ``AveragePool``; ``count_include_pad`` is read off ember's
                            divisors; ``divisor_override``: ``AveragePool * (size /
                            override)`` (a constant, per output position if windows are
                            clipped)
_AdaptiveAvgPool            ``AveragePool(kernel = stride = in / out)`` when every size
                            divides; otherwise one ``MatMul`` with the (out, in) averaging
                            matrix per pooled dimension. (Global pooling is a ``Mean`` op.)
_AdaptiveMaxPool            ``GlobalMaxPool`` for a 1x1 output; ``MaxPool(kernel = stride =
                            in / out)`` when every size divides (with indices as for
                            MaxPool); otherwise ``Gather`` of each window + ``ReduceMax``
                            per dimension (values only)
_ChannelAffine (eval-mode   ``BatchNormalization(x, scale, shift, mean=0, var=1,
batch_norm, instance_norm   epsilon=0)``: ember folds the running statistics into a scale
with running stats)         and a shift; the graph pass folds it into a preceding ``Conv``
_Normalize: layer_norm      ``LayerNormalization`` from opset 17; before,
                            ReduceMean/Sub/Sqrt/Div
_Normalize: group_norm      ``GroupNormalization`` (opset 21+, 3-d and larger inputs);
                            otherwise ``Reshape(N, G, -1)`` + the formula
_Normalize: instance_norm   ``InstanceNormalization`` (float64: the formula, as onnxruntime
                            has no float64 kernel for it)
_Normalize: batch statis-   the formula over all dimensions but 1 (``F.batch_norm(...,
tics (training=True)        training=True)`` called explicitly)
_ChannelWindowSum (local_   a ``Conv`` with a ones kernel along the channels (the
response_norm)              surrounding ops are elementwise; ONNX's ``LRN`` centres an
                            even-sized window on the other side than PyTorch)
Resample (interpolate)      ``Resize`` when its coordinate rules (simulated at export
                            time) give exactly ember's source positions and weights:
                            nearest = asymmetric + floor, nearest-exact = half_pixel +
                            round_prefer_ceil, linear/cubic (a = -0.75) with half_pixel
                            or align_corners; otherwise (antialiasing, lanczos, uint8,
                            other dtypes, sizes where the rules differ) an exact
                            ``Gather`` + weights + ``ReduceSum`` per dimension
RowGather (embedding)       ``Gather(weight, indices, axis=0)``
==========================  ==============================================================

Dropout in eval mode records no op. Resampling and adaptive pooling compute their windows
for the traced spatial size, so they refuse spatial dimensions that follow dynamic axes.
onnxruntime's CPU provider has no float64 Conv, ConvTranspose or AveragePool kernels: such
float64 models are valid ONNX that it does not run.
"""
from __future__ import annotations

import numpy as np

from ...nn.functional import Bilinear, Linear
from ...ops.conv import Convolution, ConvTranspose, ModePad
from ...ops.normalization import _ChannelAffine, _ChannelWindowSum, _Normalize
from ...ops.pooling import (
    _adaptive_windows,
    _AdaptiveAvgPool,
    _AdaptiveMaxPool,
    _avg_divisors,
    _avg_matrix,
    _AvgPool,
    _MaxPool,
    _MaxPoolValues,
)
from ...ops.sparse import RowGather
from ...ops.upsampling import Resample
from .._registry import converter
from .._trace import Value
from ..errors import OnnxExporterError

# ---------------------------------------------------------------------------------------
# helpers

def _refuse(ctx, what: str):
    raise OnnxExporterError(f"ember.onnx.export: {what}\n  at {ctx.where()}")


def _out(outs, i):
    """``outputs=`` for ``ctx.emit``: the i-th target name, or one fresh name."""
    return [outs[i]] if outs is not None else 1


def _fresh(ctx, hint):
    """A fresh name in the current module's scope (as ``ctx.emit`` names outputs)."""
    return ctx.fresh(f"{ctx._scope_prefix()}{hint}")


def _per_channel(ctx, v, rank):
    """``v`` (C,) as (C, 1, ..., 1) for a rank-``rank`` (N, C, ...) tensor: a reshaped
    constant when ``v`` is an unnamed constant, else an ``Unsqueeze`` (parameters stay
    graph inputs with ``export_params=False``)."""
    extra = rank - 2
    if extra <= 0:
        return ctx.name(v)
    if v.is_const and v.param_name is None:
        return ctx.const(v.const.reshape((-1,) + (1,) * extra))
    return ctx.unsqueeze(ctx.name(v), list(range(1, extra + 1)))


def _spatial_dynamic(v: Value, nd: int) -> bool:
    rank = len(v.shape)
    return any(ax in v.dyn for ax in range(rank - nd, rank))


def _batched(ctx, node, nd, body):
    """Run ``body(x, outs)`` on an input with exactly N and C before the ``nd`` spatial
    dimensions (ONNX's pooling layout). An unbatched (C, *S) input is unsqueezed and the
    outputs squeezed back. ``body`` writes to the names ``outs`` (None: fresh names) and
    returns the names it wrote."""
    x = ctx.input(node, 0)
    rank = len(node.inputs[0].shape)
    if rank == nd + 2:
        body(x, ctx.outputs(node))
        return
    if rank != nd + 1:
        _refuse(ctx, f"{node.op_name} on a {rank}-d input with {nd} pooled dimensions "
                     f"cannot be written as an ONNX pooling op")
    made = body(ctx.unsqueeze(x, [0]), None)
    names = ctx.outputs(node)
    for name, target in zip(made, names):
        ctx.squeeze(name, [0], [target])


def _ceil_mode(ctx, node, k, s, p, d):
    """The ONNX ``ceil_mode`` that gives ember's output sizes (PyTorch's ceil rule drops a
    last window that would start in the right padding; ONNX's shape formula does not, so
    such cases use floor mode, which then gives the same count). Checked for both traces
    when the spatial sizes follow dynamic axes."""
    xv, ov = node.inputs[0], node.outputs[0]
    nd = len(k)
    rx, ro = len(xv.shape), len(ov.shape)
    allowed = {0, 1}
    for i in range(nd):
        ax, ao = rx - nd + i, ro - nd + i
        pairs = [(xv.shape[ax], ov.shape[ao])]
        if ax in xv.dyn or ao in ov.dyn:
            pairs.append((xv.dyn.get(ax, (0, xv.shape[ax]))[1],
                          ov.dyn.get(ao, (0, ov.shape[ao]))[1]))
        for length, o in pairs:
            num = length + 2 * p[i] - (d[i] * (k[i] - 1) + 1)
            ok = set()
            if o == num // s[i] + 1:
                ok.add(0)
            if o == -(-num // s[i]) + 1:
                ok.add(1)
            allowed &= ok
    if not allowed:
        _refuse(ctx, f"{node.op_name}: no ONNX ceil_mode gives ember's output size here "
                     f"(some dimensions round up, others down)")
    return 0 if 0 in allowed else 1


def _pool_attrs(k, s, p, d=None):
    attrs = dict(kernel_shape=list(k), strides=list(s), pads=list(p) + list(p))
    if d is not None and any(v != 1 for v in d):
        attrs["dilations"] = list(d)
    return attrs


_MAXPOOL_DTYPES = {np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16),
                   np.dtype(np.int8), np.dtype(np.uint8)}


def _check_maxpool_dtype(ctx, node):
    dt = node.inputs[0].dtype
    if dt not in _MAXPOOL_DTYPES:
        _refuse(ctx, f"max pooling of {dt} tensors has no ONNX MaxPool (float and 8-bit "
                     f"integer types only); convert the input to float first")


def _plane_indices(ctx, x, raw, nd, out):
    """ONNX MaxPool's indices count over the whole (N, C, *S) tensor; PyTorch's within each
    (n, c) plane. Subtract each plane's first flat index, read off the indices of a 1x1
    MaxPool of ``x`` (which are the positions themselves)."""
    ones = [1] * nd
    _, positions = ctx.emit("MaxPool", [x], 2, kernel_shape=ones, strides=ones)
    first = ctx.emit("Slice", [positions, ctx.int64s([0] * nd), ctx.int64s(ones),
                               ctx.int64s(list(range(2, 2 + nd)))])
    return ctx.emit("Sub", [raw, first], out)


# ---------------------------------------------------------------------------------------
# linear

@converter(Linear)
def linear(ctx, node):
    x, w = ctx.input(node, 0), ctx.input(node, 1)
    b = ctx.input(node, 2) if len(node.inputs) > 2 else None
    xv, wv = node.inputs[0], node.inputs[1]
    if len(xv.shape) == 2 and len(wv.shape) == 2 and \
            (b is None or len(node.inputs[2].shape) <= 1):
        ctx.emit("Gemm", [x, w] if b is None else [x, w, b], ctx.outputs(node), transB=1)
        return
    wt = ctx.emit("Transpose", [w]) if len(wv.shape) == 2 else w
    if b is None:
        ctx.emit("MatMul", [x, wt], ctx.outputs(node))
    else:
        ctx.emit("Add", [ctx.emit("MatMul", [x, wt]), b], ctx.outputs(node))


@converter(Bilinear)
def bilinear(ctx, node):
    x1, x2, w = ctx.input(node, 0), ctx.input(node, 1), ctx.input(node, 2)
    has_bias = len(node.inputs) > 3 and node.inputs[3] is not None
    eq = "...i,oij,...j->...o"
    if not has_bias:
        ctx.emit("Einsum", [x1, w, x2], ctx.outputs(node), equation=eq)
        return
    y = ctx.emit("Einsum", [x1, w, x2], equation=eq)
    ctx.emit("Add", [y, ctx.input(node, 3)], ctx.outputs(node))


# ---------------------------------------------------------------------------------------
# convolution

@converter(Convolution)
def conv(ctx, node):
    op = node.op
    ins = [ctx.input(node, i) for i in range(len(node.inputs)) if node.inputs[i] is not None]
    ksize = node.inputs[1].shape[2:]
    ctx.emit("Conv", ins, ctx.outputs(node), kernel_shape=list(ksize), strides=list(op.stride),
             dilations=list(op.dilation), group=int(op.groups),
             pads=[lo for lo, _ in op.pads] + [hi for _, hi in op.pads])


@converter(ConvTranspose)
def conv_transpose(ctx, node):
    """ember crops ``(lo, hi)`` from the full transposed convolution; ``hi = p -
    output_padding`` may be negative (zeros appended). ONNX: ``pads = [lo, lo]`` with
    ``output_padding = lo - hi`` (PyTorch's form), or asymmetric pads otherwise."""
    op = node.op
    ins = [ctx.input(node, i) for i in range(len(node.inputs)) if node.inputs[i] is not None]
    ksize = node.inputs[1].shape[2:]
    begin, end, extra = [], [], []
    for lo, hi in op.pads:
        if lo < 0:
            _refuse(ctx, "a transposed convolution with negative padding")
        tail = lo if hi <= lo else hi
        begin.append(lo)
        end.append(tail)
        extra.append(tail - hi)
    attrs = dict(kernel_shape=list(ksize), strides=list(op.stride),
                 dilations=list(op.dilation), group=int(op.groups), pads=begin + end)
    if any(extra):
        attrs["output_padding"] = extra
    ctx.emit("ConvTranspose", ins, ctx.outputs(node), **attrs)


@converter(ModePad)
def mode_pad(ctx, node):
    """The convolution layers' reflect / replicate / circular ``padding_mode``; ember keeps
    NumPy's mode names, which are ONNX Pad's (reflect, edge, wrap)."""
    op = node.op
    x = ctx.input(node, 0)
    rank = len(node.inputs[0].shape)
    lead = rank - len(op.pads)
    if op.mode == "wrap" and ctx.opset < 19:
        # circular before Pad's "wrap" mode: [x[-lo:], x, x[:hi]] along each axis
        for i, (lo, hi) in enumerate(op.pads):
            if not (lo or hi):
                continue
            ax = lead + i
            parts = []
            if lo:
                parts.append(ctx.emit("Slice", [x, ctx.int64s([-lo]),
                                                ctx.int64s([np.iinfo(np.int64).max]),
                                                ctx.int64s([ax])]))
            parts.append(x)
            if hi:
                parts.append(ctx.emit("Slice", [x, ctx.int64s([0]), ctx.int64s([hi]),
                                                ctx.int64s([ax])]))
            last = all(not (a or b) for a, b in op.pads[i + 1:])
            x = ctx.emit("Concat", parts, ctx.outputs(node) if last else 1, axis=ax)
        return
    pads = [0] * lead + [lo for lo, _ in op.pads] + [0] * lead + [hi for _, hi in op.pads]
    ctx.emit("Pad", [x, ctx.int64s(pads)], ctx.outputs(node), mode=op.mode)


# ---------------------------------------------------------------------------------------
# pooling

@converter(_MaxPoolValues, _MaxPool)
def max_pool(ctx, node):
    geo = node.params["geo"]
    _check_maxpool_dtype(ctx, node)
    cm = _ceil_mode(ctx, node, geo.k, geo.s, geo.p, geo.d)
    attrs = _pool_attrs(geo.k, geo.s, geo.p, geo.d)
    with_indices = isinstance(node.op, _MaxPool)

    def body(x, outs):
        if not with_indices:
            return [ctx.emit("MaxPool", [x], _out(outs, 0), ceil_mode=cm, **attrs)]
        vals = outs[0] if outs is not None else _fresh(ctx, "MaxPool_output_0")
        raw = _fresh(ctx, "MaxPool_output_1")
        ctx.emit("MaxPool", [x], [vals, raw], ceil_mode=cm, **attrs)
        return [vals, _plane_indices(ctx, x, raw, len(geo.k), _out(outs, 1))]
    _batched(ctx, node, len(geo.k), body)


@converter(_AvgPool)
def avg_pool(ctx, node):
    geo, override = node.params["geo"], node.params.get("override")
    if node.inputs[0].dtype.kind != "f":
        _refuse(ctx, f"average pooling of {node.inputs[0].dtype} tensors: ONNX AveragePool "
                     f"takes floating-point inputs only")
    nd = len(geo.k)
    cm = _ceil_mode(ctx, node, geo.k, geo.s, geo.p, geo.d)
    attrs = _pool_attrs(geo.k, geo.s, geo.p)
    if override is None:
        cip = None
        for flag in (0, 1):                 # which rule gave ember's divisors
            if np.array_equal(_avg_divisors(geo, bool(flag), None), geo.div):
                cip = flag
                break
        if cip is None:
            _refuse(ctx, "average pooling with divisors ONNX cannot express")

        def body(x, outs):
            return [ctx.emit("AveragePool", [x], _out(outs, 0), ceil_mode=cm,
                             count_include_pad=cip, **attrs)]
    else:
        # AveragePool (count_include_pad) divides by each window's size clipped to the
        # padded input; rescale by size / override
        if _spatial_dynamic(node.inputs[0], nd):
            _refuse(ctx, "average pooling with divisor_override on spatial sizes that follow "
                         "dynamic axes")
        dt = node.outputs[0].dtype
        sizes = np.broadcast_to(_avg_divisors(geo, True, None), tuple(geo.out))
        factor = (sizes / float(override)).astype(dt)
        scale = ctx.scalar(factor.reshape(-1)[0], dt) if np.all(factor == factor.flat[0]) \
            else ctx.const(factor)

        def body(x, outs):
            avg = ctx.emit("AveragePool", [x], ceil_mode=cm, count_include_pad=1, **attrs)
            return [ctx.emit("Mul", [avg, scale], _out(outs, 0))]
    _batched(ctx, node, nd, body)


def _adaptive_checks(ctx, node, insp):
    if _spatial_dynamic(node.inputs[0], len(insp)):
        _refuse(ctx, f"{node.op_name}: adaptive pooling computes its windows from the traced "
                     f"input size, so its pooled dimensions cannot follow dynamic axes")


@converter(_AdaptiveAvgPool)
def adaptive_avg_pool(ctx, node):
    op = node.op
    if op.adjoint:
        _refuse(ctx, "the adjoint of adaptive average pooling (a gradient) is not exported")
    insp, outsp = tuple(op.insp), tuple(op.outsp)
    _adaptive_checks(ctx, node, insp)
    nd = len(insp)
    if 0 in outsp:
        _refuse(ctx, "adaptive average pooling to an empty output")
    if all(n % o == 0 for n, o in zip(insp, outsp)):
        k = [n // o for n, o in zip(insp, outsp)]
        _batched(ctx, node, nd, lambda x, outs: [ctx.emit(
            "AveragePool", [x], _out(outs, 0), kernel_shape=k, strides=k)])
        return
    # windows of different sizes: a linear map per pooled dimension
    dt = node.outputs[0].dtype
    y = ctx.input(node, 0)
    rank = len(node.inputs[0].shape)
    todo = [(rank - nd + a, n, o) for a, (n, o) in enumerate(zip(insp, outsp)) if n != o]
    for j, (ax, n, o) in enumerate(todo):
        mat = _avg_matrix(n, o, dt)                          # (o, n)
        outs = ctx.outputs(node) if j == len(todo) - 1 else 1
        if ax == rank - 1:
            y = ctx.emit("MatMul", [y, ctx.const(np.ascontiguousarray(mat.T))], outs)
        elif ax == rank - 2:
            y = ctx.emit("MatMul", [ctx.const(mat), y], outs)
        else:
            perm = list(range(rank))
            perm[ax], perm[-1] = perm[-1], perm[ax]
            t = ctx.emit("Transpose", [y], perm=perm)
            t = ctx.emit("MatMul", [t, ctx.const(np.ascontiguousarray(mat.T))])
            y = ctx.emit("Transpose", [t], outs, perm=perm)


@converter(_AdaptiveMaxPool)
def adaptive_max_pool(ctx, node):
    insp, outsp = tuple(node.op.insp), tuple(node.params["outsp"])
    _check_maxpool_dtype(ctx, node)
    nd = len(insp)
    if all(o == 1 for o in outsp) and not node.params.get("returned"):
        # global: any spatial size, so these dimensions may follow dynamic axes
        _batched(ctx, node, nd, lambda x, outs: [ctx.emit("GlobalMaxPool", [x],
                                                          _out(outs, 0))])
        return
    _adaptive_checks(ctx, node, insp)
    if 0 in outsp:
        _refuse(ctx, "adaptive max pooling to an empty output")
    if all(n % o == 0 for n, o in zip(insp, outsp)):
        k = [n // o for n, o in zip(insp, outsp)]

        returned = bool(node.params.get("returned"))

        def body(x, outs):
            if not returned:                       # the indices are not handed out
                return [ctx.emit("MaxPool", [x], _out(outs, 0), kernel_shape=k, strides=k)]
            vals = outs[0] if outs is not None else _fresh(ctx, "MaxPool_output_0")
            raw = _fresh(ctx, "MaxPool_output_1")
            ctx.emit("MaxPool", [x], [vals, raw], kernel_shape=k, strides=k)
            return [vals, _plane_indices(ctx, x, raw, nd, _out(outs, 1))]
        _batched(ctx, node, nd, body)
        return
    if node.params.get("returned"):
        _refuse(ctx, "adaptive max pooling with return_indices=True and an input size that "
                     "is not a multiple of the output size has no ONNX form (the values "
                     "alone export)")
    # per dimension: gather each window (short ones repeat their last element), reduce
    y = ctx.input(node, 0)
    rank = len(node.inputs[0].shape)
    todo = [(rank - nd + a, n, o) for a, (n, o) in enumerate(zip(insp, outsp)) if n != o]
    if not todo:
        ctx.emit("Identity", [y], [ctx.out(node, 0)])
        return
    for j, (ax, n, o) in enumerate(todo):
        starts, ends = _adaptive_windows(n, o)
        kmax = int((ends - starts).max())
        cols = np.minimum(starts[:, None] + np.arange(kmax), ends[:, None] - 1)
        g = ctx.emit("Gather", [y, ctx.const(cols.astype(np.int64))], axis=ax)
        outs = [ctx.out(node, 0)] if j == len(todo) - 1 else 1
        y = ctx.reduce("ReduceMax", g, [ax + 1], keepdims=False, outputs=outs)


# ---------------------------------------------------------------------------------------
# normalization

@converter(_ChannelAffine)
def channel_affine(ctx, node):
    """Eval-mode batch norm (and instance norm with running statistics): ember computes
    ``scale = weight / sqrt(var + eps)`` and ``shift = bias - mean * scale`` (constants,
    folded at export) and records ``x * scale + shift`` per channel: a BatchNormalization
    with zero mean, unit variance and epsilon 0."""
    dt = node.outputs[0].dtype
    c = node.inputs[0].shape[1]
    zeros = ctx.const(np.zeros(c, dtype=dt))
    ones = ctx.const(np.ones(c, dtype=dt))
    ctx.emit("BatchNormalization", [ctx.input(node, 0), ctx.input(node, 1),
                                    ctx.input(node, 2), zeros, ones],
             [ctx.out(node, 0)], epsilon=0.0)


def _formula(ctx, x, axes, eps, dt):
    """``(x - mean) / sqrt(var + eps)`` with the (biased) statistics over ``axes``."""
    mean = ctx.reduce("ReduceMean", x, axes, keepdims=True)
    d = ctx.emit("Sub", [x, mean])
    var = ctx.reduce("ReduceMean", ctx.emit("Mul", [d, d]), axes, keepdims=True)
    return ctx.emit("Div", [d, ctx.emit("Sqrt", [ctx.emit("Add", [var, ctx.scalar(eps, dt)])])])


def _affine(ctx, y, w, b, outs):
    """``y * w + b`` (either may be None); writes ``outs``."""
    if w is None and b is None:
        return ctx.emit("Identity", [y], outs)
    if w is not None:
        y = ctx.emit("Mul", [y, w], outs if b is None else 1)
    if b is not None:
        y = ctx.emit("Add", [y, b], outs)
    return y


def _value(node, i):
    v = node.inputs[i] if len(node.inputs) > i else None
    return v if isinstance(v, Value) else None


def _compute_dtype(ctx, node):
    """float16 normalizes in float32, as ember (and PyTorch's CPU kernels) do."""
    x = ctx.input(node, 0)
    if node.inputs[0].dtype == np.float16:
        return ctx.cast(x, np.float32), True
    return x, False


def _cast_all(ctx, names, cast):
    return [ctx.cast(n, np.float32) if (cast and n is not None) else n for n in names]


def _finish(ctx, y, wb, out, cast, dt):
    w, b = wb
    if cast:
        y = _affine(ctx, y, w, b, 1)
        ctx.emit("Cast", [y], out, to=_onnx_dtype(dt))
    else:
        _affine(ctx, y, w, b, out)


def _onnx_dtype(dt):
    from onnx import helper
    return helper.np_dtype_to_tensor_dtype(np.dtype(dt))


def _layer_norm(ctx, node, xv, wv, bv, eps, out):
    shape = xv.shape
    k = node.op.layout.shape[1]
    if wv is not None:
        j = len(wv.shape)
    elif bv is not None:
        j = len(bv.shape)
    else:                        # the fewest trailing dimensions holding k elements
        j, n = 0, 1
        while j < len(shape) and (n != k or j == 0):
            j += 1
            n *= shape[-j]
    dt = xv.dtype
    if ctx.opset >= 17:
        w = ctx.name(wv) if wv is not None else ctx.const(np.ones(shape[len(shape) - j:],
                                                                  dtype=dt))
        ins = [ctx.input(node, 0), w] + ([ctx.name(bv)] if bv is not None else [])
        # (no trailing empty input for the missing bias: onnxruntime 1.32 crashes on it)
        ctx.emit("LayerNormalization", ins, out, axis=-j, epsilon=eps)
        return
    x, cast = _compute_dtype(ctx, node)
    y = _formula(ctx, x, list(range(len(shape) - j, len(shape))), eps,
                 np.dtype(np.float32) if cast else dt)
    wb = _cast_all(ctx, (ctx.name(wv) if wv is not None else None,
                         ctx.name(bv) if bv is not None else None), cast)
    _finish(ctx, y, wb, out, cast, dt)


def _group_norm(ctx, node, xv, wv, bv, eps, out):
    groups = node.op.layout.shape[1]
    rank = len(xv.shape)
    dt = xv.dtype
    c = xv.shape[1]
    if ctx.opset >= 21 and rank >= 3:
        w = ctx.name(wv) if wv is not None else ctx.const(np.ones(c, dtype=dt))
        b = ctx.name(bv) if bv is not None else ctx.const(np.zeros(c, dtype=dt))
        ctx.emit("GroupNormalization", [ctx.input(node, 0), w, b], out, epsilon=eps,
                 num_groups=int(groups))
        return
    x, cast = _compute_dtype(ctx, node)
    grouped = ctx.emit("Reshape", [x, ctx.int64s([0, groups, -1])])
    y = _formula(ctx, grouped, [2], eps, np.dtype(np.float32) if cast else dt)
    y = ctx.emit("Reshape", [y, ctx.emit("Shape", [ctx.input(node, 0)])])
    w = _per_channel(ctx, wv, rank) if wv is not None else None
    b = _per_channel(ctx, bv, rank) if bv is not None else None
    _finish(ctx, y, _cast_all(ctx, (w, b), cast), out, cast, dt)


@converter(_Normalize)
def normalize(ctx, node):
    """ember's fused normalization: layer, group, instance and batch-statistics batch
    norm, told apart by the op's name and its statistics' axes."""
    op = node.op
    xv = node.inputs[0]
    wv, bv = _value(node, 1), _value(node, 2)
    rank = len(xv.shape)
    out = [ctx.out(node, 0)]
    dt = xv.dtype
    eps = float(op.eps)
    if op._name == "NativeLayerNormBackward0":
        _layer_norm(ctx, node, xv, wv, bv, eps, out)
    elif op._name == "NativeGroupNormBackward0":
        _group_norm(ctx, node, xv, wv, bv, eps, out)
    elif op.layout.axes == (2,) and rank >= 3 and dt != np.float64:
        c = xv.shape[1]
        w = ctx.name(wv) if wv is not None else ctx.const(np.ones(c, dtype=dt))
        b = ctx.name(bv) if bv is not None else ctx.const(np.zeros(c, dtype=dt))
        ctx.emit("InstanceNormalization", [ctx.input(node, 0), w, b], out, epsilon=eps)
    elif op.layout.axes in ((0, 2), (2,)):
        # batch norm with the batch's statistics (F.batch_norm(..., training=True)), and
        # float64 instance norm (onnxruntime's InstanceNormalization is float32 only)
        x, cast = _compute_dtype(ctx, node)
        axes = ([0] if op.layout.axes == (0, 2) else []) + list(range(2, rank))
        y = _formula(ctx, x, axes, eps, np.dtype(np.float32) if cast else dt)
        w = _per_channel(ctx, wv, rank) if wv is not None else None
        b = _per_channel(ctx, bv, rank) if bv is not None else None
        _finish(ctx, y, _cast_all(ctx, (w, b), cast), out, cast, dt)
    else:
        _refuse(ctx, f"normalization over the axes {op.layout.axes} of the view "
                     f"{op.layout.shape} is not recognised")


@converter(_ChannelWindowSum)
def channel_window_sum(ctx, node):
    """``out[:, c] = sum(x[:, c - lo : c + hi + 1])`` (local response norm's window): the
    input viewed as (N, 1, C, rest) and convolved with a ones kernel of height
    ``lo + hi + 1``, zero-padded by (lo, hi)."""
    xv = node.inputs[0]
    lo, hi = int(node.params["lo"]), int(node.params["hi"])
    if 1 in xv.dyn:
        _refuse(ctx, "a channel window sum over a channel count that follows dynamic axes")
    c = xv.shape[1]
    x = ctx.input(node, 0)
    view = ctx.emit("Reshape", [x, ctx.int64s([0, 1, c, -1])])
    kernel = ctx.const(np.ones((1, 1, lo + hi + 1, 1), dtype=xv.dtype))
    s = ctx.emit("Conv", [view, kernel], kernel_shape=[lo + hi + 1, 1], pads=[lo, 0, hi, 0])
    ctx.emit("Reshape", [s, ctx.emit("Shape", [x])], ctx.outputs(node))


# ---------------------------------------------------------------------------------------
# resampling

def _dense(taps, n_in, n_out):
    """The (n_out, n_in) matrix of one dimension's taps."""
    m = np.zeros((n_out, n_in), dtype=np.float64)
    rows = np.arange(n_out)
    for idx, w in taps:
        m[rows, np.asarray(idx)] += 1.0 if w is None else np.asarray(w, dtype=np.float64)
    return m


def _resize_matrix(mode, coord, n_in, n_out):
    """What ONNX Resize computes along one dimension (with ``sizes``: scale = out / in), in
    float32 as onnxruntime does, as an (n_out, n_in) matrix."""
    f32 = np.float32
    scale = f32(n_out) / f32(n_in)
    x = np.arange(n_out, dtype=f32)
    half = f32(0.5)
    with np.errstate(all="ignore"):
        if coord == "asymmetric":
            orig = x / scale
        elif coord == "half_pixel":
            orig = (x + half) / scale - half
        elif coord == "align_corners":
            orig = np.zeros(n_out, f32) if n_out == 1 else \
                x * f32(n_in - 1) / f32(n_out - 1)
        else:
            raise ValueError(coord)
    orig = orig.astype(f32)
    m = np.zeros((n_out, n_in), dtype=np.float64)
    rows = np.arange(n_out)
    if mode == "nearest-floor":
        m[rows, np.clip(np.floor(orig).astype(np.int64), 0, n_in - 1)] = 1
    elif mode == "nearest-round":            # round_prefer_ceil: half away from zero
        r = np.sign(orig) * np.floor(np.abs(orig) + half)
        m[rows, np.clip(r.astype(np.int64), 0, n_in - 1)] = 1
    elif mode == "linear":
        c = np.clip(orig, f32(0), f32(n_in - 1))
        i1 = np.minimum(c.astype(np.int64), n_in - 1)
        i2 = np.minimum(i1 + 1, n_in - 1)
        d1 = np.abs(c - i1.astype(f32))
        d2 = np.abs(c - i2.astype(f32))
        same = i1 == i2
        d1, d2 = np.where(same, half, d1), np.where(same, half, d2)
        np.add.at(m, (rows, i1), d2)
        np.add.at(m, (rows, i2), d1)
    elif mode == "cubic":
        a = f32(-0.75)
        xi = np.floor(orig)
        s = (orig - xi).astype(f32)
        one, two = f32(1), f32(2)

        def near(t):
            return ((a + two) * t - (a + f32(3))) * t * t + one

        def far(t):
            return ((a * t - f32(5) * a) * t + f32(8) * a) * t - f32(4) * a
        coefs = [far(s + one), near(s), near(one - s), far(two - s)]
        base = xi.astype(np.int64)
        for k in range(4):
            np.add.at(m, (rows, np.clip(base + k - 1, 0, n_in - 1)), coefs[k])
    return m


_RESIZE_CANDIDATES = {
    "nearest": [("nearest-floor", "asymmetric", "floor")],
    "nearest-exact": [("nearest-round", "half_pixel", "round_prefer_ceil")],
    "linear": [("linear", "half_pixel", None), ("linear", "align_corners", None),
               ("linear", "asymmetric", None)],
    "cubic": [("cubic", "half_pixel", None), ("cubic", "align_corners", None),
              ("cubic", "asymmetric", None)],
}


def _resample_kind(label):
    if "Aa" in label or "Lanczos" in label:
        return None
    if label.startswith("UpsampleNearestExact"):
        return "nearest-exact"
    if label.startswith("UpsampleNearest"):
        return "nearest"
    if label.startswith(("UpsampleLinear", "UpsampleBilinear", "UpsampleTrilinear")):
        return "linear"
    if label.startswith("UpsampleBicubic"):
        return "cubic"
    return None


def _resize_form(node):
    """The Resize attributes that reproduce this resampling exactly, or None."""
    xv = node.inputs[0]
    if xv.dtype != np.float32 or node.params.get("out_dtype") is not None:
        return None
    kind = _resample_kind(node.params.get("label", node.op.label))
    if kind is None:
        return None
    plans = node.params["plans"]
    outs = node.outputs[0].shape
    for mode, coord, nearest in _RESIZE_CANDIDATES[kind]:
        ok = True
        for axis, n_in, taps in plans:
            n_out = outs[axis]
            if not np.allclose(_dense(taps, n_in, n_out), _resize_matrix(mode, coord, n_in, n_out),
                               rtol=0, atol=1e-5):
                ok = False
                break
        if ok:
            attrs = dict(mode=mode.split("-")[0], coordinate_transformation_mode=coord)
            if nearest:
                attrs["nearest_mode"] = nearest
            if mode == "cubic":
                attrs.update(cubic_coeff_a=-0.75, exclude_outside=0)
            return attrs
    return None


@converter(Resample)
def resample(ctx, node):
    xv = node.inputs[0]
    plans = node.params["plans"]
    outv = node.outputs[0]
    axes = [axis for axis, _, _ in plans]
    if any(ax in xv.dyn or ax in outv.dyn for ax in axes):
        _refuse(ctx, "interpolate: the resampled dimensions follow dynamic axes, but the "
                     "source positions are computed for the traced size; export with those "
                     "dimensions fixed")
    attrs = _resize_form(node)
    x = ctx.input(node, 0)
    if attrs is not None:
        sizes = ctx.shape_of(outv, refs=[xv])
        ctx.emit("Resize", [x, "", "", sizes], ctx.outputs(node), **attrs)
        return
    # exact form: per dimension (last first, as ember), gather the taps and weight them
    out_dtype = node.params.get("out_dtype")
    work_dt = np.dtype(np.float32) if out_dtype is not None else xv.dtype
    y = ctx.cast(x, np.float32) if out_dtype is not None else x
    rank = len(xv.shape)
    steps = [(axis, n_in, taps) for axis, n_in, taps in plans
             if not (len(taps) == 1 and taps[0][1] is None
                     and np.array_equal(taps[0][0], np.arange(n_in))
                     and outv.shape[axis] == n_in)]
    if not steps:
        ctx.emit("Identity", [y], ctx.outputs(node))
        return
    for j, (axis, _, taps) in enumerate(reversed(steps)):
        final = j == len(steps) - 1 and out_dtype is None
        outs = ctx.outputs(node) if final else 1
        if len(taps) == 1 and taps[0][1] is None:
            y = ctx.emit("Gather", [y, ctx.const(np.asarray(taps[0][0], np.int64))], outs,
                         axis=axis)
            continue
        idx = np.stack([np.asarray(t[0], np.int64) for t in taps], axis=1)      # (out, K)
        w = np.stack([np.ones(idx.shape[0]) if t[1] is None else np.asarray(t[1])
                      for t in taps], axis=1).astype(work_dt)
        w = w.reshape(w.shape + (1,) * (rank - 1 - axis))
        g = ctx.emit("Gather", [y, ctx.const(idx)], axis=axis)        # (..., out, K, ...)
        y = ctx.reduce("ReduceSum", ctx.emit("Mul", [g, ctx.const(w)]), [axis + 1],
                       keepdims=False, outputs=outs)
    if out_dtype is not None:
        y = ctx.emit("Clip", [ctx.emit("Round", [y]), ctx.scalar(0, np.float32),
                              ctx.scalar(255, np.float32)])
        ctx.emit("Cast", [y], ctx.outputs(node), to=_onnx_dtype(out_dtype))


# ---------------------------------------------------------------------------------------
# embedding

@converter(RowGather)
def row_gather(ctx, node):
    """``embedding``: rows of the weight picked by the index tensor, a ``Gather`` on axis 0.
    Row weights in the forward (``embedding_bag``'s mean mode) multiply the rows; they are
    laid out per index, so the indices' shape must not follow dynamic axes."""
    if len(node.inputs) < 2 or not isinstance(node.inputs[1], Value):
        _refuse(ctx, "a row gather whose positions were computed in NumPy (grid_sample, "
                     "embedding_bag with max mode) cannot be exported")
    idx = node.inputs[1]
    rw = node.params.get("rw_fwd")
    if rw is None:
        ctx.emit("Gather", [ctx.input(node, 0), ctx.input(node, 1)], ctx.outputs(node), axis=0)
        return
    if idx.dyn:
        _refuse(ctx, "embedding_bag's per-row weights with indices whose shape follows "
                     "dynamic axes")
    rows = ctx.emit("Gather", [ctx.input(node, 0), ctx.input(node, 1)], axis=0)
    out = node.outputs[0]
    w = np.asarray(rw).astype(out.dtype).reshape(np.shape(rw) + (1,) * (len(out.shape)
                                                                        - np.ndim(rw)))
    ctx.emit("Mul", [rows, ctx.const(w)], ctx.outputs(node))
