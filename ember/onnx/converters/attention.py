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
                  * ``blocked`` (the bool mask: ``is_causal``, or a bool ``attn_mask`` /
                    ``key_padding_mask``) is a constant, shrunk to size 1 along the axes where
                    it does not vary so that it broadcasts over dynamic axes. The causal mask
                    (True above the diagonal, top-left aligned) over a dynamic query or key
                    length is built at run time from two ``Range``s; any other bool mask that
                    varies along a dynamic axis is refused;
                  * ``safe`` (scaled_dot_product_attention, and MultiheadAttention without
                    weights): queries whose keys are all masked give 0, not NaN. When that can
                    happen (a float mask that is computed or holds -inf, or a bool mask with a
                    fully masked row) the Softmax is followed by ``Where(rowmax == -inf, 0,
                    .)``, with ``rowmax`` a ``ReduceMax`` over the keys;
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

Limitation (in ember's attention, not in this file): a bool mask that is a *graph input*
(an ``attn_mask`` or ``key_padding_mask`` argument of the exported model) is read by ember as
a NumPy array (the op's ``blocked`` parameter), which the tracer cannot follow. Such a mask is
refused when it varies along a dynamic axis, but otherwise it would be frozen to the
example's values: pass masks that are inputs as float tensors (0 / -inf, added to the
scores), which are graph tensors.
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


def _is_causal(mask2d: np.ndarray) -> bool:
    n, m = mask2d.shape
    return n > 1 and np.array_equal(mask2d, np.triu(np.ones((n, m), dtype=bool), 1))


def _causal_mask(ctx, q_name, k_name, q, k) -> str:
    """The causal mask of the run-time sizes (True where the key position is greater than
    the query position: top-left aligned, as PyTorch's ``is_causal``)."""
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


def _causal_shaped(m: np.ndarray, shape, varying) -> bool:
    """Whether the bool mask ``m`` (aligned and shrunk) is the causal mask over the scores'
    last two axes."""
    r = len(shape)
    return set(varying) <= {r - 2, r - 1} and all(s == 1 for s in m.shape[:-2]) and \
        m.shape[-2:] == tuple(shape[-2:]) and _is_causal(m.reshape(m.shape[-2:]))


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


def _blocked_mask(ctx, node, blocked, q_name, k_name, q, k):
    """The bool mask (True: excluded) as a graph tensor broadcastable to the scores, and
    whether some query has all its keys excluded."""
    b, shape, varying = _varying_dynamic_axes(np.asarray(blocked, dtype=bool), q, k)
    full_rows = shape[-1] > 0 and bool(
        np.broadcast_to(b, b.shape[:-1] + (shape[-1],)).all(-1).any())
    if not varying:
        return ctx.const(b), full_rows
    if _causal_shaped(b, shape, varying):
        return _causal_mask(ctx, q_name, k_name, q, k), False
    _refuse(node, f"applies a boolean attention mask of shape {tuple(np.shape(blocked))} that "
            f"varies along axes {varying} of the scores {shape}, which follow dynamic axes. "
            f"ember's attention reads boolean masks as constants of the graph (a boolean mask "
            f"that is an input of the model would be frozen to the example's values), and a "
            f"constant cannot follow dynamic axes: pass the mask as a float tensor (0 where "
            f"allowed, -inf where masked), use is_causal=True for a causal mask, or mark "
            f"fewer axes dynamic.")


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
    if len(node.inputs) > 3:                        # the additive (float) mask
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
    blocked = node.params.get("blocked")
    if blocked is not None:
        b, full_rows = _blocked_mask(ctx, node, blocked, q_name, k_name, q, k)
        s = ctx.emit("Where", [b, ctx.scalar(-np.inf, dtype), s])
        may_die = may_die or full_rows
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
