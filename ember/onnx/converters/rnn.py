"""Converters for the recurrent primitives of ``ember/ops/rnn.py``.

The mapping, ember op -> ONNX:

===============  ==========================================================================
RNNLayerOp       one ONNX ``LSTM`` / ``GRU`` / ``RNN`` node per layer and direction
(LSTM / GRU /    (``direction="forward"`` or ``"reverse"``). ember records every layer and
RNN_TANH /       direction of ``nn.LSTM``/``nn.GRU``/``nn.RNN`` as its own node, in the packed
RNN_RELU)        time-major layout ``x (T*B, I)``; the module's own transpose (batch_first),
                 reshapes, ``cat`` of the two directions and ``stack`` of the final states are
                 separate nodes with their own converters, so a multi-layer, bidirectional,
                 batch-first network becomes a chain of these nodes. Per node:

                 * ``X = Reshape(x, [-1, B, I])`` (``[seq, batch, input]``): ``B`` comes from
                   the state's size (``ctx.dim``) when the batch is dynamic; the sequence
                   length is always ``-1``, so it may change freely.
                 * ``W``/``R`` = ``w_ih``/``w_hh`` with their gate blocks reordered and a
                   leading ``num_directions`` axis of 1; ``B = [b_ih, b_hh]`` reordered the
                   same way (omitted without bias: ONNX reads zeros). Gate orders, PyTorch ->
                   ONNX: LSTM ``i, f, g, o`` -> ``i, o, f, c``; GRU ``r, z, n`` -> ``z, r, h``
                   with ``linear_before_reset=1`` (PyTorch's GRU applies ``r`` to
                   ``W_hn h + b_hn``, which is exactly ONNX's linear-before-reset form); RNN has
                   one gate (``activations=["Relu"]`` for ``nonlinearity="relu"``). Constant
                   weights are reordered here, into new initializers; weights that are graph
                   inputs (``export_params=False``) or computed by the model are reordered in
                   the graph (Split + Concat).
                 * ``initial_h``/``initial_c``: omitted (ONNX reads zeros, for any batch size)
                   when the state is the all-zeros constant the module makes for ``hx=None``;
                   otherwise ``Unsqueeze(h0, [0])``.
                 * outputs: ``Y [seq, 1, batch, hidden]`` -> ``Reshape(Y, [-1, hidden])`` (the
                   packed ``(T*B, hidden)`` output), ``Y_h``/``Y_c [1, batch, hidden]`` ->
                   ``Squeeze(0)``.

                 Refused, with a message saying why: LSTM with ``proj_size > 0`` (ONNX's LSTM
                 has no projection of the hidden state), and packed sequences of unequal
                 lengths (``PackedSequence``; ember's packed row layout differs from ONNX's
                 padded one; ``pack_padded_sequence`` itself has no converter either).
LSTMCellOp       the cell's formula in elementwise ops: ``a = gi + Gemm(h, W_hh, b_hh,
GRUCellOp        transB=1)``, split into the gates, Sigmoid/Tanh, then the state update (the
RNNCellOp        input part ``gi = x W_ih^T + b_ih`` is a ``Linear`` node of its own). GRU:
                 ``n = tanh(gi_n + r * (W_hn h + b_hn))``, ``h' = n + z * (h - n)``. The extra
                 outputs ember keeps for backward (gate activations) are written too; nothing
                 reads them, so the exporter's dead-node pass removes them.
===============  ==========================================================================

onnxruntime implements LSTM, GRU and RNN for float32 only: a layer of another float dtype
(float64, float16) is exported to compute in float32 between two Casts (with a warning), so
that the file runs; its results then carry float32 rounding.

ONNX's LSTM, GRU and RNN gained the ``layout`` attribute at opset 14 (not used: the packed
layout is time-major) and more types at 22; the form written here is the same at every
opset from 13.
"""
from __future__ import annotations

import warnings

import numpy as np

from ...ops.rnn import GRUCellOp, LSTMCellOp, RNNCellOp, RNNLayerOp, _input_names
from .._registry import converter
from ..errors import OnnxExporterError

# PyTorch's gate blocks listed in ONNX's order (ONNX gate k = PyTorch gate _ORDER[mode][k])
_ORDER = {"LSTM": (0, 3, 1, 2),          # i, f, g, o -> i, o, f, c
          "GRU": (1, 0, 2),              # r, z, n    -> z, r, h
          "RNN_TANH": (0,), "RNN_RELU": (0,)}
_ONNX_OP = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN"}


def _refuse(node, why: str):
    raise OnnxExporterError(f"ember.onnx.export: {node.op_name} at\n  {node.where}\n{why}")


def _is_zero_constant(v) -> bool:
    return v.is_const and v.const.size > 0 and not np.any(v.const)


