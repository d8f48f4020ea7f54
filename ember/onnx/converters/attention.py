"""Converters for the attention primitives of ``ember/ops/attention.py``.

``scaled_dot_product_attention``, ``nn.MultiheadAttention`` (and with it
``nn.TransformerEncoderLayer`` and friends) record three kinds of nodes: the fused
``_Attention`` op (and its subclasses with a float mask and/or the weights as a second
output), and ``_SplitHeads``/``_MergeHeads`` around it in multi-head attention; the
projections are ``Linear`` nodes, the head average of the weights a ``Mean``, each with its
own converter.

The mapping, ember op -> ONNX:

================  ==========================================================================
_Attention        the subgraph ``MatMul(q, Transpose(k)) -> Mul(scale) -> Add(float mask)
(and _Attention-  -> Where(blocked, -inf, .) -> Softmax(axis=-1) -> MatMul(., v)``, valid at
Mask, _Attention- every opset from 13 (ONNX's ``Attention`` operator of opset 23 is not used:
Weights, _Atten-  the subgraph is exact everywhere). The weights output, when the op has one,
tionMaskWeights)  is the Softmax. Details:

                  * the score scale is applied after the product, as ember does (in the
                    scores' dtype); a float mask of another dtype is cast to it, a constant
                    one is shrunk to size 1 along the axes where it does not vary (so that it
                    broadcasts over dynamic axes);
                  * the bool mask (input 4, True: excluded; a negated bool ``attn_mask``,
                    a bool ``key_padding_mask``, or both combined by ember ops) is a graph
                    tensor like any other, so a mask given as an input of the model stays an
                    input (a Where on the scores). A constant one (a buffer) is shrunk to
                    size 1 along the axes where it does not vary, so that it broadcasts over
                    dynamic axes;
                  * ``causal=True`` (``is_causal``; no other mask then): the causal mask (True
                    above the diagonal, top-left aligned) is a constant when the query and key
                    lengths are static, else built at run time from two ``Range``s;
                  * ``safe`` (scaled_dot_product_attention, and MultiheadAttention without
                    weights): queries whose keys are all masked give 0, not NaN. When that can
                    happen (a mask that is computed or an input, a constant float mask that
                    holds -inf, a constant bool mask with a fully masked row) the Softmax is
                    followed by ``Where(rowmax == -inf, 0, .)``, with ``rowmax`` a
                    ``ReduceMax`` over the keys;
                  * dropout on the probabilities (``dropout_p > 0``, which
                    ``scaled_dot_product_attention`` applies even in eval mode) is refused: the
                    result is random. MultiheadAttention in eval mode passes 0.
_SplitHeads       ``Split`` of the projection's last axis into q/k/v (when it holds several),
                  then per part ``Reshape [0, 0, heads, head_dim]`` (0 copies the batch and
                  sequence sizes, so both may be dynamic) and ``Transpose`` to
                  ``(N, heads, L, head_dim)``.
_MergeHeads       per part ``Transpose`` to ``(N, L, heads, head_dim)`` (``(L, N, ...)`` unless
                  batch-first), ``Reshape [0, 0, heads * head_dim]``, ``Concat`` of the parts.
================  ==========================================================================

Masks that are inputs of the model (float or bool ``attn_mask``, ``key_padding_mask``,
``src_key_padding_mask``) stay graph inputs: ember's attention takes its masks as tensor
inputs and combines them with ember ops (``ember/ops/attention.py``), so the trace records
where they come from, and the exported graph applies whatever mask it is given at run time.
"""
from __future__ import annotations

import numpy as np

from ...ops.attention import _Attention, _MergeHeads, _SplitHeads
from .._registry import converter
from ..errors import OnnxExporterError


def _refuse(node, why: str):
    raise OnnxExporterError(f"ember.onnx.export: {node.op_name} at\n  {node.where}\n{why}")


def _size(ctx, name: str, axis: int) -> str:
    """A 0-d int64 tensor: ``name``'s size along ``axis`` at run time (for Range)."""
    if ctx.opset >= 15:
        s = ctx.emit("Shape", [name], start=axis, end=axis + 1)
    else:
        s = ctx.emit("Gather", [ctx.emit("Shape", [name]), ctx.int64s([axis])], axis=0)
    return ctx.squeeze(s, [0])


