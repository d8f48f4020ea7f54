"""``MultiheadAttention`` (in PyTorch it lives in ``torch.nn.modules.activation``)."""
from __future__ import annotations

from ..._tensor import Tensor
from ...ops import attention as _attn
from ...ops.creation import empty
from .. import init
from ..parameter import Parameter
from .linear import NonDynamicallyQuantizableLinear
from .module import Module

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Multi-head attention: ``Concat(head_1, ..., head_h) W_O`` with
    ``head_i = softmax(Q W_Q^i (K W_K^i)^T / sqrt(d) + mask) V W_V^i``.

    Args:
        embed_dim (int): model dimension (split evenly across the heads).
        num_heads (int): number of heads; must divide ``embed_dim``.
        dropout (float): dropout on the attention probabilities (training only).
        bias (bool): biases on the input and output projections. Default: True.
        add_bias_kv (bool): append a learned key and value (``bias_k``, ``bias_v``) to the
            key/value sequences.
        add_zero_attn (bool): append an all-zero key and value (after projection).
        kdim, vdim (int): feature sizes of key and value (default ``embed_dim``); when they
            differ from ``embed_dim`` the projections are separate ``q_proj_weight``,
            ``k_proj_weight``, ``v_proj_weight`` instead of one ``in_proj_weight``.
        batch_first (bool): inputs and outputs are ``(N, L, E)`` instead of ``(L, N, E)``.

    Shape:
        - query ``(L, N, E)`` / ``(N, L, E)`` / unbatched ``(L, E)``; key and value
          ``(S, N, Ek)``, ``(S, N, Ev)`` likewise.
        - Output: ``(L, N, E)`` (or ``(N, L, E)``, ``(L, E)``) and, with ``need_weights``,
          the weights ``(N, L, S)`` (averaged over heads) or ``(N, num_heads, L, S)``.
    """

    __constants__ = ["batch_first"]

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        kw = {"device": device, "dtype": dtype}
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != self.embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(empty((embed_dim, embed_dim), **kw))
            self.k_proj_weight = Parameter(empty((embed_dim, self.kdim), **kw))
            self.v_proj_weight = Parameter(empty((embed_dim, self.vdim), **kw))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(empty((3 * embed_dim, embed_dim), **kw))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = Parameter(empty((1, 1, embed_dim), **kw))
            self.bias_v = Parameter(empty((1, 1, embed_dim), **kw))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """Xavier-uniform projections, zero biases, Xavier-normal ``bias_k``/``bias_v``
        (the output projection's weight keeps ``Linear``'s initialisation)."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def __setstate__(self, state):
        # checkpoints from before kdim/vdim existed
        if "_qkv_same_embed_dim" not in state:
            state["_qkv_same_embed_dim"] = True
        super().__setstate__(state)

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """Attend from ``query`` to ``key``/``value``.

        Args:
            key_padding_mask: ``(N, S)`` (``(S,)`` unbatched); bool (True: ignore that key)
                or float (added to the scores).
            need_weights: also return the attention weights (PyTorch then computes with a
                plain softmax: rows with every key masked give NaN; without weights they
                give 0).
            attn_mask: ``(L, S)`` or ``(N * num_heads, L, S)``; bool (True: not allowed) or
                float (added).
            average_attn_weights: average the returned weights over the heads.
            is_causal: a hint that ``attn_mask`` is the causal mask (it must be given).

        Returns:
            ``(attn_output, attn_weights or None)``.
        """
        is_batched = isinstance(query, Tensor) and query.dim() == 3
        common = {"training": self.training, "key_padding_mask": key_padding_mask,
                  "need_weights": need_weights, "attn_mask": attn_mask,
                  "average_attn_weights": average_attn_weights, "is_causal": is_causal,
                  "static_k": None, "static_v": None}
        # batch_first inputs are handled in their own layout (no transposes)
        bf = self.batch_first and is_batched
        if not self._qkv_same_embed_dim:
            return _attn._mha(query, key, value, self.embed_dim, self.num_heads,
                              self.in_proj_weight, self.in_proj_bias, self.bias_k, self.bias_v,
                              self.add_zero_attn, self.dropout, self.out_proj.weight,
                              self.out_proj.bias, use_separate_proj_weight=True,
                              q_proj_weight=self.q_proj_weight,
                              k_proj_weight=self.k_proj_weight,
                              v_proj_weight=self.v_proj_weight, batch_first=bf, **common)
        return _attn._mha(query, key, value, self.embed_dim, self.num_heads,
                          self.in_proj_weight, self.in_proj_bias, self.bias_k, self.bias_v,
                          self.add_zero_attn, self.dropout, self.out_proj.weight,
                          self.out_proj.bias, use_separate_proj_weight=False,
                          q_proj_weight=None, k_proj_weight=None, v_proj_weight=None,
                          batch_first=bf, **common)

    def merge_masks(self, attn_mask: Tensor | None, key_padding_mask: Tensor | None,
                    query: Tensor) -> tuple[Tensor | None, int | None]:
        """Combine the masks as PyTorch's fast path does: ``(mask, type)`` with type 0 for an
        ``(L, S)`` attention mask alone, 1 for a key padding mask alone, 2 for a merged
        ``(N, num_heads, L, L)`` mask."""
        mask_type = merged = None
        if key_padding_mask is not None:
            mask_type, merged = 1, key_padding_mask
        if attn_mask is not None:
            batch_size, seq_len, _ = query.shape
            mask_type = 2
            if attn_mask.dim() == 3:
                expanded = attn_mask.view(batch_size, -1, seq_len, seq_len)
            else:
                expanded = attn_mask.view(1, 1, seq_len, seq_len).expand(
                    batch_size, self.num_heads, -1, -1)
            merged = expanded
            if key_padding_mask is not None:
                merged = expanded + key_padding_mask.view(batch_size, 1, 1, seq_len).expand(
                    -1, self.num_heads, -1, -1)
        return merged, mask_type
