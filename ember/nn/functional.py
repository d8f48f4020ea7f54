"""Functional forms of the layers (PyTorch's ``torch.nn.functional``).

``linear`` and ``bilinear`` are single fused primitives: one graph node each, the forward a
NumPy matmul/einsum, the backward written with ember operations (``linear`` itself,
``reshape``, ``t``) so that double backward works.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..ops._op import Op

__all__ = ["linear", "bilinear"]

# C type names PyTorch prints in its matmul dtype errors
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int", "int16": "short",
            "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
            "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def _check_tensor(x, fn, name, pos):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


def _short_name(dt) -> str:
    return dt._legacy[:-len("Tensor")]


def _check_bias_expands(bias, out_shape):
    """The bias must broadcast *to* the output's shape (the output is not enlarged). The
    messages are PyTorch's: its 2-D path expands the bias, the others add it in place."""
    bias_shape = bias._data.shape
    if len(bias_shape) > len(out_shape) and len(out_shape) == 2:
        raise RuntimeError(f"expand(ember.{bias.dtype._legacy}{{{list(bias_shape)}}}, "
                           f"size={list(out_shape)}): the number of sizes provided "
                           f"({len(out_shape)}) must be greater or equal to the number of "
                           f"dimensions in the tensor ({len(bias_shape)})")
    if len(bias_shape) > len(out_shape):
        lead = len(bias_shape) - len(out_shape)
        bshape = list(bias_shape[:lead]) + [max(a, b) for a, b in
                                            zip(bias_shape[lead:], out_shape)]
        raise RuntimeError(f"output with shape {list(out_shape)} doesn't match the broadcast "
                           f"shape {bshape}")
    off = len(out_shape) - len(bias_shape)
    for i, s in enumerate(bias_shape):
        if s != 1 and s != out_shape[off + i]:
            raise RuntimeError(f"The expanded size of the tensor ({out_shape[off + i]}) must "
                               f"match the existing size ({s}) at non-singleton dimension "
                               f"{off + i}.  Target sizes: {list(out_shape)}.  Tensor sizes: "
                               f"{list(bias_shape)}")


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