def _scores_layout(q, k):
    """The scores' shape ``(..., L, S)`` and, per axis, whether it follows a dynamic axis."""
    lead_q, lead_k = q.shape[:-2], k.shape[:-2]
    lead = np.broadcast_shapes(lead_q, lead_k)
    shape = tuple(lead) + (q.shape[-2], k.shape[-2])
    r = len(shape)
    dyn = [False] * r
    for v in (q, k):
        off = r - len(v.shape)
        for ax in v.dyn:
            if ax < len(v.shape) - 2:
                dyn[ax + off] = True
    dyn[r - 2] = (len(q.shape) - 2) in q.dyn
    dyn[r - 1] = (len(k.shape) - 2) in k.dyn
    return shape, dyn


def _shrink(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every axis along which it does not vary reduced to size 1."""
    for ax in range(mask.ndim):
        if mask.shape[ax] > 1 and (mask == mask.take([0], axis=ax)).all():
            mask = mask.take([0], axis=ax)
    return mask


def _causal_mask(ctx, q_name, k_name, q, k) -> str:
    """The causal mask of the run-time sizes (True where the key position is greater than
    the query position: top-left aligned, as PyTorch's ``is_causal``): a constant when both
    lengths are static, else two ``Range``s compared."""
    shape, dyn = _scores_layout(q, k)
    if not (dyn[-2] or dyn[-1]):
        return ctx.const(np.triu(np.ones(shape[-2:], dtype=bool), 1))
    zero, one = ctx.scalar(0, np.int64), ctx.scalar(1, np.int64)
    rows = ctx.emit("Range", [zero, _size(ctx, q_name, len(q.shape) - 2), one])
    cols = ctx.emit("Range", [zero, _size(ctx, k_name, len(k.shape) - 2), one])
    return ctx.emit("Greater", [ctx.unsqueeze(cols, [0]), ctx.unsqueeze(rows, [1])])


def _varying_dynamic_axes(mask: np.ndarray, q, k):
    """``(mask aligned to the scores' rank and shrunk, scores shape, axes along which it
    varies that follow dynamic axes)``."""
    shape, dyn = _scores_layout(q, k)
    r = len(shape)
    m = _shrink(mask.reshape((1,) * (r - mask.ndim) + mask.shape))
    return m, shape, [ax for ax in range(r) if m.shape[ax] > 1 and dyn[ax]]


def _constant_float_mask(ctx, node, mask: np.ndarray, q, k, dtype):
    """A constant additive mask, shrunk so that it broadcasts over dynamic axes; None when
    it needs no shrinking (then the mask is used as it is, keeping a buffer's name)."""
    m, shape, varying = _varying_dynamic_axes(mask, q, k)
    if varying:
        _refuse(node, f"adds a constant attention mask of shape {tuple(mask.shape)} that "
                f"varies along axes {varying} of the scores {shape}, which follow dynamic "
                f"axes, so it cannot follow them. Compute the mask from the inputs, pass it "
                f"as an input, use is_causal=True for a causal mask, or mark fewer axes "
                f"dynamic.")
    return None if m.size == mask.size else ctx.const(m.astype(dtype))


def _blocked_mask(ctx, node, q, k):
    """The bool mask (input 4, True: excluded) as a graph tensor broadcastable to the
    scores, and whether some query may have all its keys excluded."""
    blocked = node.inputs[4]
    if not blocked.is_const:                    # computed, or an input of the model
        return ctx.input(node, 4), True
    b, shape, varying = _varying_dynamic_axes(blocked.const, q, k)
    if varying:
        _refuse(node, f"applies a constant boolean attention mask of shape "
                f"{tuple(blocked.shape)} that varies along axes {varying} of the scores "
                f"{shape}, which follow dynamic axes, so it cannot follow them. Compute the "
                f"mask from the inputs, pass it as an input, use is_causal=True for a causal "
                f"mask, or mark fewer axes dynamic.")
    full_rows = shape[-1] > 0 and bool(
        np.broadcast_to(b, b.shape[:-1] + (shape[-1],)).all(-1).any())
    if b.size == blocked.const.size and not blocked.dyn:
        return ctx.input(node, 4), full_rows    # as it is (a buffer keeps its name)
    return ctx.const(b), full_rows


@converter(_Attention)
def attention(ctx, node):
    q, k = node.inputs[:2]
    if node.params.get("dropout_p", 0.0) > 0:
        _refuse(node, f"applies dropout (p={node.params['dropout_p']}) to the attention "
                f"probabilities; scaled_dot_product_attention does so even in eval mode, so "
                f"the result is random. Pass dropout_p=0.0 when not training (for example "
                f"dropout_p=self.p if self.training else 0.0).")
    dtype = node.outputs[0].dtype
    q_name, k_name = ctx.input(node, 0), ctx.input(node, 1)
    rk = len(k.shape)
    perm = list(range(rk - 2)) + [rk - 1, rk - 2]
    s = ctx.emit("MatMul", [q_name, ctx.emit("Transpose", [k_name], perm=perm)])
    scale = float(node.params["scale"])
    if scale != 1:
        s = ctx.emit("Mul", [s, ctx.scalar(scale, dtype)])
    may_die = False
    if node.inputs[3] is not None:                  # the additive (float) mask
        mask = node.inputs[3]
        m = None
        if mask.is_const and not mask.dyn:
            m = _constant_float_mask(ctx, node, mask.const, q, k, dtype)
        if m is None:
            m = ctx.input(node, 3)
            if mask.dtype != dtype:
                m = ctx.cast(m, dtype)
        s = ctx.emit("Add", [s, m])
        may_die = not mask.is_const or bool(np.isneginf(mask.const).any())
    b = None
    if node.params.get("causal"):                   # no query loses all its keys (S > 0)
        b = _causal_mask(ctx, q_name, k_name, q, k)
    elif node.inputs[4] is not None:                # the bool mask
        b, full_rows = _blocked_mask(ctx, node, q, k)
        may_die = may_die or full_rows
    if b is not None:
        s = ctx.emit("Where", [b, ctx.scalar(-np.inf, dtype), s])
    weights = len(node.outputs) > 1
    if node.params.get("safe") and may_die:
        p = ctx.emit("Softmax", [s], axis=-1)
        rowmax = ctx.reduce("ReduceMax", s, [-1], keepdims=True)
        dead = ctx.emit("Equal", [rowmax, ctx.scalar(-np.inf, dtype)])
        p = ctx.emit("Where", [dead, ctx.scalar(0, dtype), p],
                     [ctx.out(node, 1)] if weights else 1)
    else:
        p = ctx.emit("Softmax", [s], [ctx.out(node, 1)] if weights else 1, axis=-1)
    ctx.emit("MatMul", [p, ctx.input(node, 2)], [ctx.out(node, 0)])


@converter(_SplitHeads)
def split_heads(ctx, node):
    prm = node.params
    parts, heads = int(prm["parts"]), int(prm["heads"])
    width = node.inputs[0].shape[-1]
    head_dim = width // (parts * heads)
    x = ctx.input(node, 0)
    pieces = [x] if parts == 1 else \
        ctx.emit("Split", [x, ctx.int64s([width // parts] * parts)], parts, axis=2)
    perm = [0, 2, 1, 3] if prm["batch_first"] else [1, 2, 0, 3]
    for i, piece in enumerate(pieces):
        y = ctx.emit("Reshape", [piece, ctx.int64s([0, 0, heads, head_dim])])
        ctx.emit("Transpose", [y], [ctx.out(node, i)], perm=perm)


@converter(_MergeHeads)
def merge_heads(ctx, node):
    heads, head_dim = node.inputs[0].shape[1], node.inputs[0].shape[3]
    perm = [0, 2, 1, 3] if node.params["batch_first"] else [2, 0, 1, 3]
    single = len(node.inputs) == 1
    pieces = []
    for i in range(len(node.inputs)):
        t = ctx.emit("Transpose", [ctx.input(node, i)], perm=perm)
        pieces.append(ctx.emit("Reshape", [t, ctx.int64s([0, 0, heads * head_dim])],
                               [ctx.out(node, 0)] if single else 1))
    if not single:
        ctx.emit("Concat", pieces, [ctx.out(node, 0)], axis=2)
