"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

Both run on one fused primitive, ``_Attention``: ``softmax(q @ k^T * scale + mask)``, an
optional dropout of the probabilities, and the product with ``v``, as a single graph node.
Its forward works in place on the one ``(..., L, S)`` score array (scale, mask, softmax), and
its ordinary backward is NumPy on the saved probabilities::

    dV = P'^T @ g                   P' = P * keep / (1 - p)   (P itself without dropout)
    dP = (g @ v^T) * keep / (1 - p)
    dS = P * (dP - rowsum(dP * P))  (the softmax backward; also the additive mask's grad)
    dQ = dS @ k * scale,  dK = dS^T @ q * scale

When the backward itself is recorded (``create_graph=True``), the same formulas run in ember
operations on probabilities recomputed from ``q`` and ``k``, so double backward works.

Masks reach the primitive as tensor inputs, so that the ONNX tracer sees where they come
from (a mask that is an input of an exported model stays an input of the graph): ``mask``, an
additive float mask (it gets a gradient), and ``blocked``, a bool mask (True: the key is
excluded; no gradient). Where several masks meet (a bool ``attn_mask`` negated, an attention
mask and a key padding mask combined, a column appended for ``bias_k`` or
``add_zero_attn``) they are combined with ember ops, which record like any other; only the
causal mask is a parameter (``causal=True``), built inside the op from the scores' shape.

Rows whose keys are all masked: ``scaled_dot_product_attention`` (like PyTorch 2.13, all
backends) returns zeros for them and passes no gradient; MultiheadAttention with
``need_weights=True`` uses a plain softmax (PyTorch's ``bmm``/``softmax`` path) and gives NaN.

Multi-head attention keeps the heads in strided views of the projections: one GEMM projects
``q, k, v`` together (self-attention), ``_SplitHeads`` views the result as ``(N, H, L, D)``
without copying (NumPy's batched matmul takes those strides as they are), and
``_MergeHeads`` writes the heads back into ``(N, L, E)`` (or ``(L, N, E)``) for the output
projection; the two are each other's backward. Batch-first inputs are projected in their
own layout, so no transposes are copied.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._random import default_rng
from ..autograd.grad_mode import STATE
from ._op import Op, Tensor, _wrap

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]

_FLOAT_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
                "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
                "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
                "bool": "bool", "complex64": "c10::complex<float>",
                "complex128": "c10::complex<double>"}


def _cname(t: Tensor) -> str:
    """The C++ type name PyTorch prints for a dtype ('float', 'double', 'long int')."""
    return _FLOAT_NAMES.get(t.dtype.name, t.dtype.name)


def _check_tensor(x, fn, name, pos):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


def _swap(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _size(shape) -> str:
    return f"ember.Size([{', '.join(map(str, shape))}])"


# ---------------------------------------------------------------------------------------
# The fused primitive

class _Attention(Op):
    """``softmax(q @ k^T * scale + mask) @ v`` (with optional dropout) as one node.

    Inputs: ``q (..., L, E)``, ``k (..., S, E)``, ``v (..., S, Ev)``, then two optional
    masks (None when absent), both broadcastable to the scores ``(..., L, S)``: ``mask``, a
    float mask added to the scores (it receives ``dS`` as its gradient; the subclasses with
    ``Mask`` in their name save it), and ``blocked``, a bool mask, True where a key is
    excluded (no gradient). Parameters: ``scale``, ``dropout_p``, ``safe`` (fully masked rows
    give 0 rather than NaN) and ``causal`` (exclude the keys after each query's position,
    top-left aligned; then ``blocked`` is None).
    """

    save_inputs = (0, 1, 2)
    has_mask = False                    # a float mask is given (and saved, input 3)
    weights = False                     # also return the (dropped-out) probabilities

    def forward(self, q, k, v, mask, blocked, *, scale, dropout_p, safe, causal):
        if causal:
            blocked = _causal_block(q.shape[-2], k.shape[-2])
        self.scale, self.blocked, self.safe = scale, blocked, safe
        s = np.matmul(q, _swap(k))                          # (..., L, S): a fresh array
        if scale != 1:
            s *= s.dtype.type(scale)
        if mask is not None:
            if np.broadcast_shapes(s.shape, mask.shape) == s.shape:
                s += mask
            else:                                           # checked by the callers
                s = s + mask
        if blocked is not None:
            np.copyto(s, -np.inf, where=blocked)
        p, self.dead = _softmax_rows(s, safe)               # in place: p is s
        self.keep = None
        if dropout_p > 0 and p.size:
            # the kept entries scaled by 1/(1-p), drawn as ember's dropout draws its masks
            if dropout_p >= 1:
                keep = np.zeros(p.shape, dtype=p.dtype)
            else:
                u = default_rng().random(p.shape, dtype=np.float32)
                keep = np.multiply(u >= np.float32(dropout_p),
                                   p.dtype.type(1 / (1 - dropout_p)), dtype=p.dtype)
            self.keep = keep
            pd = p * keep
        else:
            pd = p
        self.p = p
        out = np.matmul(pd, v)
        if self.weights:
            return out, pd
        return out

    def backward(self, grad, grad_w=None):
        saved = self.saved_tensors
        q, k, v = saved[0], saved[1], saved[2]
        if STATE.enabled:                   # create_graph: a differentiable backward
            return self._backward_graph(q, k, v, saved, grad, grad_w)
        needs = self.needs_input_grad
        # P: with dropout an internal array; without, the returned weights themselves,
        # read through saved_tensors so that in-place changes to them are detected
        p = self.p if not self.weights or self.keep is not None else saved[-1]._data
        keep, g = self.keep, grad._data
        pd = p if keep is None else p * keep
        gv = _wrap(np.matmul(_swap(pd), g)) if needs[2] else None
        gq = gk = gm = None
        mask_grad = needs[3]
        if needs[0] or needs[1] or mask_grad:
            ds = np.matmul(g, _swap(v._data))                # dP' (..., L, S)
            if grad_w is not None:
                ds += grad_w._data
            if keep is not None:
                ds *= keep
            r = np.einsum("...j,...j->...", ds, p)[..., None]     # rowsum(dP' * P)
            ds -= r
            ds *= p                                          # dS
            if mask_grad:
                gm = _wrap(ds)                  # not written to below
            sc = ds.dtype.type(self.scale)
            if needs[0]:
                a = np.matmul(ds, k._data)
                a *= sc
                gq = _wrap(a)
            if needs[1]:
                a = np.matmul(_swap(ds), q._data)
                a *= sc
                gk = _wrap(a)
        return gq, gk, gv, gm, None

    def _probs_graph(self, q, k, mask):
        """The softmax probabilities recomputed with ember operations (differentiable)."""
        from .activation import softmax
        from .elementwise import where
        s = q.matmul(k.transpose(-2, -1))
        if self.scale != 1:
            s = s * self.scale
        if mask is not None:
            s = s + mask
        if self.blocked is not None:
            s = s.masked_fill(_wrap(np.asarray(self.blocked)), float("-inf"))
        dead = self.dead
        if dead is not None:                # softmax of a finite row, then zeroed: no NaN
            d = _wrap(dead)
            s = where(d, _wrap(np.zeros((), dtype=s._data.dtype)), s)
            p = softmax(s, -1)
            return where(d, _wrap(np.zeros((), dtype=p._data.dtype)), p)
        return softmax(s, -1)

    def _backward_graph(self, q, k, v, saved, grad, grad_w):
        needs = self.needs_input_grad
        mask = saved[3] if self.has_mask else None
        if q._data.shape[-2] == 0 or k._data.shape[-2] == 0:
            p = _wrap(self.p)
        else:
            p = self._probs_graph(q, k, mask)
        keep = _wrap(self.keep) if self.keep is not None else None
        pd = p if keep is None else p * keep
        gv = pd.transpose(-2, -1).matmul(grad) if needs[2] else None
        gq = gk = gm = None
        if needs[0] or needs[1] or needs[3]:
            dp = grad.matmul(v.transpose(-2, -1))
            if grad_w is not None:
                dp = dp + grad_w
            if keep is not None:
                dp = dp * keep
            ds = p * (dp - (dp * p).sum(-1, keepdim=True))
            gm = ds if needs[3] else None
            if needs[0]:
                gq = ds.matmul(k) * self.scale
            if needs[1]:
                gk = ds.transpose(-2, -1).matmul(q) * self.scale
        return gq, gk, gv, gm, None

    def name(self):
        return "ScaledDotProductAttentionBackward0"


class _AttentionMask(_Attention):
    has_mask = True
    save_inputs = (0, 1, 2, 3)


class _AttentionWeights(_Attention):
    """Also returns the probabilities (after dropout) as a second output."""
    weights = True
    save_outputs = (1,)                 # the returned weights: in-place changes are caught


class _AttentionMaskWeights(_AttentionWeights):
    has_mask = True
    save_inputs = (0, 1, 2, 3)


def _softmax_rows(s: np.ndarray, safe: bool):
    """Softmax over the last axis of ``s``, in place. ``safe``: rows that are all -inf
    become 0 (else NaN, as a plain softmax gives). Returns ``(s, dead)``: ``dead`` marks
    the rows zeroed by the safe softmax (``(..., L, 1)`` bool), or is None if there are
    none."""
    dead = None
    if s.shape[-1] == 0 or s.size == 0:
        return s, dead
    m = s.max(axis=-1, keepdims=True)
    if safe:
        dead = m == -np.inf
        if dead.any():
            m[dead] = 0
        else:
            dead = None
    with np.errstate(invalid="ignore"):
        s -= m
        np.exp(s, out=s)
        z = _row_sums(s)
        if dead is not None:
            np.copyto(z, 1, where=dead)
        s *= 1 / z
    return s, dead


def _row_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(-1, keepdims=True)`` as a matrix-vector product: NumPy's reduction over a
    short last axis pays a per-row overhead that BLAS does not (about 10x here)."""
    return np.matmul(a, np.ones(a.shape[-1], dtype=a.dtype))[..., None]


def _attention(q, k, v, fmask, blocked, scale, dropout_p, safe, weights, causal=False):
    """Run the fused primitive. ``fmask``: an additive float Tensor or None; ``blocked``: a
    bool Tensor (True: excluded) or None; ``causal``: the causal mask instead of both."""
    if weights:
        cls = _AttentionMaskWeights if fmask is not None else _AttentionWeights
    else:
        cls = _AttentionMask if fmask is not None else _Attention
    return cls.apply(q, k, v, fmask, blocked, scale=scale, dropout_p=float(dropout_p),
                     safe=safe, causal=causal)


# ---------------------------------------------------------------------------------------
# scaled_dot_product_attention

def _causal_block(L: int, S: int) -> np.ndarray:
    """True above the diagonal of an (L, S) matrix (top-left aligned, as PyTorch)."""
    return np.triu(np.ones((L, S), dtype=bool), 1)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value``, with dropout on the probabilities.

    Args:
        query: ``(..., L, E)``; key: ``(..., S, E)``; value: ``(..., S, Ev)``. The leading
            dimensions broadcast.
        attn_mask: bool (True: the query may attend to that key) or float (added to the
            scores), broadcastable to ``(..., L, S)``.
        dropout_p: probability of zeroing an attention probability (always applied when
            > 0; pass 0 in evaluation).
        is_causal: mask out keys after the query's position (top-left aligned); not
            together with ``attn_mask``.
        scale: the score scale; default ``1 / sqrt(E)``.
        enable_gqa: grouped-query attention: ``query`` may have more heads (dim -3) than
            ``key``/``value``, a multiple of them; each key/value head serves a consecutive
            group of query heads.

    Returns:
        ``(..., L, Ev)``. Queries whose keys are all masked get zeros (and no gradient).
    """
    fn = "scaled_dot_product_attention"
    _check_tensor(query, fn, "query", 1)
    _check_tensor(key, fn, "key", 2)
    _check_tensor(value, fn, "value", 3)
    if attn_mask is not None:
        _check_tensor(attn_mask, fn, "attn_mask", 4)
    qs, ks, vs = query._data.shape, key._data.shape, value._data.shape
    if len(qs) < 2 or len(ks) < 2 or len(vs) < 2:
        raise RuntimeError(f"Expected query, key, and value to all be  at least 2 dimensional, "
                           f"but got query.dim: {len(qs)} key.dim: {len(ks)} and value.dim: "
                           f"{len(vs)} instead.")
    if not (query.dtype is key.dtype is value.dtype):
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {_cname(query)} key.dtype: {_cname(key)} and "
                           f"value.dtype: {_cname(value)} instead.")
    if query._data.dtype.kind != "f":
        raise RuntimeError(f"expected scalar type Float but found "
                           f"{query.dtype._legacy[:-len('Tensor')]}")
    if attn_mask is not None and attn_mask.dtype.name != "bool" and \
            attn_mask.dtype.name != "float32" and attn_mask.dtype is not query.dtype:
        raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query "
                           f"dtype, but got attn_mask.dtype: {_cname(attn_mask)} and  "
                           f"query.dtype: {_cname(query)} instead.")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                           "set when is_causal=True")
    if not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if qs[-1] != ks[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query and key must have the same "
                           f"embedding size (last dimension), but got query {list(qs)} and "
                           f"key {list(ks)}")
    if ks[-2] != vs[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: key and value must have the same "
                           f"sequence length (dimension -2), but got key {list(ks)} and value "
                           f"{list(vs)}")
    q, k, v = query, key, value
    group = None
    if enable_gqa and len(qs) >= 3 and len(ks) >= 3 and qs[-3] != ks[-3]:
        hq, hk = qs[-3], ks[-3]
        if hk == 0 or hq % hk != 0 or len(vs) < 3 or vs[-3] != hk:
            raise RuntimeError("Number of heads in key and value must divide the number of "
                               f"heads in query (got query {hq}, key {hk}, value "
                               f"{vs[-3] if len(vs) >= 3 else 'none'})")
        group = (hk, hq // hk)
        # (..., Hk, G, L, E) against (..., Hk, 1, S, E): broadcasting shares each key/value
        # head across its group of query heads without copying them
        q = query.unflatten(-3, group)
        k, v = key.unsqueeze(-3), value.unsqueeze(-3)
    batch = np.broadcast_shapes(q._data.shape[:-2], k._data.shape[:-2], v._data.shape[:-2])
    L, S = qs[-2], ks[-2]
    out_shape = tuple(batch) + (L, S)
    fmask = blocked = None
    causal = False
    if attn_mask is not None:
        ms = attn_mask._data.shape
        m = attn_mask
        if group is not None and len(ms) >= 3:
            m = m.unflatten(-3, group) if ms[-3] != 1 else m.unsqueeze(-3)
        shape = out_shape if group is None else tuple(batch[:-2]) + (group[0] * group[1], L, S)
        try:
            bshape = np.broadcast_shapes(shape, ms)
        except ValueError:
            bshape = None
        if bshape != shape:
            raise RuntimeError(f"scaled_dot_product_attention: attn_mask of shape {list(ms)} "
                               f"does not broadcast to the attention scores' shape "
                               f"{list(shape)}")
        if attn_mask.dtype.name == "bool":
            blocked = ~m                    # True: may attend -> True: excluded (an op)
        else:
            fmask = m
    elif is_causal:
        causal = True
    if scale is None:
        scale = 1.0 / math.sqrt(qs[-1]) if qs[-1] else float("inf")
    out = _attention(q, k, v, fmask, blocked, float(scale), dropout_p, True, False, causal)
    if group is not None:
        out = out.flatten(-4, -3)
    return out


# ---------------------------------------------------------------------------------------
# Heads: (N, L, parts * E) <-> parts x (N, H, L, D), both as one node each

class _SplitHeads(Op):
    """View a projection ``(N, L, parts*E)`` (``(L, N, parts*E)`` if not batch-first) as
    ``parts`` tensors ``(N, H, L, D)``; strided views, no copy."""

    def forward(self, x, *, parts, heads, batch_first):
        self.parts, self.heads, self.batch_first = parts, heads, batch_first
        a, b, width = x.shape
        d = width // (parts * heads)
        x5 = x.reshape(a, b, parts, heads, d)
        order = (0, 2, 1, 3) if batch_first else (1, 2, 0, 3)
        outs = tuple(x5[:, :, i].transpose(order) for i in range(parts))
        return outs if parts > 1 else outs[0]

    def backward(self, *grads):
        return _MergeHeads.apply(*grads, batch_first=self.batch_first)


class _MergeHeads(Op):
    """Write ``parts`` tensors ``(N, H, L, D)`` into one contiguous ``(N, L, parts*E)``
    (``(L, N, parts*E)`` if not batch-first)."""

    def forward(self, *hs, batch_first):
        self.batch_first = batch_first
        n, h, length, d = hs[0].shape
        parts = len(hs)
        self.parts, self.heads = parts, h
        lead = (n, length) if batch_first else (length, n)
        out = np.empty(lead + (parts, h, d), dtype=np.result_type(*hs))
        order = (0, 2, 1, 3) if batch_first else (2, 0, 1, 3)
        for i, x in enumerate(hs):
            out[:, :, i] = x.transpose(order)
        return out.reshape(lead + (parts * h * d,))

    def backward(self, grad):
        return _SplitHeads.apply(grad, parts=self.parts, heads=self.heads,
                                 batch_first=self.batch_first)


def _split(x, parts, heads, batch_first):
    out = _SplitHeads.apply(x, parts=parts, heads=heads, batch_first=batch_first)
    return out if parts > 1 else (out,)


# ---------------------------------------------------------------------------------------
# multi-head attention

def _none_or_dtype(input):
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or ember.Tensor")


def _check_mask(mask, mask_name, other_type, other_name, check_other=True):
    """PyTorch's checks on a mask argument: bool or floating, and (deprecated, a warning)
    of the same type as the other mask."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"{mask_name} must be a Tensor, not {type(mask).__name__}")
    if mask.dtype.name != "bool" and mask._data.dtype.kind != "f":
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype is not other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. "
                      f"Use same type for both instead.", stacklevel=4)


def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    """A bool mask (True: excluded) as a float mask of ``target_type`` (0 / -inf); float
    masks unchanged. Warns, as PyTorch, when ``mask`` and the other mask differ in type.

    The conversion is an ember op (``Where``), so that a mask given as an input of an
    exported model stays an input of the graph."""
    if mask is None:
        return None
    _check_mask(mask, mask_name, other_type, other_name, check_other)
    if mask.dtype.name == "bool":
        from .elementwise import Where
        t = target_type.np.type
        return Where.apply(mask, t(-np.inf), t(0), dtype=target_type.np)
    return mask


def _split_mask(mask):
    """A canonical-type mask (bool: True excluded; or float) as (float Tensor or None,
    bool Tensor or None): bool masks stay bool, so no float mask has to be built."""
    if mask is None:
        return None, None
    if mask.dtype.name == "bool":
        return None, mask
    return mask, None


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    qd = query.dim()
    if qd == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError(f"For batched (3-D) `query`, expected `key` and `value` to be "
                                 f"3-D but found {key.dim()}-D and {value.dim()}-D tensors "
                                 f"respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError(f"For batched (3-D) `query`, expected `key_padding_mask` to "
                                 f"be `None` or 2-D but found {key_padding_mask.dim()}-D tensor "
                                 f"instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError(f"For batched (3-D) `query`, expected `attn_mask` to be "
                                 f"`None`, 2-D or 3-D but found {attn_mask.dim()}-D tensor "
                                 f"instead")
        return True
    if qd == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key` and `value` to "
                                 f"be 2-D but found {key.dim()}-D and {value.dim()}-D tensors "
                                 f"respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key_padding_mask` to "
                                 f"be `None` or 1-D but found {key_padding_mask.dim()}-D tensor "
                                 f"instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError(f"For unbatched (2-D) `query`, expected `attn_mask` to be "
                                     f"`None`, 2-D or 3-D but found {attn_mask.dim()}-D tensor "
                                     f"instead")
            if attn_mask.dim() == 3:
                expected = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected:
                    raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                         f"{_size(attn_mask.shape)}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                         f"{qd}-D query tensor")


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None):
    from ..nn.functional import linear
    eq, ek, ev = q.shape[-1], k.shape[-1], v.shape[-1]
    for name, w, shape in (("query", w_q, (eq, eq)), ("key", w_k, (eq, ek)),
                           ("value", w_v, (eq, ev))):
        if tuple(w.shape) != shape:
            raise AssertionError(f"expecting {name} weights shape of {shape}, but got "
                                 f"{_size(w.shape)}")
    for name, b in (("query", b_q), ("key", b_k), ("value", b_v)):
        if b is not None and tuple(b.shape) != (eq,):
            raise AssertionError(f"expecting {name} bias shape of {(eq,)}, but got "
                                 f"{_size(b.shape)}")
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _pad_last(fmask, blocked):
    """One more key column for the masks: allowed (0 / False)."""
    from .padding import pad
    if fmask is not None:
        fmask = pad(fmask, (0, 1))
    if blocked is not None:
        blocked = pad(blocked, (0, 1), value=False)
    return fmask, blocked


def _add_masks(fa, fb):
    if fa is None:
        return fb
    if fb is None:
        return fa
    return fa + fb


def _or_masks(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor,
                                 embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight: Tensor | None, in_proj_bias: Tensor | None,
                                 bias_k: Tensor | None, bias_v: Tensor | None,
                                 add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight: Tensor, out_proj_bias: Tensor | None,
                                 training: bool = True,
                                 key_padding_mask: Tensor | None = None,
                                 need_weights: bool = True, attn_mask: Tensor | None = None,
                                 use_separate_proj_weight: bool = False,
                                 q_proj_weight: Tensor | None = None,
                                 k_proj_weight: Tensor | None = None,
                                 v_proj_weight: Tensor | None = None,
                                 static_k: Tensor | None = None,
                                 static_v: Tensor | None = None,
                                 average_attn_weights: bool = True,
                                 is_causal: bool = False):
    """Multi-head attention (the computation behind ``nn.MultiheadAttention``).

    Shape:
        - query ``(L, N, E)``, key ``(S, N, Ek)``, value ``(S, N, Ev)``; unbatched: ``(L, E)``,
          ``(S, Ek)``, ``(S, Ev)``.
        - key_padding_mask ``(N, S)`` (or ``(S,)``): bool (True: padding, ignored) or float
          (added). attn_mask ``(L, S)`` or ``(N * num_heads, L, S)``: bool (True: not
          allowed to attend) or float (added).
        - static_k, static_v: ``(N * num_heads, S, E / num_heads)``, used instead of the
          projected keys/values.

    Returns:
        ``(attn_output, attn_weights)``: ``(L, N, E)`` (``(L, E)`` unbatched), and, when
        ``need_weights``, the attention probabilities ``(N, L, S)`` averaged over heads (or
        ``(N, num_heads, L, S)``), else None.
    """
    return _mha(query, key, value, embed_dim_to_check, num_heads, in_proj_weight,
                in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight,
                out_proj_bias, training, key_padding_mask, need_weights, attn_mask,
                use_separate_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight,
                static_k, static_v, average_attn_weights, is_causal, batch_first=False)


def _mha(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
         bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training,
         key_padding_mask, need_weights, attn_mask, use_separate_proj_weight, q_proj_weight,
         k_proj_weight, v_proj_weight, static_k, static_v, average_attn_weights, is_causal,
         batch_first):
    """``multi_head_attention_forward`` with inputs in either layout: ``(N, L, E)`` when
    ``batch_first`` (used by the module; nothing is transposed), else ``(L, N, E)``."""
    from ..nn.functional import linear
    fn = "multi_head_attention_forward"
    _check_tensor(query, fn, "query", 1)
    _check_tensor(key, fn, "key", 2)
    _check_tensor(value, fn, "value", 3)
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        batch_first = False
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    if batch_first:
        bsz, tgt_len, embed_dim = query.shape
        src_len = key.shape[1]
    else:
        tgt_len, bsz, embed_dim = query.shape
        src_len = key.shape[0]
    if key_padding_mask is not None:
        _check_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask),
                    "attn_mask")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    use_causal = False
    if is_causal and key_padding_mask is None and not need_weights:
        # the hint stands in for the mask (PyTorch hands is_causal to its SDPA here)
        attn_mask = None
        use_causal = True
    elif attn_mask is not None:
        _check_mask(attn_mask, "attn_mask", None, "", check_other=False)
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {_size(key.shape[:2])} do not "
                                 f"match value's {_size(value.shape[:2])}")
    elif tuple(key.shape) != tuple(value.shape):
        raise AssertionError(f"key shape {_size(key.shape)} does not match value shape "
                             f"{_size(value.shape)}")

    # ---- in-projection, straight into heads (N, H, L, D)
    separate_kv = bias_k is not None or bias_v is not None or static_k is not None or \
        static_v is not None
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        w, b, e = in_proj_weight, in_proj_bias, embed_dim
        if not separate_kv and key is value and query is key:
            q, k, v = _split(linear(query, w, b), 3, num_heads, batch_first)
            qkv_done = True
        elif not separate_kv and key is value:
            qp = linear(query, w[:e], b[:e] if b is not None else None)
            kvp = linear(key, w[e:], b[e:] if b is not None else None)
            (q,) = _split(qp, 1, num_heads, batch_first)
            k, v = _split(kvp, 2, num_heads, batch_first)
            qkv_done = True
        else:
            wq, wk, wv = w[:e], w[e:2 * e], w[2 * e:]
            bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
            qp, kp, vp = linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)
            qkv_done = False
    else:
        for name, wt in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if wt is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight "
                                     f"is None")
        if in_proj_bias is None:
            bq = bk = bv = None
        else:
            bq, bk, bv = in_proj_bias.chunk(3)
        qp, kp, vp = _in_projection(query, key, value, q_proj_weight, k_proj_weight,
                                    v_proj_weight, bq, bk, bv)
        qkv_done = False

    # ---- masks: an additive float part and a bool (excluded) part, broadcastable to
    # (N, H, L, S); PyTorch adds them as float masks, with the same result
    attn_f = attn_b = None
    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {_size(attn_mask.shape)}, "
                                   f"but should be {(tgt_len, src_len)}.")
            attn_f, attn_b = _split_mask(attn_mask)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {_size(attn_mask.shape)}, "
                                   f"but should be {(bsz * num_heads, tgt_len, src_len)}.")
            shape4 = (bsz, num_heads, tgt_len, src_len)
            attn_f, attn_b = _split_mask(attn_mask)
            attn_f = attn_f.reshape(shape4) if attn_f is not None else None
            attn_b = attn_b.reshape(shape4) if attn_b is not None else None
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
    kpm_f, kpm_b = _split_mask(key_padding_mask)

    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        from .shape import cat
        if batch_first:
            kp = cat([kp, bias_k.expand(bsz, 1, embed_dim)], 1)
            vp = cat([vp, bias_v.expand(bsz, 1, embed_dim)], 1)
        else:
            kp = cat([kp, bias_k.repeat(1, bsz, 1)])
            vp = cat([vp, bias_v.repeat(1, bsz, 1)])
        attn_f, attn_b = _pad_last(attn_f, attn_b)
        kpm_f, kpm_b = _pad_last(kpm_f, kpm_b)
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")

    if not qkv_done:
        (q,) = _split(qp, 1, num_heads, batch_first)
        if static_k is None:
            (k,) = _split(kp, 1, num_heads, batch_first)
        else:
            if static_k.size(0) != bsz * num_heads:
                raise AssertionError(f"expecting static_k.size(0) of {bsz * num_heads}, but "
                                     f"got {static_k.size(0)}")
            if static_k.size(2) != head_dim:
                raise AssertionError(f"expecting static_k.size(2) of {head_dim}, but got "
                                     f"{static_k.size(2)}")
            k = static_k.reshape(bsz, num_heads, static_k.shape[1], head_dim)
        if static_v is None:
            (v,) = _split(vp, 1, num_heads, batch_first)
        else:
            if static_v.size(0) != bsz * num_heads:
                raise AssertionError(f"expecting static_v.size(0) of {bsz * num_heads}, but "
                                     f"got {static_v.size(0)}")
            if static_v.size(2) != head_dim:
                raise AssertionError(f"expecting static_v.size(2) of {head_dim}, but got "
                                     f"{static_v.size(2)}")
            v = static_v.reshape(bsz, num_heads, static_v.shape[1], head_dim)

    if add_zero_attn:
        from .shape import cat
        zeros = _wrap(np.zeros((bsz, num_heads, 1, head_dim), dtype=k._data.dtype))
        k = cat([k, zeros], 2)
        v = cat([v, zeros.to(v.dtype)], 2)
        attn_f, attn_b = _pad_last(attn_f, attn_b)
        kpm_f, kpm_b = _pad_last(kpm_f, kpm_b)

    src_len = k.shape[2]
    if key_padding_mask is not None:
        kshape = (kpm_f if kpm_f is not None else kpm_b).shape
        if kshape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got "
                                 f"{kshape[0]}")
        if kshape[1] != src_len:
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                                 f"{kshape[1]}")
        if kpm_f is not None:
            kpm_f = kpm_f.reshape(bsz, 1, 1, src_len)
        else:
            kpm_b = kpm_b.reshape(bsz, 1, 1, src_len)
    fmask = _add_masks(attn_f, kpm_f)
    blocked = _or_masks(attn_b, kpm_b)
    if not training:
        dropout_p = 0.0
    if fmask is not None and fmask.dtype is not q.dtype:
        # PyTorch adds the mask with baddbmm (same dtypes only) when it returns the weights,
        # else hands it to scaled_dot_product_attention (float32 or the query's dtype)
        if need_weights:
            raise RuntimeError(f"Input dtypes must be the same, got: input {_cname(fmask)}, "
                               f"batch1: {_cname(q)}, batch2: {_cname(q)}")
        if fmask.dtype.name != "float32":
            raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query "
                               f"dtype, but got attn_mask.dtype: {_cname(fmask)} and  "
                               f"query.dtype: {_cname(q)} instead.")

    res = _attention(q, k, v, fmask, blocked, 1.0 / math.sqrt(head_dim), dropout_p,
                     not need_weights, need_weights, use_causal)
    out, weights = res if need_weights else (res, None)
    merged = _MergeHeads.apply(out, batch_first=batch_first)
    attn_output = linear(merged, out_proj_weight, out_proj_bias)
    if weights is not None and average_attn_weights:
        weights = weights.mean(dim=1)
    if not is_batched:
        attn_output = attn_output.squeeze(1)
        if weights is not None:
            weights = weights.squeeze(0)
    return attn_output, weights
