"""Converters for the activation primitives of ``ember.ops.activation``.

==========================  =========================================================
ember op (its attributes)   ONNX
==========================  =========================================================
Relu                        ``Relu`` (integer inputs: ``Max(x, 0)``)
Hardtanh (lo, hi)           ``Clip(x, lo, hi)`` (hardtanh, relu6)
Threshold (threshold,       ``Where(x <= threshold, value, x)``
value)
LeakyRelu (slope)           ``LeakyRelu(alpha=slope)`` (leaky_relu, rrelu in eval mode)
Elu (alpha, scale,          ``Elu`` (elu), ``Selu`` (selu: gamma = scale), ``Celu``
input_scale)                (celu: input_scale = 1 / alpha); any other combination is
                            written out with ``Exp``/``Where``
Gelu (approximate)          ``Gelu(approximate=...)`` from opset 20; before,
                            ``0.5 x (1 + Erf(x / sqrt 2))`` or the tanh formula
Silu                        ``x * Sigmoid(x)``
Mish                        ``Mish`` from opset 18; before, ``x * Tanh(Softplus(x))``
Hardsigmoid                 ``HardSigmoid(alpha=1/6, beta=1/2)``
Hardswish                   ``HardSwish`` from opset 14; before, ``x * HardSigmoid(x)``
LogSigmoid                  ``Min(x, 0) - Log(1 + Exp(-|x|))`` (no overflow)
Softplus (beta, threshold)  ``Softplus``; with ``beta != 1`` ``Softplus(beta x) / beta``;
                            the linear region ``beta x > threshold`` by ``Where`` (left
                            out for beta = 1 and threshold >= 20, where both agree to the
                            last float32 bit)
Softshrink (lambd)          ``Shrink(bias=lambd, lambd=lambd)``
Hardshrink (lambd)          ``Shrink(bias=0, lambd=lambd)``
Softmax / LogSoftmax        ``Softmax`` / ``LogSoftmax`` with ``axis`` (opset 13 semantics:
(axis)                      one axis); a 0-d input is unsqueezed to 1-d and back
==========================  =========================================================

The composite activations (tanhshrink, softsign, glu, prelu, softmin) are ember
compositions of elementwise ops and need no converter here.

float64: onnxruntime's CPU kernels of Elu, Selu, Celu, LeakyRelu, HardSigmoid, HardSwish,
Softplus, Mish and Erf are float32 only, so float64 inputs get the same functions written
with Exp/Log/Where/Clip (which it runs in float64); the exact gelu's Erf is computed in
float32 (a relative error of about 1e-7).
"""
from __future__ import annotations

import math

import numpy as np

from ...ops.activation import (
    Elu,
    Gelu,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyRelu,
    LogSigmoid,
    LogSoftmax,
    Mish,
    Relu,
    Silu,
    Softmax,
    Softplus,
    Softshrink,
    Threshold,
)
from .._registry import converter

_SQRT1_2 = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_TANH_A = 0.044715


def _dtype(node):
    return node.outputs[0].dtype


def _wide(node) -> bool:
    """float64: written with elementwise ops (see the module docstring)."""
    return _dtype(node) == np.float64


def _softplus_formula(ctx, z, dt, outputs=1):
    """``max(z, 0) + log(1 + exp(-|z|))``: softplus without overflow."""
    tail = ctx.emit("Exp", [ctx.emit("Neg", [ctx.emit("Abs", [z])])])
    log1p = ctx.emit("Log", [ctx.emit("Add", [tail, ctx.scalar(1, dt)])])
    return ctx.emit("Add", [ctx.emit("Max", [z, ctx.scalar(0, dt)]), log1p], outputs)


def _hardsigmoid_formula(ctx, x, dt, outputs=1):
    """``clamp(x + 3, 0, 6) / 6``, ember's own arithmetic."""
    clipped = ctx.emit("Clip", [ctx.emit("Add", [x, ctx.scalar(3, dt)]), ctx.scalar(0, dt),
                                ctx.scalar(6, dt)])
    return ctx.emit("Div", [clipped, ctx.scalar(6, dt)], outputs)


