"""The importer's op table: for each ONNX operator, a function that computes it with ember ops.

``OPS[op_type](inputs, attrs)`` receives

* ``inputs``: one entry per ONNX input, in order: an ember ``Tensor``, ``None`` for an
  omitted optional input, or, for the inputs listed in ``STATIC_INPUTS`` (shapes, axes,
  pads, scales, clip bounds, ...) whose value is known when the model is loaded, the NumPy
  array itself (read once at build time; ``_ints``/``_scalar`` accept either form);
* ``attrs``: an ``Attrs`` dict of the node's attributes as Python values (strings decoded,
  tensors as NumPy arrays) that also carries the model's ``opset``, the node's ``name``, which
  of its ``outputs`` are used, and the ``float_dtype`` requested at load time;

and returns a ``Tensor`` or a tuple of them (``None`` for outputs nobody reads).

Everything is written with ember's public functions and tensor methods, so the imported
model is differentiable end to end (autograd records the ops as they run) and can be exported
again (every op it uses goes through ember's op mechanism). Where an ONNX operator changed
between opsets, the function reads ``attrs.opset``: axes moved from attributes to inputs
(Squeeze/Unsqueeze/Split/ReduceSum at 13, the other reductions at 18), Softmax's meaning
changed at 13 (before: over the flattened trailing axes), GroupNormalization's scale went
from per-group to per-channel at 21, Pad/Clip/TopK/Slice took their values as inputs from
11/11/10/10, Resize gained its coordinate modes at 11 and ``axes``/``antialias``/aspect
policies at 18.

``CHECKS[op_type](attrs)`` returns a reason string for configurations that cannot be
imported (an unknown Resize mode, a Cast to strings), so ``load`` can refuse them all at
once before anything runs.
"""
from __future__ import annotations

import math

import numpy as np

import ember

from .. import _dtype
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..nn import functional as F

__all__ = [
    "BUFFER_INPUTS",
    "CHECKS",
    "NONDETERMINISTIC",
    "OPS",
    "STATIC_INPUTS",
    "Attrs",
    "onnx_to_np_dtype",
]

OPS: dict = {}
CHECKS: dict = {}

# Inputs read as configuration (shapes, axes, sizes, pads, bounds): an initializer used only
# in these slots stays a constant (not a Parameter), and its value is read at build time.
STATIC_INPUTS = {
    "Reshape": {1}, "Unsqueeze": {1}, "Squeeze": {1}, "Slice": {1, 2, 3, 4}, "Expand": {1},
    "Tile": {1}, "ConstantOfShape": {0}, "Pad": {1, 2, 3}, "Resize": {1, 2, 3},
    "Upsample": {1}, "Split": {1}, "TopK": {1}, "Clip": {1, 2}, "CumSum": {1},
    "Range": {0, 1, 2}, "OneHot": {1, 2}, "Dropout": {1, 2}, "Trilu": {1},
    "RNN": {4}, "GRU": {4}, "LSTM": {4},
}
for _r in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
           "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"):
    STATIC_INPUTS[_r] = {1}

# Float inputs that are state but not trainable: initializers used only here become buffers.
BUFFER_INPUTS = {"BatchNormalization": {3, 4}}

# Ops never evaluated at load time even when all their inputs are constants.
NONDETERMINISTIC = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                    "Bernoulli", "Multinomial", "Dropout"}


class Attrs(dict):
    """A node's attributes plus what its op function needs to know about the node."""

    def __init__(self, values, *, op_type="", name="", opset=0, outputs=(True,),
                 float_dtype=None):
        super().__init__(values)
        self.op_type = op_type
        self.name = name
        self.opset = opset
        self.outputs = tuple(outputs)     # which outputs are used (True) or omitted
        self.float_dtype = float_dtype    # the dtype= given to load, or None

    def wants(self, i: int) -> bool:
        return i < len(self.outputs) and self.outputs[i]


def op(*names, check=None):
    """Register the decorated function for the ONNX op types ``names``."""
    def register(fn):
        for n in names:
            OPS[n] = fn
            if check is not None:
                CHECKS[n] = check
        return fn
    return register


# ---------------------------------------------------------------------------------------
# helpers

def _get(ins, i):
    return ins[i] if i < len(ins) else None


def _np(v) -> np.ndarray:
    """The value of a static input (a NumPy array or a tensor) as an array."""
    if isinstance(v, Tensor):
        return np.asarray(v.tolist(), dtype=v.dtype.np)
    return np.asarray(v)


def _ints(v) -> list:
    return [int(i) for i in _np(v).reshape(-1)]


def _scalar(v):
    return _np(v).reshape(-1)[0].item()


def _const(arr) -> Tensor:
    """An ember tensor holding a copy of ``arr`` (a constant of the graph)."""
    return ember.from_numpy(np.array(arr, copy=True))


def _edtype(np_dtype):
    return _dtype.NP_TO_DTYPE[np.dtype(np_dtype)]


def onnx_to_np_dtype(elem_type: int) -> np.dtype:
    """The NumPy dtype of ONNX tensor type ``elem_type`` (raises TypeError if ember has
    no such dtype)."""
    from onnx import helper
    try:
        dt = np.dtype(helper.tensor_dtype_to_np_dtype(elem_type))
    except Exception:                       # noqa: BLE001 - onnx raises several kinds
        dt = None
    if dt is None or dt not in _dtype.NP_TO_DTYPE or dt.kind in "OSU":
        from onnx import TensorProto
        raise TypeError(f"ONNX type {TensorProto.DataType.Name(elem_type)} has no ember dtype")
    return dt


def _float_dtype(np_dtype, attrs):
    """``np_dtype``, or the requested ``float_dtype`` for floating types."""
    edt = _edtype(np_dtype)
    if attrs.float_dtype is not None and edt.is_floating_point:
        return attrs.float_dtype
    return edt


def _axis(a: int, rank: int) -> int:
    return a + rank if a < 0 else a


def _prod(values) -> int:
    p = 1
    for v in values:
        p *= int(v)
    return p


# ---------------------------------------------------------------------------------------
# elementwise

def _unary(fn):
    return lambda ins, attrs: fn(ins[0])


for _name, _fn in {
        "Neg": ember.neg, "Abs": ember.abs, "Sqrt": ember.sqrt, "Exp": ember.exp,
        "Log": ember.log, "Reciprocal": ember.reciprocal, "Floor": ember.floor,
        "Ceil": ember.ceil, "Round": ember.round, "Sign": ember.sign, "Sin": ember.sin,
        "Cos": ember.cos, "Tan": ember.tan, "Asin": ember.asin, "Acos": ember.acos,
        "Atan": ember.atan, "Sinh": ember.sinh, "Cosh": ember.cosh, "Asinh": ember.asinh,
        "Acosh": ember.acosh, "Atanh": ember.atanh, "Erf": ember.erf,
        "Sigmoid": ember.sigmoid, "Tanh": ember.tanh, "Relu": F.relu,
        "Softsign": F.softsign, "Softplus": F.softplus, "Mish": F.mish,
        "HardSwish": F.hardswish, "IsNaN": ember.isnan, "Not": ember.logical_not,
        "BitwiseNot": ember.bitwise_not, "Identity": lambda x: x}.items():
    OPS[_name] = _unary(_fn)


def _binary(fn):
    return lambda ins, attrs: fn(ins[0], ins[1])


for _name, _fn in {
        "Add": ember.add, "Sub": ember.sub, "Mul": ember.mul,
        "Equal": ember.eq, "Less": ember.lt, "LessOrEqual": ember.le, "Greater": ember.gt,
        "GreaterOrEqual": ember.ge, "And": ember.logical_and, "Or": ember.logical_or,
        "Xor": ember.logical_xor, "BitwiseAnd": ember.bitwise_and,
        "BitwiseOr": ember.bitwise_or, "BitwiseXor": ember.bitwise_xor}.items():
    OPS[_name] = _binary(_fn)


@op("Div")
def div(ins, attrs):
    a, b = ins[0], ins[1]
    if a.dtype.is_floating_point or b.dtype.is_floating_point:
        return a / b
    return ember.div(a, b, rounding_mode="trunc")     # C semantics, as onnxruntime


@op("Pow")
def pow_(ins, attrs):
    a, b = ins[0], ins[1]
    y = ember.pow(a, b)
    return y if y.dtype == a.dtype else y.to(a.dtype)   # ONNX: the base's type


@op("Mod")
def mod(ins, attrs):
    if attrs.get("fmod", 0):
        return ember.fmod(ins[0], ins[1])           # the sign of the dividend (C fmod)
    return ember.remainder(ins[0], ins[1])          # the sign of the divisor (Python %)


@op("BitShift")
def bit_shift(ins, attrs):
    if attrs.get("direction") == "LEFT":
        return ember.bitwise_left_shift(ins[0], ins[1])
    return ember.bitwise_right_shift(ins[0], ins[1])


