"""The Transformer: ``TransformerEncoderLayer``, ``TransformerDecoderLayer``, their stacks
``TransformerEncoder``/``TransformerDecoder``, and ``Transformer``.

Parameter names and structure are PyTorch's (``self_attn.in_proj_weight``,
``linear1.weight``, ``norm1.weight``, ``layers.0...``), so state dicts transfer both ways.
PyTorch's inference fast paths (the fused MultiheadAttention and encoder-layer kernels)
give the same numbers as its plain path, which is the one ember runs, with one visible
exception that ember reproduces: ``TransformerEncoder`` in inference with a padding mask
runs on nested tensors, which drops the padded tokens and returns zeros at their positions
(before the final norm). Where a whole sequence is padding, PyTorch's fused kernels give NaN
and its plain path does not; ember gives the plain path's values.
"""
from __future__ import annotations

import copy
import warnings

import numpy as np

from ... import _tensor
from ..._tensor import Tensor, _wrap
from ...autograd.grad_mode import STATE as _GRAD_STATE
from ...ops.attention import _canonical_mask, _none_or_dtype
from .. import functional as F
from .. import init
from .activation import GELU, ReLU
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["Transformer", "TransformerEncoder", "TransformerDecoder",
           "TransformerEncoderLayer", "TransformerDecoderLayer"]


def _generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
    """``(sz, sz)`` float mask: 0 on and below the diagonal, -inf above it."""
    from ... import _dtype
    dt = dtype if dtype is not None else _dtype.get_default_dtype()
    arr = np.triu(np.full((sz, sz), -np.inf, dtype=dt.np), 1)
    return _wrap(arr)


def _get_seq_len(src: Tensor, batch_first: bool) -> int:
    shape = src.shape
    if len(shape) == 2:
        return shape[0]
    return shape[1 if batch_first else 0]


def _traced(t: Tensor) -> bool:
    """Whether ``t`` depends on the inputs of a model being exported by ``ember.onnx``."""
    tracer = _tensor._TRACE_HOOK[0]
    return tracer is not None and tracer.is_traced(t)


def _detect_is_causal_mask(mask, is_causal=None, size=None) -> bool:
    """``is_causal`` if given; otherwise whether ``mask`` is exactly the causal float mask
    of ``size`` (PyTorch passes the result on as a hint).

    The hint never changes the result (the causal mask and the hint give the same values),
    so a mask that is an input of a model being exported is not inspected: its values are
    the example's, and the graph keeps the mask as it is."""
    make_causal = is_causal is True
    if is_causal is None and mask is not None and not _traced(mask):
        sz = size if size is not None else mask.size(-2)
        # the causal mask in the mask's own dtype (for bool: True above the diagonal)
        causal = np.triu(np.full((sz, sz), -np.inf).astype(mask._data.dtype), 1)
        if tuple(mask.shape) == causal.shape:
            make_causal = bool(np.all(mask._data == causal))
        else:
            make_causal = False
    return make_causal


def _get_clones(module, n):
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _get_activation_fn(activation: str):
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need".

    Args:
        d_model (int): feature size. Default: 512.
        nhead (int): attention heads. Default: 8.
        num_encoder_layers, num_decoder_layers (int): stack depths. Default: 6 each.
        dim_feedforward (int): hidden size of the feed-forward blocks. Default: 2048.
        dropout (float): dropout rate. Default: 0.1.
        activation (str or callable): ``"relu"``, ``"gelu"`` or a unary callable.
        custom_encoder, custom_decoder: modules to use instead of the standard stacks.
        layer_norm_eps (float): LayerNorm epsilon. Default: 1e-5.
        batch_first (bool): ``(N, S, E)`` inputs instead of ``(S, N, E)``.
        norm_first (bool): pre-norm layers (LayerNorm before attention / feed-forward).
        bias (bool): biases in the linear and LayerNorm layers. Default: True.

    Shape:
        - src ``(S, N, E)``, tgt ``(T, N, E)`` (batch first: ``(N, S, E)``; unbatched
          ``(S, E)``); output like tgt.
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation=F.relu, custom_encoder=None,
                 custom_decoder=None, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None) -> None:
        kw = {"device": device, "dtype": dtype}
        super().__init__()
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            encoder_layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                                    activation, layer_norm_eps, batch_first,
                                                    norm_first, bias, **kw)
            encoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
            self.encoder = TransformerEncoder(encoder_layer, num_encoder_layers, encoder_norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            decoder_layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout,
                                                    activation, layer_norm_eps, batch_first,
                                                    norm_first, bias, **kw)
            decoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
            self.decoder = TransformerDecoder(decoder_layer, num_decoder_layers, decoder_norm)
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src: Tensor, tgt: Tensor, src_mask=None, tgt_mask=None,
                memory_mask=None, src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal: bool = False) -> Tensor:
        """Encode ``src``, then decode ``tgt`` against the encoding.

        Masks: ``src_mask (S, S)``, ``tgt_mask (T, T)``, ``memory_mask (T, S)`` (or with a
        leading ``N * nhead``); key padding masks ``(N, S)``, ``(N, T)``, ``(N, S)``. Bool
        masks exclude where True; float masks are added to the attention scores.
        """
        is_batched = src.dim() == 3
        if not self.batch_first and src.size(1) != tgt.size(1) and is_batched:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if self.batch_first and src.size(0) != tgt.size(0) and is_batched:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.size(-1) != self.d_model or tgt.size(-1) != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """The causal mask for a sequence of ``sz``: float, ``-inf`` above the diagonal and
        0 elsewhere."""
        return _generate_square_subsequent_mask(sz, device=device, dtype=dtype)

    def _reset_parameters(self) -> None:
        """Xavier-uniform initialisation of every parameter with more than one dimension."""
        for p in self.parameters():
            if p.dim() > 1:
                init.xavier_uniform_(p)