@converter(Relu)
def relu(ctx, node):
    x = ctx.input(node, 0)
    if _dtype(node).kind in "iu":     # Relu-13 is float only; onnxruntime has no int Relu
        ctx.emit("Max", [x, ctx.scalar(0, _dtype(node))], ctx.outputs(node))
        return
    ctx.emit("Relu", [x], ctx.outputs(node))


@converter(Hardtanh)
def hardtanh(ctx, node):
    dt = _dtype(node)
    ctx.emit("Clip", [ctx.input(node, 0), ctx.scalar(node.op.lo, dt), ctx.scalar(node.op.hi, dt)],
             ctx.outputs(node))


@converter(Threshold)
def threshold(ctx, node):
    dt = _dtype(node)
    x = ctx.input(node, 0)
    below = ctx.emit("LessOrEqual", [x, ctx.scalar(node.op.threshold, dt)])
    ctx.emit("Where", [below, ctx.scalar(node.params["value"], dt), x], ctx.outputs(node))


@converter(LeakyRelu)
def leaky_relu(ctx, node):
    if _wide(node):
        dt, x = _dtype(node), ctx.input(node, 0)
        positive = ctx.emit("Greater", [x, ctx.scalar(0, dt)])
        scaled = ctx.emit("Mul", [x, ctx.scalar(node.op.slope, dt)])
        ctx.emit("Where", [positive, x, scaled], ctx.outputs(node))
        return
    ctx.emit("LeakyRelu", [ctx.input(node, 0)], ctx.outputs(node), alpha=float(node.op.slope))


@converter(Elu)
def elu(ctx, node):
    """elu, selu and celu share ember's ``Elu`` primitive:
    ``scale * x`` for ``x > 0``, else ``alpha * scale * (exp(x * input_scale) - 1)``."""
    op, x = node.op, ctx.input(node, 0)
    alpha, scale, input_scale = float(op.alpha), float(op.scale), float(op.input_scale)
    if not _wide(node):
        if scale == 1.0 and input_scale == 1.0:
            ctx.emit("Elu", [x], ctx.outputs(node), alpha=alpha)
            return
        if input_scale == 1.0:
            ctx.emit("Selu", [x], ctx.outputs(node), alpha=alpha, gamma=scale)
            return
        if scale == 1.0 and alpha != 0 and input_scale == 1.0 / alpha:
            ctx.emit("Celu", [x], ctx.outputs(node), alpha=alpha)
            return
    dt = _dtype(node)
    z = x if input_scale == 1.0 else ctx.emit("Mul", [x, ctx.scalar(input_scale, dt)])
    neg = ctx.emit("Mul", [ctx.emit("Sub", [ctx.emit("Exp", [z]), ctx.scalar(1, dt)]),
                           ctx.scalar(alpha * scale, dt)])
    pos = x if scale == 1.0 else ctx.emit("Mul", [x, ctx.scalar(scale, dt)])
    positive = ctx.emit("Greater", [x, ctx.scalar(0, dt)])
    ctx.emit("Where", [positive, pos, neg], ctx.outputs(node))


def _gelu_formula(ctx, node):
    dt = _dtype(node)
    x = ctx.input(node, 0)
    if node.op.approximate == "tanh":
        cube = ctx.emit("Mul", [ctx.emit("Mul", [x, x]), x])
        inner = ctx.emit("Mul", [ctx.emit("Add", [x, ctx.emit(
            "Mul", [cube, ctx.scalar(_GELU_TANH_A, dt)])]), ctx.scalar(_SQRT_2_OVER_PI, dt)])
        gate = ctx.emit("Tanh", [inner])
    else:
        z = ctx.emit("Mul", [x, ctx.scalar(_SQRT1_2, dt)])
        if _wide(node):                       # onnxruntime's Erf is float32 only
            gate = ctx.cast(ctx.emit("Erf", [ctx.cast(z, np.float32)]), dt)
        else:
            gate = ctx.emit("Erf", [z])
    half_x = ctx.emit("Mul", [x, ctx.scalar(0.5, dt)])
    ctx.emit("Mul", [half_x, ctx.emit("Add", [gate, ctx.scalar(1, dt)])], ctx.outputs(node))