@op("IsInf")
def is_inf(ins, attrs):
    x = ins[0]
    neg, pos = attrs.get("detect_negative", 1), attrs.get("detect_positive", 1)
    if neg and pos:
        return ember.isinf(x)
    if pos:
        return ember.isposinf(x)
    if neg:
        return ember.isneginf(x)
    return ember.zeros_like(x, dtype=ember.bool)


@op("Sum", "Mean", "Max", "Min")
def variadic(ins, attrs):
    combine = {"Sum": ember.add, "Mean": ember.add, "Max": ember.maximum,
               "Min": ember.minimum}[attrs.op_type]
    y = ins[0]
    for x in ins[1:]:
        y = combine(y, x)
    if attrs.op_type == "Mean":
        y = y / len(ins)
    return y


@op("Where")
def where(ins, attrs):
    return ember.where(ins[0], ins[1], ins[2])


@op("Clip")
def clip(ins, attrs):
    x = ins[0]
    if attrs.opset < 11:
        lo, hi = attrs.get("min"), attrs.get("max")
    else:
        lo, hi = _get(ins, 1), _get(ins, 2)
        lo = lo if isinstance(lo, Tensor) or lo is None else _scalar(lo)
        hi = hi if isinstance(hi, Tensor) or hi is None else _scalar(hi)
    if lo is None and hi is None:
        return x
    return ember.clamp(x, min=lo, max=hi)


# ---------------------------------------------------------------------------------------
# activations

@op("LeakyRelu")
def leaky_relu(ins, attrs):
    return F.leaky_relu(ins[0], attrs.get("alpha", 0.01))


@op("Elu")
def elu(ins, attrs):
    return F.elu(ins[0], attrs.get("alpha", 1.0))


@op("Celu")
def celu(ins, attrs):
    return F.celu(ins[0], attrs.get("alpha", 1.0))


@op("Selu")
def selu(ins, attrs):
    alpha = attrs.get("alpha", 1.67326319217681884765625)
    gamma = attrs.get("gamma", 1.05070102214813232421875)
    return F.elu(ins[0], alpha) * gamma


@op("ThresholdedRelu")
def thresholded_relu(ins, attrs):
    return F.threshold(ins[0], attrs.get("alpha", 1.0), 0.0)


@op("HardSigmoid")
def hard_sigmoid(ins, attrs):
    return ember.clamp(ins[0] * attrs.get("alpha", 0.2) + attrs.get("beta", 0.5), 0.0, 1.0)


@op("Gelu")
def gelu(ins, attrs):
    return F.gelu(ins[0], approximate=attrs.get("approximate", "none"))


@op("PRelu")
def prelu(ins, attrs):
    x, slope = ins[0], ins[1]
    return ember.where(x < 0, x * slope, x)        # slope broadcasts (unidirectionally)


@op("Shrink")
def shrink(ins, attrs):
    x = ins[0]
    lambd, bias = attrs.get("lambd", 0.5), attrs.get("bias", 0.0)
    return ember.where(x < -lambd, x + bias, ember.where(x > lambd, x - bias,
                                                            ember.zeros_like(x)))


def _flat2d(x, axis):
    """Softmax before opset 13: over the trailing axes from ``axis``, flattened."""
    axis = _axis(axis, x.dim())
    return x.reshape(_prod(x.shape[:axis]), _prod(x.shape[axis:]))


@op("Softmax", "LogSoftmax", "Hardmax")
def softmax(ins, attrs):
    x = ins[0]
    kind = attrs.op_type
    if attrs.opset < 13:
        y = _softmax_axis(_flat2d(x, attrs.get("axis", 1)), 1, kind)
        return y.reshape(x.shape)
    return _softmax_axis(x, _axis(attrs.get("axis", -1), x.dim()), kind)


def _softmax_axis(x, axis, kind):
    if kind == "Softmax":
        return F.softmax(x, axis)
    if kind == "LogSoftmax":
        return F.log_softmax(x, axis)
    n = x.shape[axis]                                       # Hardmax: one-hot of argmax
    idx = x.argmax(dim=axis, keepdim=True)
    shape = [1] * x.dim()
    shape[axis] = n
    return (ember.arange(n).reshape(shape) == idx).to(x.dtype)


@op("LpNormalization")
def lp_normalization(ins, attrs):
    x = ins[0]
    axis, p = attrs.get("axis", -1), attrs.get("p", 2)
    if p == 1:
        norm = x.abs().sum(dim=axis, keepdim=True)
    else:
        norm = (x * x).sum(dim=axis, keepdim=True).sqrt()
    return x / norm


@op("MeanVarianceNormalization")
def mean_variance_normalization(ins, attrs):
    x = ins[0]
    axes = tuple(_axis(a, x.dim()) for a in attrs.get("axes", [0, 2, 3]))
    mean = x.mean(dim=axes, keepdim=True)
    centered = x - mean
    var = (centered * centered).mean(dim=axes, keepdim=True)
    return centered / (var.sqrt() + 1e-9)


# ---------------------------------------------------------------------------------------
# linear algebra

@op("MatMul")
def matmul(ins, attrs):
    a, b = ins[0], ins[1]
    if b.dim() == 2 and a.dim() >= 1 and a.dtype.is_floating_point:
        return F.linear(a, b.t())       # the common case: one fused op, exported as Gemm
    return ember.matmul(a, b)


@op("Gemm")
def gemm(ins, attrs):
    """``alpha * A' @ B' + beta * C`` as ``linear`` (ember's fused matrix product)."""
    a, b, c = ins[0], ins[1], _get(ins, 2)
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    if attrs.get("transA", 0):
        a = a.t()
    weight = b if attrs.get("transB", 0) else b.t()          # linear's (out, in) layout
    if c is not None and alpha == 1.0 and beta == 1.0 and c.dim() == 1 and \
            c.shape[0] == weight.shape[0]:
        return F.linear(a, weight, c)
    y = F.linear(a, weight)
    if alpha != 1.0:
        y = y * alpha
    if c is not None:
        y = y + (c * beta if beta != 1.0 else c)
    return y


@op("Einsum")
def einsum(ins, attrs):
    return ember.einsum(attrs["equation"].replace(" ", ""), *ins)


@op("Det")
def det(ins, attrs):
    return ember.linalg.det(ins[0])


# ---------------------------------------------------------------------------------------
# convolution and pooling

def _spatial_attr(attrs, key, nd, default):
    v = attrs.get(key)
    return list(v) if v is not None else [default] * nd