class TransformerEncoder(Module):
    """A stack of ``num_layers`` deep copies of ``encoder_layer``, then ``norm`` if given.

    ``enable_nested_tensor`` and ``mask_check`` steer PyTorch's inference fast path; they
    are accepted and recorded (with PyTorch's warning when the layer could not use it) and
    change nothing here.
    """

    __constants__ = ["norm"]

    def __init__(self, encoder_layer, num_layers: int, norm=None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check
        why = _why_no_sparsity_path(encoder_layer)
        if enable_nested_tensor and why:
            warnings.warn(f"enable_nested_tensor is True, but self.use_nested_tensor is False "
                          f"because {why}", stacklevel=2)
            self.use_nested_tensor = False

    def forward(self, src: Tensor, mask=None, src_key_padding_mask=None,
                is_causal=None) -> Tensor:
        """Pass ``src`` through the layers. ``mask``: ``(S, S)`` or ``(N * nhead, S, S)``;
        ``src_key_padding_mask``: ``(N, S)``; ``is_causal``: hint that ``mask`` is causal
        (None: detected by comparing ``mask`` with the causal mask)."""
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask",
                                               _none_or_dtype(mask), "mask", src.dtype)
        mask = _canonical_mask(mask, "mask", None, "", src.dtype, check_other=False)
        output = src
        first = self.layers[0]
        batch_first = first.self_attn.batch_first
        dropped = self._nested_padding(src, mask, src_key_padding_mask)
        if dropped is not None:
            # PyTorch's inference path drops the padded tokens (as nested tensors), attends
            # over the kept ones only, and pads the result with zeros: the same values
            # elsewhere, zeros at the padding
            src_key_padding_mask = src_key_padding_mask.masked_fill(dropped, float("-inf"))
        seq_len = _get_seq_len(src, batch_first)
        is_causal = _detect_is_causal_mask(mask, is_causal, seq_len)
        for mod in self.layers:
            output = mod(output, src_mask=mask, is_causal=is_causal,
                         src_key_padding_mask=src_key_padding_mask)
        if dropped is not None:
            output = output.masked_fill(dropped.unsqueeze(-1), 0.0)
        if self.norm is not None:
            output = self.norm(output)
        return output

    def _nested_padding(self, src, mask, key_padding_mask):
        """The ``(N, S)`` bool tensor of the tokens that PyTorch's nested-tensor path drops
        (True: dropped), or None when PyTorch would not take that path for this call.

        It takes it in inference (eval, and no gradient needed), for batch-first layers that
        qualify (``use_nested_tensor``), with a padding mask and no attention mask, when the
        kept tokens (mask 0) form a prefix of every sequence; then every padded token is
        dropped. Whether they form prefixes depends on the mask's values, so it is computed
        with ember ops (where it fails, nothing is dropped): an exported model keeps the
        test, for whatever mask it is given at run time."""
        first = self.layers[0]
        if not getattr(self, "use_nested_tensor", False) or first.training or \
                src.dim() != 3 or key_padding_mask is None or mask is not None:
            return None
        if _GRAD_STATE.enabled and (src.requires_grad or any(
                p is not None and p.requires_grad for p in _fast_path_params(first))):
            return None
        padded = key_padding_mask != 0                # a canonical (float) mask: 0 = kept
        if padded.shape[1] < 2:
            return padded
        # a kept token right after a padded one: the kept tokens are not a prefix
        gaps = (padded[:, :-1] & ~padded[:, 1:]).any()
        return padded & ~gaps


def _fast_path_params(layer):
    """The parameters PyTorch checks for requires_grad before its inference fast path."""
    sa = layer.self_attn
    return (sa.in_proj_weight, sa.in_proj_bias, sa.out_proj.weight, sa.out_proj.bias,
            layer.norm1.weight, layer.norm1.bias, layer.norm2.weight, layer.norm2.bias,
            layer.linear1.weight, layer.linear1.bias, layer.linear2.weight, layer.linear2.bias)