def _as_run_dtype(ctx, name: str, dtype) -> str:
    """``name`` cast to float32 when the layer's dtype is another (see the module
    docstring)."""
    return name if dtype == np.float32 else ctx.cast(name, np.float32)


def _reordered(ctx, vs, order, hidden: int, hint: str) -> str:
    """The concatenation of the tensors ``vs`` (each ``(gates * hidden, ...)``, gate blocks
    in PyTorch's order), each with its gate blocks put in ONNX's ``order``, with a leading
    axis of 1 (``num_directions``): ONNX's ``W``, ``R`` or ``B``.

    Constant tensors (parameters, when exported) are reordered with NumPy into a new
    initializer; others (graph inputs with ``export_params=False``, or tensors the model
    computed) in the graph with Split + Concat. Either way the result is float32."""
    if ctx.export_params and all(v.is_const for v in vs):
        blocks = []
        for v in vs:
            parts = np.split(v.const, len(order), axis=0)
            blocks.extend(parts[k] for k in order)
        packed = np.concatenate(blocks, axis=0)[None].astype(np.float32, copy=False)
        return ctx.const(packed, hint=hint)
    pieces = []
    for v in vs:
        name = ctx.name(v)
        if len(order) == 1:
            pieces.append(name)
            continue
        parts = ctx.emit("Split", [name, ctx.int64s([hidden] * len(order))], len(order),
                         axis=0)
        pieces.extend(parts[k] for k in order)
    joined = pieces[0] if len(pieces) == 1 else ctx.emit("Concat", pieces, axis=0)
    return ctx.unsqueeze(_as_run_dtype(ctx, joined, vs[0].dtype), [0])


def _initial_state(ctx, v):
    """``initial_h``/``initial_c``: omitted for the all-zeros default state (ONNX reads zeros
    of the run-time batch size), else the state with a ``num_directions`` axis, in
    float32."""
    if _is_zero_constant(v):
        return None
    if v.is_const and not v.dyn:
        return ctx.const(v.const[None].astype(np.float32, copy=False))
    return ctx.unsqueeze(_as_run_dtype(ctx, ctx.name(v), v.dtype), [0])


def _sequence_shape(ctx, node, x, h0, batch: int, steps: int) -> str:
    """The target shape ``[seq, batch, input]`` for the packed input ``x (T*B, I)``: the
    sequence length is -1; a dynamic batch size comes from the state or a graph input."""
    size = x.shape[1]
    pair = h0.dyn.get(0)
    if pair is None:
        return ctx.int64s([-1, batch, size])
    d = ctx.dim(pair[0], pair[1], refs=[] if h0.is_const else [h0])
    if d is not None:
        return ctx.emit("Concat", [ctx.int64s([-1]), d, ctx.int64s([size])], axis=0)
    n_b = x.dyn.get(0, (x.shape[0], x.shape[0]))[1]
    if n_b == steps * pair[1]:                  # the sequence length is static
        return ctx.int64s([steps, -1, size])
    _refuse(node, "runs a recurrent layer whose batch size follows a dynamic axis that is "
            "not a size of any input, so the graph cannot compute it.")


@converter(RNNLayerOp)
def rnn_layer(ctx, node):
    prm = node.params
    mode = prm["mode"]
    a = dict(zip(_input_names(mode, prm["has_bias"], prm["has_proj"]), node.inputs))
    if a.get("w_hr") is not None:
        _refuse(node, "is an LSTM with proj_size > 0: ONNX's LSTM operator has no projection "
                "of the hidden state, so it cannot be exported. Use proj_size=0 (and a "
                "Linear layer on the outputs if a smaller state is wanted).")
    sizes = tuple(prm["batch_sizes"])
    if not sizes or any(s != sizes[0] for s in sizes):
        _refuse(node, "runs over a PackedSequence of unequal lengths (batch sizes "
                f"{list(sizes)}), which ONNX's recurrent operators cannot express in ember's "
                f"packed layout. Export the model on padded input (pad_packed_sequence "
                f"before the layer, or a padded batch) instead.")
    x, h0 = a["x"], a["h0"]
    batch, steps = sizes[0], len(sizes)
    hidden = a["w_hh"].shape[1]
    order = _ORDER[mode]
    hint = f"onnx::{_ONNX_OP[mode]}_"
    w = _reordered(ctx, [a["w_ih"]], order, hidden, hint + "W")
    r = _reordered(ctx, [a["w_hh"]], order, hidden, hint + "R")
    b = _reordered(ctx, [a["b_ih"], a["b_hh"]], order, hidden, hint + "B") \
        if prm["has_bias"] else None
    dtype = node.outputs[0].dtype
    if dtype != np.float32:
        warnings.warn(f"ember.onnx.export: {_ONNX_OP[mode]} in {dtype} is exported to run in "
                      f"float32 (onnxruntime implements the operator for float32 only); the "
                      f"results are cast back to {dtype}", UserWarning, stacklevel=2)
    xs = ctx.emit("Reshape", [_as_run_dtype(ctx, ctx.input(node, 0), dtype),
                              _sequence_shape(ctx, node, x, h0, batch, steps)])
    ins = [xs, w, r, b, None, _initial_state(ctx, h0)]
    attrs = {"hidden_size": hidden, "direction": "reverse" if prm["reverse"] else "forward"}
    if mode == "LSTM":
        ins.append(_initial_state(ctx, a["c0"]))
        n_out = 3
    else:
        n_out = 2
    if mode == "GRU":
        attrs["linear_before_reset"] = 1
    elif mode == "RNN_RELU":
        attrs["activations"] = ["Relu"]
    while ins[-1] is None:                       # trailing omitted inputs are left out
        ins.pop()
    outs = ctx.emit(_ONNX_OP[mode], ins, n_out, **attrs)
    if dtype != np.float32:
        outs = [ctx.cast(t, dtype) for t in outs]
    ctx.emit("Reshape", [outs[0], ctx.int64s([-1, hidden])], [ctx.out(node, 0)])
    for k in range(1, n_out):
        ctx.squeeze(outs[k], [0], [ctx.out(node, k)])