@converter(Gelu)
def gelu(ctx, node):
    if ctx.opset >= 20 and not _wide(node):
        ctx.emit("Gelu", [ctx.input(node, 0)], ctx.outputs(node),
                 approximate=str(node.op.approximate))
    else:
        _gelu_formula(ctx, node)


@converter(Silu)
def silu(ctx, node):
    x = ctx.input(node, 0)
    ctx.emit("Mul", [x, ctx.emit("Sigmoid", [x])], ctx.outputs(node))


@converter(Mish)
def mish(ctx, node):
    x = ctx.input(node, 0)
    if _wide(node):
        soft = _softplus_formula(ctx, x, _dtype(node))
    elif ctx.opset >= 18:
        ctx.emit("Mish", [x], ctx.outputs(node))
        return
    else:
        soft = ctx.emit("Softplus", [x])
    ctx.emit("Mul", [x, ctx.emit("Tanh", [soft])], ctx.outputs(node))


@converter(Hardsigmoid)
def hardsigmoid(ctx, node):
    x = ctx.input(node, 0)
    if _wide(node):
        _hardsigmoid_formula(ctx, x, _dtype(node), ctx.outputs(node))
        return
    ctx.emit("HardSigmoid", [x], ctx.outputs(node), alpha=1.0 / 6.0, beta=0.5)


@converter(Hardswish)
def hardswish(ctx, node):
    x = ctx.input(node, 0)
    if _wide(node):
        gate = _hardsigmoid_formula(ctx, x, _dtype(node))
    elif ctx.opset >= 14:
        ctx.emit("HardSwish", [x], ctx.outputs(node))
        return
    else:
        gate = ctx.emit("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)
    ctx.emit("Mul", [x, gate], ctx.outputs(node))


@converter(LogSigmoid)
def logsigmoid(ctx, node):
    dt = _dtype(node)
    x = ctx.input(node, 0)
    tail = ctx.emit("Exp", [ctx.emit("Neg", [ctx.emit("Abs", [x])])])
    log1p = ctx.emit("Log", [ctx.emit("Add", [tail, ctx.scalar(1, dt)])])
    ctx.emit("Sub", [ctx.emit("Min", [x, ctx.scalar(0, dt)]), log1p], ctx.outputs(node))


@converter(Softplus)
def softplus(ctx, node):
    dt = _dtype(node)
    beta, threshold = float(node.op.beta), float(node.op.threshold)
    x = ctx.input(node, 0)
    wide = _wide(node)
    if beta == 1.0 and threshold >= 20.0 and not wide:
        ctx.emit("Softplus", [x], ctx.outputs(node))
        return
    bx = x if beta == 1.0 else ctx.emit("Mul", [x, ctx.scalar(beta, dt)])
    soft = _softplus_formula(ctx, bx, dt) if wide else ctx.emit("Softplus", [bx])
    if beta != 1.0:
        soft = ctx.emit("Div", [soft, ctx.scalar(beta, dt)])
    linear = ctx.emit("Greater", [bx, ctx.scalar(threshold, dt)])
    ctx.emit("Where", [linear, x, soft], ctx.outputs(node))


@converter(Softshrink)
def softshrink(ctx, node):
    lambd = float(node.op.lambd)
    ctx.emit("Shrink", [ctx.input(node, 0)], ctx.outputs(node), bias=lambd, lambd=lambd)


@converter(Hardshrink)
def hardshrink(ctx, node):
    ctx.emit("Shrink", [ctx.input(node, 0)], ctx.outputs(node), bias=0.0,
             lambd=float(node.op.lambd))


@converter(Softmax, LogSoftmax)
def softmax(ctx, node):
    op_type = "LogSoftmax" if isinstance(node.op, LogSoftmax) else "Softmax"
    x = ctx.input(node, 0)
    if len(node.inputs[0].shape) == 0:            # a 0-d input: softmax over one element
        y = ctx.emit(op_type, [ctx.unsqueeze(x, [0])], axis=0)
        ctx.squeeze(y, [0], ctx.outputs(node))
        return
    ctx.emit(op_type, [x], ctx.outputs(node), axis=int(node.op.axis))