def _why_no_sparsity_path(layer) -> str:
    """Why PyTorch's nested-tensor path would not be used for this layer ('' if it would)."""
    name = "encoder_layer"
    if not isinstance(layer, TransformerEncoderLayer):
        return f"{name} was not TransformerEncoderLayer"
    if layer.norm_first:
        return f"{name}.norm_first was True"
    if not layer.self_attn.batch_first:
        return (f"{name}.self_attn.batch_first was not True(use batch_first for better "
                f"inference performance)")
    if not layer.self_attn._qkv_same_embed_dim:
        return f"{name}.self_attn._qkv_same_embed_dim was not True"
    if layer.self_attn.in_proj_bias is None:
        return f"{name}.self_attn was passed bias=False"
    if not layer.activation_relu_or_gelu:
        return f"{name}.activation_relu_or_gelu was not True"
    if layer.norm1.eps != layer.norm2.eps:
        return f"{name}.norm1.eps was not equal to {name}.norm2.eps"
    if layer.self_attn.num_heads % 2 == 1:
        return f"{name}.self_attn.num_heads is odd"
    return ""


class TransformerDecoder(Module):
    """A stack of ``num_layers`` deep copies of ``decoder_layer``, then ``norm`` if given."""

    __constants__ = ["norm"]

    def __init__(self, decoder_layer, num_layers: int, norm=None) -> None:
        super().__init__()
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None,
                tgt_is_causal=None, memory_is_causal: bool = False) -> Tensor:
        """Pass ``tgt`` through the layers, each attending to ``memory`` (see
        ``TransformerDecoderLayer.forward``); ``tgt_is_causal=None`` detects a causal
        ``tgt_mask``."""
        output = tgt
        seq_len = _get_seq_len(tgt, self.layers[0].self_attn.batch_first)
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, seq_len)
        for mod in self.layers:
            output = mod(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                         tgt_key_padding_mask=tgt_key_padding_mask,
                         memory_key_padding_mask=memory_key_padding_mask,
                         tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        return output


def _activation_code(activation) -> int:
    """PyTorch's ``activation_relu_or_gelu``: 1 for relu, 2 for gelu, else 0."""
    if activation is F.relu or isinstance(activation, ReLU):
        return 1
    if activation is F.gelu or isinstance(activation, GELU):
        return 2
    return 0


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with dropout, a residual connection
    and LayerNorm (after the residual, or before the block when ``norm_first``).

    Args:
        d_model (int): feature size; nhead (int): attention heads.
        dim_feedforward (int): hidden size of the feed-forward block. Default: 2048.
        dropout (float): dropout rate. Default: 0.1.
        activation (str or callable): ``"relu"`` (default), ``"gelu"`` or a unary callable.
        layer_norm_eps (float): LayerNorm epsilon. Default: 1e-5.
        batch_first (bool): ``(N, S, E)`` inputs. Default: False (``(S, N, E)``).
        norm_first (bool): pre-norm. Default: False.
        bias (bool): biases in the linear and LayerNorm layers. Default: True.
    """

    __constants__ = ["norm_first"]

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation=F.relu, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device=None, dtype=None) -> None:
        kw = {"device": device, "dtype": dtype}
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            activation = _get_activation_fn(activation)
        self.activation_relu_or_gelu = _activation_code(activation)
        self.activation = activation

    def __setstate__(self, state):
        super().__setstate__(state)
        if not hasattr(self, "activation"):
            self.activation = F.relu

    def forward(self, src: Tensor, src_mask=None, src_key_padding_mask=None,
                is_causal: bool = False) -> Tensor:
        """Args: ``src_mask`` ``(S, S)`` or ``(N * nhead, S, S)``; ``src_key_padding_mask``
        ``(N, S)``; ``is_causal``: hint that ``src_mask`` is the causal mask."""
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask",
                                               _none_or_dtype(src_mask), "src_mask", src.dtype)
        src_mask = _canonical_mask(src_mask, "src_mask", None, "", src.dtype,
                                   check_other=False)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask,
                                   is_causal=is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask,
                                              is_causal=is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerDecoderLayer(Module):
    """Self-attention, attention over the encoder's output (``memory``), and a feed-forward
    block, each with dropout, a residual connection and LayerNorm (post- or pre-norm).

    Arguments as ``TransformerEncoderLayer``.
    """

    __constants__ = ["norm_first"]

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation=F.relu, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device=None, dtype=None) -> None:
        kw = {"device": device, "dtype": dtype}
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                            batch_first=batch_first, bias=bias, **kw)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                                 batch_first=batch_first, bias=bias, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        if isinstance(activation, str):
            self.activation = _get_activation_fn(activation)
        else:
            self.activation = activation

    def __setstate__(self, state):
        if "activation" not in state:
            state["activation"] = F.relu
        super().__setstate__(state)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        """Args: ``tgt_mask`` ``(T, T)``, ``memory_mask`` ``(T, S)`` (or with a leading
        ``N * nhead``); key padding masks ``(N, T)`` and ``(N, S)``; ``*_is_causal``: hints
        that the matching mask is causal."""
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask,
                                   tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask,
                                              tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask,
                                               memory_key_padding_mask, memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           is_causal=is_causal, need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)