# ---------------------------------------------------------------------------------------
# single-step cells

def _hidden_gemm(ctx, node, h: int, w: int, b: int) -> str:
    """``h @ W_hh^T + b_hh`` for the cell inputs at positions ``h``, ``w``, ``b``."""
    bias = ctx.input(node, b) if node.inputs[b] is not None else None
    if len(node.inputs[h].shape) == 2:
        return ctx.emit("Gemm", [ctx.input(node, h), ctx.input(node, w), bias], transB=1)
    y = ctx.emit("MatMul", [ctx.input(node, h), ctx.emit("Transpose", [ctx.input(node, w)])])
    return y if bias is None else ctx.emit("Add", [y, bias])


def _split_gates(ctx, name: str, gates: int, hidden: int) -> list:
    return ctx.emit("Split", [name, ctx.int64s([hidden] * gates)], gates, axis=-1)


@converter(RNNCellOp)
def rnn_cell(ctx, node):
    pre = ctx.emit("Add", [ctx.input(node, 0), _hidden_gemm(ctx, node, 1, 2, 3)])
    relu = node.params.get("nonlinearity") == "relu"
    ctx.emit("Relu" if relu else "Tanh", [pre], ctx.outputs(node))


@converter(LSTMCellOp)
def lstm_cell(ctx, node):
    hidden = node.inputs[2].shape[-1]
    pre = ctx.emit("Add", [ctx.input(node, 0), _hidden_gemm(ctx, node, 1, 3, 4)])
    i, f, g, o = _split_gates(ctx, pre, 4, hidden)
    i, f, o = (ctx.emit("Sigmoid", [t]) for t in (i, f, o))
    g = ctx.emit("Tanh", [g])
    c_new = ctx.emit("Add", [ctx.emit("Mul", [f, ctx.input(node, 2)]),
                             ctx.emit("Mul", [i, g])], [ctx.out(node, 1)])
    ctx.emit("Mul", [o, ctx.emit("Tanh", [c_new])], [ctx.out(node, 0)])
    ctx.emit("Concat", [i, f, g, o], [ctx.out(node, 2)], axis=-1)


@converter(GRUCellOp)
def gru_cell(ctx, node):
    hidden = node.inputs[1].shape[-1]
    h = ctx.input(node, 1)
    gi_r, gi_z, gi_n = _split_gates(ctx, ctx.input(node, 0), 3, hidden)
    hw_r, hw_z, hw_n = _split_gates(ctx, _hidden_gemm(ctx, node, 1, 2, 3), 3, hidden)
    r = ctx.emit("Sigmoid", [ctx.emit("Add", [gi_r, hw_r])])
    z = ctx.emit("Sigmoid", [ctx.emit("Add", [gi_z, hw_z])])
    n = ctx.emit("Tanh", [ctx.emit("Add", [gi_n, ctx.emit("Mul", [r, hw_n])])])
    diff = ctx.emit("Sub", [h, n])
    ctx.emit("Add", [n, ctx.emit("Mul", [z, diff])], [ctx.out(node, 0)])
    ctx.emit("Concat", [r, z, n], [ctx.out(node, 1)], axis=-1)
    ctx.emit("Identity", [hw_n], [ctx.out(node, 2)])