def _auto_pads(attrs, in_sp, kernel, strides, dilations):
    """``(begins, ends)`` of the spatial padding of Conv and the pools, ``auto_pad``
    included: SAME_* gives ``ceil(in / stride)`` outputs, the odd pixel at the end
    (UPPER) or the beginning (LOWER)."""
    nd = len(in_sp)
    mode = attrs.get("auto_pad", "NOTSET")
    if mode in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for n, k, s, d in zip(in_sp, kernel, strides, dilations):
            out = -(-n // s)
            total = max(0, (out - 1) * s + (k - 1) * d + 1 - n)
            small = total // 2
            begins.append(small if mode == "SAME_UPPER" else total - small)
            ends.append(total - small if mode == "SAME_UPPER" else small)
        return begins, ends
    if mode == "VALID":
        return [0] * nd, [0] * nd
    pads = attrs.get("pads") or [0] * (2 * nd)
    return list(pads[:nd]), list(pads[nd:])


def _torch_pad(begins, ends):
    """F.pad's order (last axis first) for spatial pads ``begins``/``ends``."""
    out = []
    for b, e in zip(reversed(begins), reversed(ends)):
        out += [b, e]
    return out


def _check_conv(attrs):
    k = attrs.get("kernel_shape")
    if k is not None and not 1 <= len(k) <= 3:
        return f"{len(k)}-d kernels are not supported (1-d to 3-d are)"
    return None


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@op("Conv", check=_check_conv)
def conv(ins, attrs):
    x, w, b = ins[0], ins[1], _get(ins, 2)
    nd = w.dim() - 2
    if nd not in _CONV:
        raise ValueError(f"Conv: {nd}-d convolution is not supported")
    kernel = list(w.shape[2:])
    strides = _spatial_attr(attrs, "strides", nd, 1)
    dilations = _spatial_attr(attrs, "dilations", nd, 1)
    begins, ends = _auto_pads(attrs, x.shape[2:], kernel, strides, dilations)
    if begins != ends:
        x = F.pad(x, _torch_pad(begins, ends))
        begins = [0] * nd
    return _CONV[nd](x, w, b, stride=strides, padding=begins, dilation=dilations,
                     groups=attrs.get("group", 1))


@op("ConvTranspose", check=_check_conv)
def conv_transpose(ins, attrs):
    x, w, b = ins[0], ins[1], _get(ins, 2)
    nd = w.dim() - 2
    if nd not in _CONV_T:
        raise ValueError(f"ConvTranspose: {nd}-d convolution is not supported")
    in_sp = list(x.shape[2:])
    strides = _spatial_attr(attrs, "strides", nd, 1)
    dilations = _spatial_attr(attrs, "dilations", nd, 1)
    out_pad = _spatial_attr(attrs, "output_padding", nd, 0)
    groups = attrs.get("group", 1)
    kext = [(k - 1) * d + 1 for k, d in zip(w.shape[2:], dilations)]
    full = [s * (n - 1) + k for s, n, k in zip(strides, in_sp, kext)]   # no pads at all
    mode = attrs.get("auto_pad", "NOTSET")
    out_shape = attrs.get("output_shape")
    if out_shape is None and mode in ("SAME_UPPER", "SAME_LOWER"):
        out_shape = [n * s for n, s in zip(in_sp, strides)]
    if out_shape is not None:
        out_shape = list(out_shape)[-nd:]
        begins, ends = [], []
        for f, op_, o in zip(full, out_pad, out_shape):
            total = f + op_ - o
            if total < 0:                   # a larger output: zeros (and bias) at the end
                begins.append(0)
                ends.append(total)
                continue
            # onnxruntime: the odd pixel at the end with SAME_UPPER, else at the beginning
            head = total // 2 if mode == "SAME_UPPER" else total - total // 2
            begins.append(head)
            ends.append(total - head)
    elif mode == "VALID":
        begins, ends = [0] * nd, [0] * nd
    else:
        pads = attrs.get("pads") or [0] * (2 * nd)
        begins, ends = list(pads[:nd]), list(pads[nd:])
    fast = begins == ends and all(p < max(s, d) for p, s, d in zip(out_pad, strides,
                                                                      dilations))
    fast = fast and min(begins, default=0) >= 0
    if fast:
        return _CONV_T[nd](x, w, b, stride=strides, padding=begins, output_padding=out_pad,
                           groups=groups, dilation=dilations)
    y = _CONV_T[nd](x, w, None, stride=strides, padding=0, groups=groups,
                    dilation=dilations)
    # crop the pads (and grow by output_padding) along each spatial axis
    index = [slice(None), slice(None)]
    grow = []
    for f, bgn, end, op_ in zip(full, begins, ends, out_pad):
        stop = f - end + op_
        index.append(slice(bgn, min(stop, f)))
        grow.append(max(0, stop - f))
    y = y[tuple(index)]
    if any(grow):
        y = F.pad(y, _torch_pad([0] * nd, grow))
    if b is not None:
        y = y + b.reshape([1, -1] + [1] * nd)
    return y


def _pool_geometry(x, attrs):
    nd = x.dim() - 2
    kernel = list(attrs["kernel_shape"])
    strides = _spatial_attr(attrs, "strides", nd, 1)
    dilations = _spatial_attr(attrs, "dilations", nd, 1)
    begins, ends = _auto_pads(attrs, x.shape[2:], kernel, strides, dilations)
    return nd, kernel, strides, dilations, begins, ends


def _pool_out(n, k, s, d, b, e, ceil_mode):
    """onnxruntime's output size: with ceil_mode, a last window that would start beyond
    the input and its leading padding is dropped (as PyTorch does)."""
    span = n + b + e - ((k - 1) * d + 1)
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + b:
        out -= 1
    return out


def _pad_exact(x, begins, ends_needed, value):
    """Pad (or crop, for negative amounts) the spatial axes of ``x``."""
    crop = [slice(None), slice(None)]
    for b, e, n in zip(begins, ends_needed, x.shape[2:]):
        crop.append(slice(max(0, -b), n - max(0, -e)))
    if any(b < 0 for b in begins) or any(e < 0 for e in ends_needed):
        x = x[tuple(crop)]
    pos_b = [max(0, b) for b in begins]
    pos_e = [max(0, e) for e in ends_needed]
    if any(pos_b) or any(pos_e):
        x = F.pad(x, _torch_pad(pos_b, pos_e), value=value)
    return x


def _check_pool(attrs):
    k = attrs.get("kernel_shape")
    if k is None:
        return "kernel_shape is required"
    if not 1 <= len(k) <= 3:
        return f"{len(k)}-d pooling is not supported (1-d to 3-d are)"
    if attrs.get("storage_order", 0) and attrs.op_type == "MaxPool" and attrs.wants(1):
        return "storage_order=1 (column-major indices) is not supported"
    return None


_MAXPOOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVGPOOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


@op("MaxPool", check=_check_pool)
def max_pool(ins, attrs):
    x = ins[0]
    nd, kernel, strides, dilations, begins, ends = _pool_geometry(x, attrs)
    ceil_mode = bool(attrs.get("ceil_mode", 0))
    want_idx = attrs.wants(1)
    fast = begins == ends and all(p <= k // 2 for p, k in zip(begins, kernel))
    if fast:
        res = _MAXPOOL[nd](x, kernel, strides, begins, dilations, ceil_mode=ceil_mode,
                           return_indices=want_idx)
        if not want_idx:
            return res
        y, idx, in_sp = res[0], res[1], list(x.shape[2:])
    else:
        outs = [_pool_out(n, k, s, d, b, e, ceil_mode) for n, k, s, d, b, e in
                zip(x.shape[2:], kernel, strides, dilations, begins, ends)]
        need = [(o - 1) * s + (k - 1) * d + 1 - n - b for o, s, k, d, n, b in
                zip(outs, strides, kernel, dilations, x.shape[2:], begins)]
        fill = float("-inf") if x.dtype.is_floating_point else int(ember.iinfo(x.dtype).min)
        xp = _pad_exact(x, begins, need, fill)
        res = _MAXPOOL[nd](xp, kernel, strides, 0, dilations, return_indices=want_idx)
        if not want_idx:
            return res
        y, idx = res
        # indices into the padded plane -> indices into the input plane
        pad_sp = list(xp.shape[2:])
        coords, rest = [], idx
        for n in reversed(pad_sp):
            coords.append(rest % n)
            rest = rest // n
        coords.reverse()
        idx = None
        for c, b, n in zip(coords, begins, x.shape[2:]):
            c = c - b
            idx = c if idx is None else idx * n + c
        in_sp = list(x.shape[2:])
    # ONNX indices count over the whole tensor (N, C, spatial), PyTorch's per plane
    plane = _prod(in_sp)
    n_planes = x.shape[0] * x.shape[1]
    base = (ember.arange(n_planes, dtype=ember.int64) * plane).reshape(
        [x.shape[0], x.shape[1]] + [1] * nd)
    return y, idx + base


@op("AveragePool", check=_check_pool)
def average_pool(ins, attrs):
    x = ins[0]
    nd, kernel, strides, dilations, begins, ends = _pool_geometry(x, attrs)
    ceil_mode = bool(attrs.get("ceil_mode", 0))
    include = bool(attrs.get("count_include_pad", 0))
    if begins == ends and all(p <= k // 2 for p, k in zip(begins, kernel)) and \
            all(d == 1 for d in dilations):
        return _AVGPOOL[nd](x, kernel, strides, begins, ceil_mode=ceil_mode,
                            count_include_pad=include)
    in_sp = list(x.shape[2:])
    outs = [_pool_out(n, k, s, d, b, e, ceil_mode) for n, k, s, d, b, e in
            zip(in_sp, kernel, strides, dilations, begins, ends)]
    need = [(o - 1) * s + (k - 1) * d + 1 - n - b for o, s, k, d, n, b in
            zip(outs, strides, kernel, dilations, in_sp, begins)]
    xp = _pad_exact(x, begins, need, 0.0)
    total = _window_sum(xp, kernel, strides, dilations, outs)
    # the divisor: the input elements in each window, plus the explicit pads with
    # count_include_pad (never the part of a ceil_mode window beyond the pads)
    if include:
        ones = ember.ones([1, 1] + [n + b + e for n, b, e in zip(in_sp, begins, ends)],
                          dtype=x.dtype)
        mask = _pad_exact(ones, [0] * nd, [nd_ - e for nd_, e in zip(need, ends)], 0.0)
    else:
        mask = _pad_exact(ember.ones([1, 1] + in_sp, dtype=x.dtype), begins, need, 0.0)
    count = _window_sum(mask, kernel, strides, dilations, outs)
    return total / count


def _window_sum(xp, kernel, strides, dilations, outs):
    """Sum over each pooling window of the (already padded) ``xp``: one strided slice per
    kernel offset, added up (works for any dilation)."""
    total = None
    for offset in np.ndindex(*kernel):
        index = [slice(None), slice(None)]
        for o, s, d, n in zip(offset, strides, dilations, outs):
            index.append(slice(o * d, o * d + (n - 1) * s + 1, s))
        part = xp[tuple(index)]
        total = part if total is None else total + part
    return total


@op("GlobalAveragePool")
def global_average_pool(ins, attrs):
    x = ins[0]
    return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)


@op("GlobalMaxPool")
def global_max_pool(ins, attrs):
    x = ins[0]
    return ember.amax(x, dim=tuple(range(2, x.dim())), keepdim=True)


@op("GlobalLpPool")
def global_lp_pool(ins, attrs):
    x = ins[0]
    p = attrs.get("p", 2)
    dims = tuple(range(2, x.dim()))
    return (x.abs() ** p).sum(dim=dims, keepdim=True) ** (1.0 / p)


# ---------------------------------------------------------------------------------------
# normalization

@op("BatchNormalization")
def batch_normalization(ins, attrs):
    x, scale, bias, mean, var = ins[:5]
    eps = attrs.get("epsilon", 1e-5)
    scale, bias = scale.to(x.dtype), bias.to(x.dtype)
    if not attrs.get("training_mode", 0):
        return F.batch_norm(x, mean.to(x.dtype), var.to(x.dtype), scale, bias,
                            training=False, eps=eps)
    # training mode (opset 14+): batch statistics, and the updated running statistics
    momentum = attrs.get("momentum", 0.9)
    dims = tuple(d for d in range(x.dim()) if d != 1)
    y = F.batch_norm(x, None, None, scale, bias, training=True, eps=eps)
    batch_mean = x.mean(dim=dims)
    batch_var = x.var(dim=dims, unbiased=False)
    return (y, mean * momentum + batch_mean * (1 - momentum),
            var * momentum + batch_var * (1 - momentum))


@op("InstanceNormalization")
def instance_normalization(ins, attrs):
    x, scale, bias = ins[:3]
    return F.instance_norm(x, weight=scale, bias=bias, eps=attrs.get("epsilon", 1e-5))


@op("LayerNormalization")
def layer_normalization(ins, attrs):
    x, scale, bias = ins[0], ins[1], _get(ins, 2)
    eps = attrs.get("epsilon", 1e-5)
    axis = _axis(attrs.get("axis", -1), x.dim())
    shape = list(x.shape[axis:])
    if list(scale.shape) == shape and (bias is None or list(bias.shape) == shape):
        y = F.layer_norm(x, shape, scale, bias, eps)
    else:                                   # scale/bias that broadcast to the shape
        y = F.layer_norm(x, shape, None, None, eps) * scale
        if bias is not None:
            y = y + bias
    if not (attrs.wants(1) or attrs.wants(2)):
        return y
    dims = tuple(range(axis, x.dim()))
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    return y, mean, 1.0 / (var + eps).sqrt()


@op("GroupNormalization")
def group_normalization(ins, attrs):
    x, scale, bias = ins[:3]
    groups = attrs["num_groups"]
    eps = attrs.get("epsilon", 1e-5)
    channels = x.shape[1]
    if attrs.opset >= 21 or scale.numel() == channels:
        return F.group_norm(x, groups, scale, bias, eps)
    # opset 18: scale and bias hold one value per group
    y = F.group_norm(x, groups, None, None, eps)
    shape = [1, channels] + [1] * (x.dim() - 2)
    per = channels // groups
    return y * scale.repeat_interleave(per).reshape(shape) + \
        bias.repeat_interleave(per).reshape(shape)


@op("LRN")
def lrn(ins, attrs):
    x = ins[0]
    size = attrs["size"]
    alpha, beta, bias = attrs.get("alpha", 1e-4), attrs.get("beta", 0.75), \
        attrs.get("bias", 1.0)
    # the window over channels is [c - floor((size-1)/2), c + ceil((size-1)/2)]
    front = (size - 1) // 2
    back = size - 1 - front
    sq = x * x
    padded = F.pad(sq, [0, 0] * (x.dim() - 2) + [front, back])
    channels = x.shape[1]
    total = None
    for i in range(size):
        part = padded[:, i:i + channels]
        total = part if total is None else total + part
    return x / (total * (alpha / size) + bias) ** beta


@op("Dropout")
def dropout(ins, attrs):
    x = ins[0]
    training = _get(ins, 2)
    ratio = _get(ins, 1)
    ratio = attrs.get("ratio", 0.5) if ratio is None else _scalar(ratio)
    if training is not None and bool(_scalar(training)) and ratio > 0:
        keep = ember.rand_like(x) >= ratio
        y = x * keep.to(x.dtype) / (1.0 - ratio)
        return y, keep
    if attrs.wants(1):          # nothing dropped; before opset 12 onnxruntime says False
        fill = ember.ones_like if attrs.opset >= 12 else ember.zeros_like
        return x, fill(x, dtype=ember.bool)
    return x


# ---------------------------------------------------------------------------------------
# shapes

@op("Reshape")
def reshape(ins, attrs):
    x = ins[0]
    shape = _ints(ins[1]) if len(ins) > 1 else list(attrs["shape"])
    if not attrs.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


@op("Flatten")
def flatten(ins, attrs):
    x = ins[0]
    axis = _axis(attrs.get("axis", 1), x.dim())
    return x.reshape(_prod(x.shape[:axis]), _prod(x.shape[axis:]))


@op("Transpose")
def transpose(ins, attrs):
    x = ins[0]
    perm = attrs.get("perm") or list(range(x.dim()))[::-1]
    return x.permute(*perm)


def _axes_arg(ins, attrs, index, since):
    """Axes given as an attribute before opset ``since``, as input ``index`` from it."""
    if attrs.opset >= since:
        v = _get(ins, index)
        return None if v is None else _ints(v)
    v = attrs.get("axes")
    return None if v is None else list(v)


@op("Squeeze")
def squeeze(ins, attrs):
    x = ins[0]
    axes = _axes_arg(ins, attrs, 1, 13)
    if axes is None:
        axes = [i for i, n in enumerate(x.shape) if n == 1]
    for a in sorted((_axis(a, x.dim()) for a in axes), reverse=True):
        x = x.squeeze(a)
    return x


@op("Unsqueeze")
def unsqueeze(ins, attrs):
    x = ins[0]
    axes = _axes_arg(ins, attrs, 1, 13)
    rank = x.dim() + len(axes)
    for a in sorted(_axis(a, rank) for a in axes):
        x = x.unsqueeze(a)
    return x


@op("Concat")
def concat(ins, attrs):
    return ember.cat([t for t in ins if t is not None], dim=attrs["axis"])


@op("Split")
def split(ins, attrs):
    x = ins[0]
    axis = _axis(attrs.get("axis", 0), x.dim())
    n = x.shape[axis]
    sizes = _axes_arg(ins, attrs, 1, 13) if attrs.opset >= 13 else attrs.get("split")
    if sizes is None and attrs.opset < 13 and len(ins) > 1 and ins[1] is not None:
        sizes = _ints(ins[1])                     # opset 2-12 also accepted an input
    if sizes is None:
        parts = attrs.get("num_outputs") or len(attrs.outputs)
        chunk = -(-n // parts)
        sizes = [chunk] * (parts - 1) + [n - chunk * (parts - 1)]
    return tuple(ember.split(x, list(sizes), dim=axis))


def _slice_bounds(start, end, step, n):
    """ONNX's clamping of Slice's start/end for an axis of length ``n``."""
    if start < 0:
        start += n
    if end < 0:
        end += n
    if step > 0:
        return min(max(start, 0), n), min(max(end, 0), n)
    return min(max(start, 0), n - 1), min(max(end, -1), n - 1)


@op("Slice")
def slice_(ins, attrs):
    x = ins[0]
    if attrs.opset < 10:
        starts, ends = list(attrs["starts"]), list(attrs["ends"])
        axes, steps = attrs.get("axes"), None
    else:
        starts, ends = _ints(ins[1]), _ints(ins[2])
        axes = _get(ins, 3)
        axes = None if axes is None else _ints(axes)
        steps = _get(ins, 4)
        steps = None if steps is None else _ints(steps)
    axes = list(range(len(starts))) if axes is None else [_axis(a, x.dim()) for a in axes]
    steps = steps or [1] * len(starts)
    index = [slice(None)] * x.dim()
    backwards = []
    for a, s, e, st in zip(axes, starts, ends, steps):
        n = x.shape[a]
        s, e = _slice_bounds(s, e, st, n)
        if st > 0:
            index[a] = slice(s, max(s, e), st)
        else:
            backwards.append((a, s, e, st))
    if any(i != slice(None) for i in index):
        x = x[tuple(index)]
    for a, s, e, st in backwards:
        n = x.shape[a]
        positions = range(s, e, st)
        sub = [slice(None)] * x.dim()
        if len(positions) == 0:
            sub[a] = slice(0, 0)
            x = x[tuple(sub)]
            continue
        # x[s:e:st] with st < 0 is flip(x)[n-1-s :: -st] (up to the last position)
        first, last = n - 1 - positions[0], n - 1 - positions[-1]
        sub[a] = slice(first, last + 1, -st)
        x = x.flip(a)[tuple(sub)]
    return x


@op("Expand")
def expand(ins, attrs):
    x = ins[0]
    shape = np.broadcast_shapes(tuple(x.shape), tuple(_ints(ins[1])))   # bidirectional
    return x.expand(*shape)


@op("Tile")
def tile(ins, attrs):
    return ins[0].repeat(*_ints(ins[1]))


@op("Shape")
def shape_(ins, attrs):
    dims = list(ins[0].shape)[attrs.get("start", 0):attrs.get("end", None)]
    return _const(np.asarray(dims, dtype=np.int64))


@op("Size")
def size_(ins, attrs):
    return _const(np.asarray(ins[0].numel(), dtype=np.int64))


@op("ConstantOfShape")
def constant_of_shape(ins, attrs):
    value = attrs.get("value")
    value = np.zeros(1, np.float32) if value is None else np.asarray(value)
    shape = _ints(ins[0])
    dtype = _float_dtype(value.dtype, attrs)
    return ember.full(shape, value.reshape(-1)[0].item(), dtype=dtype)


def _constant_value(attrs):
    if "value" in attrs:
        return np.asarray(attrs["value"])
    if "value_float" in attrs:
        return np.asarray(attrs["value_float"], dtype=np.float32)
    if "value_floats" in attrs:
        return np.asarray(attrs["value_floats"], dtype=np.float32)
    if "value_int" in attrs:
        return np.asarray(attrs["value_int"], dtype=np.int64)
    if "value_ints" in attrs:
        return np.asarray(attrs["value_ints"], dtype=np.int64)
    return None


def _check_constant(attrs):
    if _constant_value(attrs) is None:
        keys = ", ".join(sorted(attrs)) or "none"
        return f"only numeric tensor values are supported (attributes: {keys})"
    value = _constant_value(attrs)
    if value.dtype.kind in "OSU" or value.dtype not in _dtype.NP_TO_DTYPE:
        return f"values of type {value.dtype} are not supported"
    return None


@op("Constant", check=_check_constant)
def constant(ins, attrs):
    value = _constant_value(attrs)
    dt = _float_dtype(value.dtype, attrs)
    return _const(value.astype(dt.np))


def _check_cast(attrs):
    try:
        onnx_to_np_dtype(attrs["to"])
    except TypeError as e:
        return str(e)
    return None


@op("Cast", check=_check_cast)
def cast(ins, attrs):
    dt = _float_dtype(onnx_to_np_dtype(attrs["to"]), attrs)
    x = ins[0]
    return x if x.dtype == dt else x.to(dt)


@op("CastLike")
def cast_like(ins, attrs):
    return ins[0].to(ins[1].dtype)


@op("EyeLike")
def eye_like(ins, attrs):
    x = ins[0]
    dt = x.dtype.np if "dtype" not in attrs else onnx_to_np_dtype(attrs["dtype"])
    eye = np.eye(x.shape[0], x.shape[1], attrs.get("k", 0), dtype=dt)
    return _const(eye).to(_float_dtype(dt, attrs))


@op("Range")
def range_(ins, attrs):
    first = ins[0]
    dt = first.dtype if isinstance(first, Tensor) else _edtype(_np(first).dtype)
    start, limit, delta = (_scalar(v) for v in ins[:3])
    n = max(math.ceil((limit - start) / delta), 0)
    if dt.is_floating_point:            # start + i * delta, in the tensors' type
        steps = np.arange(n, dtype=dt.np) * np.asarray(delta, dt.np) + np.asarray(start, dt.np)
        return _const(steps.astype(dt.np))
    return ember.arange(start, start + n * delta, delta, dtype=dt)[:n]


@op("DepthToSpace")
def depth_to_space(ins, attrs):
    x = ins[0]
    b = attrs["blocksize"]
    n, c, h, w = x.shape
    if attrs.get("mode", "DCR") == "CRD":
        y = x.reshape(n, c // (b * b), b, b, h, w).permute(0, 1, 4, 2, 5, 3)
    else:
        y = x.reshape(n, b, b, c // (b * b), h, w).permute(0, 3, 4, 1, 5, 2)
    return y.reshape(n, c // (b * b), h * b, w * b)


@op("SpaceToDepth")
def space_to_depth(ins, attrs):
    x = ins[0]
    b = attrs["blocksize"]
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // b, b, w // b, b).permute(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


@op("Trilu")
def trilu(ins, attrs):
    k = _get(ins, 1)
    k = 0 if k is None else int(_scalar(k))
    if attrs.get("upper", 1):
        return ember.triu(ins[0], k)
    return ember.tril(ins[0], k)


# ---------------------------------------------------------------------------------------
# indexing

def _index_tensor(idx, n):
    """Indices as an int64 tensor with negative values counted from the end."""
    if not isinstance(idx, Tensor):
        arr = _np(idx).astype(np.int64)
        return _const(np.where(arr < 0, arr + n, arr))
    idx = idx.to(ember.int64) if idx.dtype != ember.int64 else idx
    return ember.where(idx < 0, idx + n, idx)


@op("Gather")
def gather(ins, attrs):
    x, idx = ins[0], ins[1]
    axis = _axis(attrs.get("axis", 0), x.dim())
    idx = _index_tensor(idx, x.shape[axis])
    out_shape = list(x.shape[:axis]) + list(idx.shape) + list(x.shape[axis + 1:])
    return x.index_select(axis, idx.reshape(-1)).reshape(out_shape)


@op("GatherElements")
def gather_elements(ins, attrs):
    x = ins[0]
    axis = _axis(attrs.get("axis", 0), x.dim())
    return ember.gather(x, axis, _index_tensor(ins[1], x.shape[axis]))


def _nd_linear_index(x_shape, idx, batch_dims):
    """GatherND/ScatterND: the row of ``x`` (its leading ``batch_dims + k`` axes flattened)
    that each index tuple ``idx[..., :]`` selects."""
    k = idx.shape[-1]
    idx = idx.to(ember.int64)
    batch = list(x_shape[:batch_dims])
    sizes = list(x_shape[batch_dims:batch_dims + k])
    lin = None
    for j, n in enumerate(sizes):
        c = idx[..., j]
        c = ember.where(c < 0, c + n, c)
        lin = c if lin is None else lin * n + c
    if lin is None:
        lin = ember.zeros(list(idx.shape[:-1]), dtype=ember.int64)
    if batch_dims:
        rows = _prod(sizes)
        offs = ember.arange(_prod(batch), dtype=ember.int64) * rows
        lin = lin + offs.reshape(batch + [1] * (lin.dim() - batch_dims))
    return lin


@op("GatherND")
def gather_nd(ins, attrs):
    x, idx = ins[0], ins[1]
    b = attrs.get("batch_dims", 0)
    k = idx.shape[-1]
    rest = list(x.shape[b + k:])
    lin = _nd_linear_index(x.shape, idx, b)
    flat = x.reshape([_prod(x.shape[:b + k])] + rest)
    return flat.index_select(0, lin.reshape(-1)).reshape(list(idx.shape[:-1]) + rest)


_SCATTER_REDUCE = {"add": "sum", "mul": "prod", "max": "amax", "min": "amin"}


def _check_scatter_nd(attrs):
    if attrs.get("reduction", "none") not in ("none", "add"):
        return f"reduction={attrs['reduction']!r} is not supported (none and add are)"
    return None


@op("ScatterElements", "Scatter")
def scatter_elements(ins, attrs):
    x, idx, upd = ins[:3]
    axis = _axis(attrs.get("axis", 0), x.dim())
    idx = _index_tensor(idx, x.shape[axis])
    reduction = attrs.get("reduction", "none")
    if reduction == "none":
        return x.scatter(axis, idx, upd)
    return x.scatter_reduce(axis, idx, upd, _SCATTER_REDUCE[reduction], include_self=True)


@op("ScatterND", check=_check_scatter_nd)
def scatter_nd(ins, attrs):
    x, idx, upd = ins[:3]
    k = idx.shape[-1]
    rest = list(x.shape[k:])
    lin = _nd_linear_index(x.shape, idx, 0).reshape(-1)
    flat = x.reshape([_prod(x.shape[:k])] + rest)
    rows = upd.reshape([lin.shape[0]] + rest)
    if attrs.get("reduction", "none") == "add":
        out = flat.index_add(0, lin, rows)
    else:
        out = flat.index_copy(0, lin, rows)
    return out.reshape(x.shape)


@op("OneHot")
def one_hot(ins, attrs):
    idx, depth, values = ins[0], int(_scalar(ins[1])), ins[2]
    vals = values if isinstance(values, Tensor) else _const(_np(values))
    rank = idx.dim() + 1
    axis = _axis(attrs.get("axis", -1), rank)
    idx = idx.to(ember.int64)
    idx = ember.where(idx < 0, idx + depth, idx).unsqueeze(axis)
    shape = [1] * rank
    shape[axis] = depth
    hit = ember.arange(depth, dtype=ember.int64).reshape(shape) == idx
    return ember.where(hit, vals[1], vals[0])


@op("NonZero")
def non_zero(ins, attrs):
    return ember.nonzero(ins[0]).t().contiguous()


@op("ArgMax", "ArgMin")
def arg_max(ins, attrs):
    x = ins[0]
    axis = _axis(attrs.get("axis", 0), x.dim())
    keep = bool(attrs.get("keepdims", 1))
    fn = ember.argmax if attrs.op_type == "ArgMax" else ember.argmin
    if attrs.get("select_last_index", 0):
        return (x.shape[axis] - 1) - fn(x.flip(axis), dim=axis, keepdim=keep)
    return fn(x, dim=axis, keepdim=keep)


@op("TopK")
def top_k(ins, attrs):
    x = ins[0]
    k = int(_scalar(ins[1])) if attrs.opset >= 10 else attrs["k"]
    axis = _axis(attrs.get("axis", -1), x.dim())
    values, indices = ember.topk(x, k, dim=axis, largest=bool(attrs.get("largest", 1)),
                                 sorted=bool(attrs.get("sorted", 1)))
    return values, indices


@op("CumSum")
def cum_sum(ins, attrs):
    x = ins[0]
    axis = _axis(int(_scalar(ins[1])), x.dim())
    reverse = attrs.get("reverse", 0)
    if reverse:
        x = x.flip(axis)
    if attrs.get("exclusive", 0):
        n = x.shape[axis]
        zero = ember.zeros_like(x.narrow(axis, 0, min(1, n)))
        y = ember.cat([zero, x.narrow(axis, 0, max(n - 1, 0)).cumsum(axis)], dim=axis)
    else:
        y = x.cumsum(axis)
    return y.flip(axis) if reverse else y


# ---------------------------------------------------------------------------------------
# reductions

_REDUCE_AXES_INPUT = {"ReduceSum": 13}          # the others take axes as an input from 18


def _reduce(x, ins, attrs):
    """``(axes, keepdims)`` of a Reduce* node; ``axes`` None means "return x as is"."""
    since = _REDUCE_AXES_INPUT.get(attrs.op_type, 18)
    axes = _axes_arg(ins, attrs, 1, since)
    keep = bool(attrs.get("keepdims", 1))
    if not axes:
        if attrs.get("noop_with_empty_axes", 0):
            return None, keep
        axes = list(range(x.dim()))
    return tuple(sorted({_axis(a, x.dim()) for a in axes})), keep


@op("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
    "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")
def reduce_(ins, attrs):
    x = ins[0]
    axes, keep = _reduce(x, ins, attrs)
    kind = attrs.op_type[6:]
    if axes is None:
        return x
    if not axes:                        # a 0-d tensor: every reduction of one value
        axes = None
    if kind == "Sum":
        return x.sum() if axes is None else x.sum(dim=axes, keepdim=keep)
    if kind == "Mean":
        return x.mean() if axes is None else x.mean(dim=axes, keepdim=keep)
    if kind in ("Max", "Min"):
        fn = ember.amax if kind == "Max" else ember.amin
        return fn(x) if axes is None else fn(x, dim=axes, keepdim=keep)
    if kind == "Prod":
        if axes is None:
            return x.prod()
        for a in axes:
            x = x.prod(dim=a, keepdim=True)
        return x if keep else x.reshape([n for i, n in enumerate(x.shape) if i not in axes])
    if kind == "LogSumExp":
        return ember.logsumexp(x.reshape(-1), 0) if axes is None else \
            ember.logsumexp(x, dim=axes, keepdim=keep)
    base = {"L1": lambda t: t.abs(), "L2": lambda t: t * t, "LogSum": lambda t: t,
            "SumSquare": lambda t: t * t}[kind](x)
    s = base.sum() if axes is None else base.sum(dim=axes, keepdim=keep)
    if kind == "L2":
        return s.sqrt()
    if kind == "LogSum":
        return s.log()
    return s


# ---------------------------------------------------------------------------------------
# padding and resizing

def _check_pad(attrs):
    mode = attrs.get("mode", "constant")
    if mode not in ("constant", "reflect", "edge", "wrap"):
        return f"mode={mode!r} is not supported"
    return None


@op("Pad", check=_check_pad)
def pad(ins, attrs):
    x = ins[0]
    rank = x.dim()
    mode = attrs.get("mode", "constant")
    if attrs.opset < 11:
        pads, value, axes = list(attrs["pads"]), attrs.get("value", 0.0), None
    else:
        pads = _ints(ins[1])
        value = _get(ins, 2)
        value = 0 if value is None else _scalar(value)
        axes = _get(ins, 3)
        axes = None if axes is None else [_axis(a, rank) for a in _ints(axes)]
    axes = list(range(rank)) if axes is None else axes
    k = len(axes)
    begins, ends = [0] * rank, [0] * rank
    for j, a in enumerate(axes):
        begins[a], ends[a] = pads[j], pads[k + j]
    # negative pads crop
    if any(p < 0 for p in begins + ends):
        index = tuple(slice(max(0, -b), n - max(0, -e))
                      for b, e, n in zip(begins, ends, x.shape))
        x = x[index]
        begins = [max(0, b) for b in begins]
        ends = [max(0, e) for e in ends]
    if not any(begins) and not any(ends):
        return x
    if mode == "constant":
        first = next(i for i in range(rank) if begins[i] or ends[i])
        spec = _torch_pad(begins[first:], ends[first:])
        if not x.dtype.is_floating_point:
            value = int(value)
        return F.pad(x, spec, value=value)
    numpy_mode = {"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode]
    for a in range(rank):
        if begins[a] or ends[a]:
            src = np.pad(np.arange(x.shape[a]), (begins[a], ends[a]), mode=numpy_mode)
            x = x.index_select(a, _const(src.astype(np.int64)))
    return x


_RESIZE_MODES = ("nearest", "linear", "cubic")
_COORD_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                "asymmetric", "tf_crop_and_resize", "tf_half_pixel_for_nn")
_NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def _check_resize(attrs):
    mode = attrs.get("mode", "nearest")
    if attrs.op_type == "Upsample" and mode == "bilinear":
        mode = "linear"
    if mode not in _RESIZE_MODES:
        return f"mode={mode!r} is not supported"
    ctm = attrs.get("coordinate_transformation_mode", "half_pixel")
    if ctm not in _COORD_MODES:
        return f"coordinate_transformation_mode={ctm!r} is not supported"
    nm = attrs.get("nearest_mode", "round_prefer_floor")
    if nm not in _NEAREST_MODES:
        return f"nearest_mode={nm!r} is not supported"
    policy = attrs.get("keep_aspect_ratio_policy", "stretch")
    if policy not in ("stretch", "not_larger", "not_smaller"):
        return f"keep_aspect_ratio_policy={policy!r} is not supported"
    return None


def _source_coords(ctm, out_n, in_n, scale, roi_lo, roi_hi):
    """Where each output position samples the input, per
    ``coordinate_transformation_mode``; computed in float32, as onnxruntime does (it
    decides which pixel nearest-neighbour rounding picks)."""
    f32 = np.float32
    y = np.arange(out_n, dtype=f32)
    scale, n = f32(scale), f32(in_n)
    half = f32(0.5)
    if ctm == "align_corners":
        return np.zeros(out_n, f32) if out_n == 1 else y * (n - 1) / f32(out_n - 1)
    if ctm == "asymmetric":
        return y / scale
    if ctm == "tf_crop_and_resize":
        lo, hi = f32(roi_lo), f32(roi_hi)
        if out_n == 1:
            return np.full(out_n, half * (lo + hi) * (n - 1), f32)
        return lo * (n - 1) + y * (hi - lo) * (n - 1) / f32(out_n - 1)
    if ctm == "pytorch_half_pixel":
        return np.zeros(out_n, f32) if out_n == 1 else (y + half) / scale - half
    if ctm == "tf_half_pixel_for_nn":
        return (y + half) / scale
    if ctm == "half_pixel_symmetric":
        adjustment = f32(out_n) / (scale * n)
        offset = n / 2 * (1 - adjustment)
        return offset + (y + half) / scale - half
    return (y + half) / scale - half                # half_pixel


def _nearest_index(coords, mode, in_n, downsample):
    if mode == "simple":                            # Upsample and Resize-10
        idx = np.ceil(coords) if downsample else np.floor(coords)
    elif mode == "round_prefer_ceil":
        idx = np.floor(coords + 0.5)
    elif mode == "floor":
        idx = np.floor(coords)
    elif mode == "ceil":
        idx = np.ceil(coords)
    else:                                           # round_prefer_floor
        idx = np.ceil(coords - 0.5)
    return np.clip(idx, 0, in_n - 1).astype(np.int64)


def _cubic(t, a):
    t = np.abs(t)
    return np.where(t <= 1, ((a + 2) * t - (a + 3)) * t * t + 1,
                    np.where(t < 2, ((a * t - 5 * a) * t + 8 * a) * t - 4 * a, 0.0))


def _interp_taps(coords, in_n, mode, scale, a, exclude_outside, antialias):
    """Linear/cubic interpolation as taps: ``(index, weight)`` arrays of shape
    ``(out, taps)``. Taps beyond the input are clamped to its edge (or, with
    ``exclude_outside``, dropped and the rest renormalised); with ``antialias`` and
    ``scale < 1`` the filter is stretched by ``1 / scale`` (and normalised)."""
    base = np.floor(coords)
    ratio = coords - base
    exact = ratio == 0
    base = np.where(exact, base - 1, base)          # tie: the taps left of the point
    ratio = np.where(exact, 1.0, ratio)
    s = min(scale, 1.0) if antialias else 1.0
    if mode == "linear":
        start = int(np.floor(-1 / s) + 1)
        taps = np.arange(start, 2 - start)
        weights = np.clip(1 - np.abs((taps[None, :] - ratio[:, None]) * s), 0, 1)
    else:
        start = int(np.floor(-2 / s) + 1)
        taps = np.arange(start, 2 - start)
        weights = _cubic((taps[None, :] - ratio[:, None]) * s, a)
    pos = base[:, None].astype(np.int64) + taps[None, :]
    if exclude_outside:
        weights = np.where((pos < 0) | (pos >= in_n), 0.0, weights)
    if antialias or exclude_outside:
        total = weights.sum(axis=1, keepdims=True)
        weights = weights / np.where(total == 0, 1.0, total)
    return np.clip(pos, 0, in_n - 1), weights


def _resize_axis(x, axis, out_n, scale, cfg, roi):
    in_n = x.shape[axis]
    coords = _source_coords(cfg["ctm"], out_n, in_n, scale, *roi).astype(np.float64)
    outside = None
    if cfg["ctm"] == "tf_crop_and_resize":
        outside = (coords < 0) | (coords > in_n - 1)
    if cfg["mode"] == "nearest":
        idx = _nearest_index(coords, cfg["nearest_mode"], in_n, scale < 1)
        y = x.index_select(axis, _const(idx))
    else:
        pos, weights = _interp_taps(coords, in_n, cfg["mode"], scale, cfg["cubic_a"],
                                    cfg["exclude_outside"], cfg["antialias"])
        shape = [1] * x.dim()
        shape[axis] = out_n
        y = None
        for j in range(pos.shape[1]):               # one gather per tap, weighted
            w = weights[:, j]
            if not w.any():
                continue
            part = x.index_select(axis, _const(pos[:, j])) * \
                _const(w.astype(x.dtype.np).reshape(shape))
            y = part if y is None else y + part
    if outside is not None and outside.any():
        shape = [1] * x.dim()
        shape[axis] = out_n
        y = ember.where(_const(outside.reshape(shape)), cfg["extrapolation"], y)
    return y


def _resize(x, cfg, scales=None, sizes=None, axes=None, roi=None):
    rank = x.dim()
    axes = list(range(rank)) if axes is None else [_axis(a, rank) for a in axes]
    in_shape = list(x.shape)
    if sizes is not None:
        sizes = list(sizes)
        ratios = [sizes[j] / in_shape[a] for j, a in enumerate(axes)]
        policy = cfg.get("policy", "stretch")
        if policy != "stretch":
            common = min(ratios) if policy == "not_larger" else max(ratios)
            ratios = [common] * len(axes)
            sizes = [int(common * in_shape[a] + 0.5) for a in axes]
        outs = sizes
    else:
        ratios = [float(s) for s in scales]
        outs = [int(np.float32(s) * np.float32(in_shape[a])) for s, a in zip(scales, axes)]
    roi_pairs = [(0.0, 1.0)] * len(axes)
    if roi is not None and len(roi) == 2 * len(axes):
        roi_pairs = [(float(roi[j]), float(roi[len(axes) + j])) for j in range(len(axes))]
    elif roi is not None and len(roi) == 2 * rank:
        roi_pairs = [(float(roi[a]), float(roi[rank + a])) for a in axes]
    for j, a in enumerate(axes):
        same = outs[j] == in_shape[a] and ratios[j] == 1.0 and \
            (cfg["ctm"] != "tf_crop_and_resize" or roi_pairs[j] == (0.0, 1.0))
        if not same:
            x = _resize_axis(x, a, outs[j], ratios[j], cfg, roi_pairs[j])
    return x


def _resize_config(attrs):
    mode = attrs.get("mode", "nearest")
    legacy = attrs.op_type == "Upsample" or attrs.opset < 11
    return {
        "mode": "linear" if mode == "bilinear" else mode,
        "ctm": "asymmetric" if legacy else
        attrs.get("coordinate_transformation_mode", "half_pixel"),
        "nearest_mode": "simple" if legacy else attrs.get("nearest_mode",
                                                          "round_prefer_floor"),
        "cubic_a": attrs.get("cubic_coeff_a", -0.75),
        "exclude_outside": bool(attrs.get("exclude_outside", 0)),
        "extrapolation": attrs.get("extrapolation_value", 0.0),
        "antialias": bool(attrs.get("antialias", 0)) and mode != "nearest",
        "policy": attrs.get("keep_aspect_ratio_policy", "stretch"),
    }


def _optional_floats(v):
    if v is None:
        return None
    arr = _np(v).reshape(-1)
    return None if arr.size == 0 else [float(a) for a in arr]


@op("Resize", check=_check_resize)
def resize(ins, attrs):
    x = ins[0]
    cfg = _resize_config(attrs)
    if attrs.opset < 11:
        return _resize(x, cfg, scales=_optional_floats(ins[1]))
    roi = _optional_floats(_get(ins, 1))
    scales = _optional_floats(_get(ins, 2))
    sizes = _get(ins, 3)
    sizes = None if sizes is None or _np(sizes).size == 0 else _ints(sizes)
    axes = attrs.get("axes")
    return _resize(x, cfg, scales=scales, sizes=sizes, axes=axes, roi=roi)


@op("Upsample", check=_check_resize)
def upsample(ins, attrs):
    scales = attrs.get("scales") if attrs.opset < 9 else _optional_floats(ins[1])
    return _resize(ins[0], _resize_config(attrs), scales=list(scales))


# ---------------------------------------------------------------------------------------
# quantization

def _per_axis(param, x, axis):
    if param.dim() == 0 or param.numel() == 1 and param.dim() <= 1:
        return param.reshape([])
    shape = [1] * x.dim()
    shape[_axis(axis, x.dim())] = param.numel()
    return param.reshape(shape)


@op("DequantizeLinear")
def dequantize_linear(ins, attrs):
    x, scale, zero = ins[0], ins[1], _get(ins, 2)
    axis = attrs.get("axis", 1)
    s = _per_axis(scale, x, axis)
    y = x.to(s.dtype)
    if zero is not None:
        y = y - _per_axis(zero, x, axis).to(s.dtype)
    return y * s


@op("QuantizeLinear")
def quantize_linear(ins, attrs):
    x, scale, zero = ins[0], ins[1], _get(ins, 2)
    axis = attrs.get("axis", 1)
    out_dt = zero.dtype if zero is not None else ember.uint8
    y = ember.round(x / _per_axis(scale, x, axis))
    if zero is not None:
        y = y + _per_axis(zero, x, axis).to(y.dtype)
    info = ember.iinfo(out_dt)
    return ember.clamp(y, info.min, info.max).to(out_dt)


# ---------------------------------------------------------------------------------------
# recurrent layers

_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
_DEFAULT_ACTS = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"],
                 "LSTM": ["Sigmoid", "Tanh", "Tanh"]}
# name -> (function(x, alpha, beta), default alpha, default beta)
_ACTIVATIONS = {
    "relu": (lambda x, a, b: F.relu(x), None, None),
    "tanh": (lambda x, a, b: ember.tanh(x), None, None),
    "sigmoid": (lambda x, a, b: ember.sigmoid(x), None, None),
    "affine": (lambda x, a, b: x * a + b, 1.0, 0.0),
    "leakyrelu": (lambda x, a, b: F.leaky_relu(x, a), 0.01, None),
    "thresholdedrelu": (lambda x, a, b: F.threshold(x, a, 0.0), 1.0, None),
    "scaledtanh": (lambda x, a, b: ember.tanh(x * b) * a, 1.0, 1.0),
    "hardsigmoid": (lambda x, a, b: ember.clamp(x * a + b, 0.0, 1.0), 0.2, 0.5),
    "elu": (lambda x, a, b: F.elu(x, a), 1.0, None),
    "softsign": (lambda x, a, b: F.softsign(x), None, None),
    "softplus": (lambda x, a, b: F.softplus(x), None, None),
}


def _check_rnn(attrs):
    for name in attrs.get("activations", []):
        if name.lower() not in _ACTIVATIONS:
            return f"activation {name!r} is not supported"
    return None


def _activations(attrs, kind, n_dir):
    """Per direction, the list of activation functions (alphas and betas are consumed in
    order by the activations that take them, as onnxruntime does)."""
    names = attrs.get("activations") or _DEFAULT_ACTS[kind] * n_dir
    alphas = list(attrs.get("activation_alpha", []))
    betas = list(attrs.get("activation_beta", []))
    funcs = []
    for name in names:
        fn, da, db = _ACTIVATIONS[name.lower()]
        a = (alphas.pop(0) if alphas else da) if da is not None else None
        b = (betas.pop(0) if betas else db) if db is not None else None
        funcs.append((name.lower(), lambda x, fn=fn, a=a, b=b: fn(x, a, b)))
    per = len(names) // n_dir
    return [funcs[d * per:(d + 1) * per] for d in range(n_dir)]


def _reorder(t, order, gates):
    """Rows of a gate-stacked weight or bias in another gate order."""
    chunks = t.chunk(gates, 0)
    return ember.cat([chunks[i] for i in order], 0)


# ONNX gate order -> ember's (PyTorch's): LSTM iofc -> ifco, GRU zrh -> rzh
_TORCH_ORDER = {"LSTM": (0, 2, 3, 1), "GRU": (1, 0, 2), "RNN": (0,)}


@op("RNN", "GRU", "LSTM", check=_check_rnn)
def recurrent(ins, attrs):
    kind = attrs.op_type
    x, w, r = ins[0], ins[1], ins[2]
    b, seq_lens, h0 = _get(ins, 3), _get(ins, 4), _get(ins, 5)
    c0, peep = (_get(ins, 6), _get(ins, 7)) if kind == "LSTM" else (None, None)
    layout = attrs.get("layout", 0)
    if layout:                                    # batch-first tensors (opset 14)
        x = x.transpose(0, 1)
        h0 = None if h0 is None else h0.transpose(0, 1)
        c0 = None if c0 is None else c0.transpose(0, 1)
    direction = attrs.get("direction", "forward")
    n_dir = 2 if direction == "bidirectional" else 1
    hidden = attrs.get("hidden_size") or r.shape[-1]
    steps, batch = x.shape[0], x.shape[1]
    gates = _GATES[kind]
    acts = _activations(attrs, kind, n_dir)
    lens = None
    if seq_lens is not None:
        lens = _ints(seq_lens)
        if all(n == steps for n in lens):
            lens = None
    ys, hs, cs = [], [], []
    for d in range(n_dir):
        reverse = direction == "reverse" or d == 1
        w_d, r_d = w[d], r[d]
        wb = rb = None
        if b is not None:
            wb, rb = b[d][:gates * hidden], b[d][gates * hidden:]
        h = h0[d] if h0 is not None else ember.zeros(batch, hidden, dtype=x.dtype)
        c = None
        if kind == "LSTM":
            c = c0[d] if c0 is not None else ember.zeros(batch, hidden, dtype=x.dtype)
        fast = _fast_ok(kind, attrs, acts[d], peep, lens)
        if fast:
            res = _fused_direction(kind, acts[d], x, h, c, w_d, r_d, wb, rb, reverse, lens)
        else:
            p_d = peep[d] if peep is not None else None
            res = _loop_direction(kind, attrs, acts[d], x, h, c, w_d, r_d, wb, rb, p_d,
                                  reverse, lens, hidden)
        ys.append(res[0])
        hs.append(res[1])
        if kind == "LSTM":
            cs.append(res[2])
    y = ember.stack(ys, 1)                        # (steps, dirs, batch, hidden)
    h_n = ember.stack(hs, 0)
    c_n = ember.stack(cs, 0) if kind == "LSTM" else None
    if layout:
        y = y.permute(2, 0, 1, 3)
        h_n = h_n.transpose(0, 1)
        c_n = None if c_n is None else c_n.transpose(0, 1)
    return (y, h_n, c_n) if kind == "LSTM" else (y, h_n)


def _fast_ok(kind, attrs, acts, peep, lens):
    """Whether ember's fused recurrent layer computes this direction: PyTorch's cell
    equations (default activations, no clip, no peepholes, GRU with linear_before_reset)."""
    names = [n for n, _ in acts]
    if attrs.get("clip") is not None or attrs.get("activation_alpha") or \
            attrs.get("activation_beta"):
        return False
    if lens is not None and min(lens) < 1:
        return False
    if kind == "LSTM":
        return names == ["sigmoid", "tanh", "tanh"] and peep is None and \
            not attrs.get("input_forget", 0)
    if kind == "GRU":
        return names == ["sigmoid", "tanh"] and attrs.get("linear_before_reset", 0) == 1
    return names in (["tanh"], ["relu"])


def _fused_direction(kind, acts, x, h, c, w, r, wb, rb, reverse, lens):
    from ..ops.rnn import rnn_layer
    gates = _GATES[kind]
    order = _TORCH_ORDER[kind]
    w_ih, w_hh = _reorder(w, order, gates), _reorder(r, order, gates)
    b_ih = b_hh = None
    if wb is not None:
        b_ih, b_hh = _reorder(wb, order, gates), _reorder(rb, order, gates)
    mode = kind if kind != "RNN" else ("RNN_RELU" if acts[0][0] == "relu" else "RNN_TANH")
    steps, batch = x.shape[0], x.shape[1]
    if lens is None:
        res = rnn_layer(mode, x.reshape(steps * batch, x.shape[2]), h, c, w_ih, w_hh, b_ih,
                        b_hh, None, [batch] * steps, reverse)
        y = res[0].reshape(steps, batch, -1)
        return (y, res[1], res[2]) if kind == "LSTM" else (y, res[1])
    # varying lengths: pack the sequences (longest first), run, unpack with zeros
    order_b = sorted(range(batch), key=lambda i: -lens[i])
    inverse = np.argsort(order_b)
    batch_sizes = [sum(1 for n in lens if n > t) for t in range(max(lens))]
    rows = [t * batch + order_b[j] for t, n in enumerate(batch_sizes) for j in range(n)]
    pos = np.full(steps * batch, len(rows), dtype=np.int64)
    pos[rows] = np.arange(len(rows))
    perm, inv = _const(np.asarray(order_b, np.int64)), _const(inverse.astype(np.int64))
    packed = x.reshape(steps * batch, x.shape[2]).index_select(0, _const(np.asarray(rows)))
    res = rnn_layer(mode, packed, h.index_select(0, perm),
                    None if c is None else c.index_select(0, perm), w_ih, w_hh, b_ih, b_hh,
                    None, batch_sizes, reverse)
    out = res[0]
    out = ember.cat([out, ember.zeros(1, out.shape[1], dtype=out.dtype)], 0)
    y = out.index_select(0, _const(pos)).reshape(steps, batch, -1)
    h_n = res[1].index_select(0, inv)
    if kind == "LSTM":
        return y, h_n, res[2].index_select(0, inv)
    return y, h_n


def _loop_direction(kind, attrs, acts, x, h, c, w, r, wb, rb, peep, reverse, lens, hidden):
    """The ONNX recurrence step by step with ember ops (any activations, clip, peepholes,
    input_forget, linear_before_reset=0, sequence lengths)."""
    clip = attrs.get("clip")
    fns = [fn for _, fn in acts]

    def act(i, v):
        if clip is not None:
            v = ember.clamp(v, -clip, clip)
        return fns[i](v)

    gi_all = F.linear(x, w, wb)
    steps = x.shape[0]
    ys = [None] * steps
    lens_t = None
    if lens is not None:
        lens_t = _const(np.asarray(lens, np.int64)).reshape(-1, 1)
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    if kind == "GRU":
        r_zr, r_h = r[:2 * hidden], r[2 * hidden:]
        rb_zr = rb[:2 * hidden] if rb is not None else None
        rb_h = rb[2 * hidden:] if rb is not None else None
    for t in order:
        gi = gi_all[t]
        if kind == "LSTM":
            gh = F.linear(h, r, rb)
            i, o, f, cc = (gi + gh).chunk(4, 1)
            if peep is not None:
                i = i + peep[:hidden] * c
                f = f + peep[2 * hidden:] * c
            i = act(0, i)
            f = 1 - i if attrs.get("input_forget", 0) else act(0, f)
            c_new = f * c + i * act(1, cc)
            if peep is not None:
                o = o + peep[hidden:2 * hidden] * c_new
            h_new = act(0, o) * act(2, c_new)
        elif kind == "GRU":
            gh = F.linear(h, r_zr, rb_zr)
            gi_z, gi_r, gi_h = gi.chunk(3, 1)
            gh_z, gh_r = gh.chunk(2, 1)
            z = act(0, gi_z + gh_z)
            rr = act(0, gi_r + gh_r)
            if attrs.get("linear_before_reset", 0):
                cand = act(1, gi_h + rr * F.linear(h, r_h, rb_h))
            else:
                cand = act(1, gi_h + F.linear(rr * h, r_h, rb_h))
            h_new = (1 - z) * cand + z * h
            c_new = None
        else:
            h_new = act(0, gi + F.linear(h, r, rb))
            c_new = None
        if lens_t is not None:
            live = lens_t > t
            ys[t] = ember.where(live, h_new, ember.zeros_like(h_new))
            h = ember.where(live, h_new, h)
            if c_new is not None:
                c = ember.where(live, c_new, c)
        else:
            ys[t] = h_new
            h, c = h_new, c_new
    y = ember.stack(ys, 0)
    return (y, h, c) if kind == "LSTM" else (y, h)


OPS["RNN"] = OPS["GRU"] = OPS["LSTM"] = recurrent


def evaluate(fn, ins, attrs):
    """Run ``fn`` on constant inputs at load time (no autograd)."""
    with no_grad():
        return fn(ins, attrs)