class Linear(Op):
    """``input @ weight.T + bias`` as one node.

    Backward: ``grad_input = grad @ weight``; ``grad_weight = grad^T @ input`` with the
    leading dimensions flattened (an (out, in) array, the weight's own layout);
    ``grad_bias = grad``, which the engine sums over the broadcast (leading) dimensions.
    All three are computed with ``linear`` again, so double backward works.
    """

    save_inputs = (0, 1)

    def forward(self, x, w, b=None):
        self.has_bias = b is not None
        self.two_d = x.ndim == 2
        if x.ndim > 2 and w.ndim == 2 and x.flags.c_contiguous:
            # one (N, in) @ (in, out) BLAS call instead of one per leading index
            y = np.matmul(x.reshape(_prod(x.shape[:-1]), x.shape[-1]), w.T).reshape(
                x.shape[:-1] + w.shape[:1])
        else:
            y = np.matmul(x, w.T)                   # w.T is a view: no copy of the weight
        if b is not None:
            if not isinstance(y, np.ndarray):
                y = np.asarray(y)
            y += b                                  # y is fresh, and b broadcasts to it
        return y

    def backward(self, grad):
        x, w = self.saved_tensors
        needs = self.needs_input_grad
        gx = gw = None
        if needs[0]:
            if w._data.ndim == 2:
                gx = linear(grad, w.t())            # grad @ w, shape (..., in)
            else:                                   # 1-D weight: (...) -> (..., in)
                gx = linear(grad.unsqueeze(-1), w.unsqueeze(-1))
        if needs[1]:
            n_in = x._data.shape[-1]
            n = _prod(x._data.shape[:-1])
            x2 = x if x._data.ndim == 2 else x.reshape(n, n_in)
            if w._data.ndim == 2:
                n_out = w._data.shape[0]
                g2 = grad if grad._data.ndim == 2 else grad.reshape(n, n_out)
                gw = linear(g2.t(), x2.t())         # (out, N) @ (N, in)
            else:
                gw = linear(x2.t(), grad.reshape(n))  # (in, N) @ (N,)
        if self.has_bias:
            return gx, gw, (grad if needs[2] else None)
        return gx, gw

    def name(self):
        if self.two_d:
            return "AddmmBackward0" if self.has_bias else "MmBackward0"
        return "LinearBackward0"


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Apply an affine map: ``input @ weight.T + bias``.

    Shape:
        - input: ``(*, in_features)``; any number of leading dimensions (also none).
        - weight: ``(out_features, in_features)`` (or ``(in_features,)``: the output then has
          no feature dimension).
        - bias: ``(out_features,)``, or any shape that broadcasts to the output.
        - output: ``(*, out_features)``.
    """
    _check_tensor(input, "linear", "input", 1)
    _check_tensor(weight, "linear", "weight", 2)
    if bias is not None:
        _check_tensor(bias, "linear", "bias", 3)
    xs, ws = input._data.shape, weight._data.shape
    if len(xs) == 0 or len(ws) == 0:
        raise RuntimeError("both arguments to linear need to be at least 1D, but they are "
                           f"{len(xs)}D and {len(ws)}D")
    if len(ws) > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{len(ws)}D")
    if input.dtype is not weight.dtype:
        raise RuntimeError("expected m1 and m2 to have the same dtype, but got: "
                           f"{_C_NAMES.get(input.dtype.name, input.dtype.name)} != "
                           f"{_C_NAMES.get(weight.dtype.name, weight.dtype.name)}")
    if len(ws) == 1:
        if bias is not None:
            raise RuntimeError("mat2 must be a matrix, got 1-D tensor")
        if xs[-1] != ws[0]:
            if len(xs) == 1:
                raise RuntimeError(f"inconsistent tensor size, expected tensor [{xs[0]}] and "
                                   f"src [{ws[0]}] to have the same number of elements, but "
                                   f"got {xs[0]} and {ws[0]} elements respectively")
            rows = _prod(xs[:-1])
            raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{xs[-1]}), "
                               f"vec ({ws[0]})")
        return Linear.apply(input, weight)
    if xs[-1] != ws[1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({_prod(xs[:-1])}x{xs[-1]} and {ws[1]}x{ws[0]})")
    if bias is None:
        return Linear.apply(input, weight)
    if bias.dtype is not input.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                           f"{_short_name(bias.dtype)} and {_short_name(input.dtype)}")
    _check_bias_expands(bias, xs[:-1] + (ws[0],))
    return Linear.apply(input, weight, bias)


class Bilinear(Op):
    """``y[..., o] = sum_ij x1[..., i] W[o, i, j] x2[..., j] + b[o]`` as one node.

    The input gradients are bilinear forms themselves (with the weight's axes permuted),
    the weight gradient is ``grad^T @ (x1 outer x2)``; all are ember ops, so double backward
    works.
    """

    save_inputs = (0, 1, 2)

    def forward(self, x1, x2, w, b=None):
        self.has_bias = b is not None
        y = np.einsum("...i,oij,...j->...o", x1, w, x2, optimize=True)
        if b is not None:
            y = y + b
        return y

    def backward(self, grad):
        x1, x2, w = self.saved_tensors
        needs = self.needs_input_grad
        g1 = bilinear(grad, x2, w.permute(1, 0, 2)) if needs[0] else None
        g2 = bilinear(grad, x1, w.permute(2, 0, 1)) if needs[1] else None
        gw = None
        if needs[2]:
            n_out, n1, n2 = w._data.shape
            n = _prod(x1._data.shape[:-1])
            outer = (x1.unsqueeze(-1) * x2.unsqueeze(-2)).reshape(n, n1 * n2)
            gw = linear(grad.reshape(n, n_out).t(), outer.t()).reshape(n_out, n1, n2)
        if self.has_bias:
            return g1, g2, gw, (grad if needs[3] else None)
        return g1, g2, gw


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """Apply a bilinear map: ``y = x1^T A x2 + b`` for every output feature.

    Shape:
        - input1: ``(*, in1_features)``; input2: ``(*, in2_features)`` with the same leading
          dimensions.
        - weight: ``(out_features, in1_features, in2_features)``; bias: ``(out_features,)``.
        - output: ``(*, out_features)``.
    """
    _check_tensor(input1, "bilinear", "input1", 1)
    _check_tensor(input2, "bilinear", "input2", 2)
    _check_tensor(weight, "bilinear", "weight", 3)
    if bias is not None:
        _check_tensor(bias, "bilinear", "bias", 4)
    s1, s2, ws = input1._data.shape, input2._data.shape, weight._data.shape
    if len(s1) != len(s2):
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {len(s1)} and "
                           f"{len(s2)}")
    for i in range(len(s1) - 1):
        if s1[i] != s2[i]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: "
                               f"got {s1[i]} and {s2[i]}")
    if len(ws) != 3:
        raise IndexError(f"bilinear(): weight must be a 3-D tensor (out_features, "
                         f"in1_features, in2_features), got {len(ws)}-D")
    if len(s1) == 0 or s1[-1] != ws[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{s1[-1] if s1 else 0} but expected {ws[1]}")
    if s2[-1] != ws[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {s2[-1]} "
                           f"but expected {ws[2]}")
    dts = {input1.dtype, input2.dtype, weight.dtype} | ({bias.dtype} if bias is not None
                                                        else set())
    if len(dts) > 1:
        names = ", ".join(str(d) for d in (input1.dtype, input2.dtype, weight.dtype))
        raise RuntimeError(f"bilinear(): expected all arguments to have the same dtype, got "
                           f"{names}" + (f", {bias.dtype}" if bias is not None else ""))
    if bias is None:
        return Bilinear.apply(input1, input2, weight)
    if bias._data.shape[:1] != ws[:1] or bias._data.ndim != 1:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                           f"{bias._data.shape[0] if bias._data.ndim else 0} but expected "
                           f"{ws[0]}")
    return Bilinear.apply(input1, input2, weight, bias)


# ---------------------------------------------------------------------------------------
# The other families' functional forms live beside their primitives in ember/ops/<family>.py.
from ..ops import (activation as _activation, attention as _attention, conv as _conv,  # noqa
                   distance as _distance, dropout as _dropout, loss as _loss,
                   normalization as _normalization, padding as _padding, pooling as _pooling,
                   rnn as _rnn, sparse as _sparse, upsampling as _upsampling)
from ..ops.activation import *  # noqa: F401,F403,E402
from ..ops.attention import *  # noqa: F401,F403,E402
from ..ops.conv import *  # noqa: F401,F403,E402
from ..ops.distance import *  # noqa: F401,F403,E402
from ..ops.dropout import *  # noqa: F401,F403,E402
from ..ops.loss import *  # noqa: F401,F403,E402
from ..ops.normalization import *  # noqa: F401,F403,E402
from ..ops.padding import *  # noqa: F401,F403,E402
from ..ops.pooling import *  # noqa: F401,F403,E402
from ..ops.rnn import *  # noqa: F401,F403,E402
from ..ops.sparse import *  # noqa: F401,F403,E402
from ..ops.upsampling import *  # noqa: F401,F403,E402
from ..ops.indexing import one_hot  # noqa: F401,E402

__all__ = __all__ + [n for m in (_activation, _attention, _conv, _distance, _dropout, _loss,
                                 _normalization, _padding, _pooling, _rnn, _sparse,
                                 _upsampling) for n in m.__all__]
