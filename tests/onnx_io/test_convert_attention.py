"""ONNX export of attention (``ember/onnx/converters/attention.py``):
``scaled_dot_product_attention``, ``nn.MultiheadAttention`` and the Transformer encoder.

Every exported model is run by onnxruntime and compared with ember's eval-mode outputs
(``check_export``) at the traced sizes and at another batch size (and, where the model
allows it, another sequence length)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn
from onnx_io.onnx_check import check_export, op_types, requires_onnx

pytestmark = requires_onnx

OPSETS = [13, None]          # the first supported opset and the default


# ---------------------------------------------------------------------------------------
# scaled_dot_product_attention

class SDPA(nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.kwargs = kwargs

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v, **self.kwargs)


class SDPAMask(nn.Module):
    """The mask is an input of the model."""

    def forward(self, q, k, v, mask):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


class SDPABuffer(nn.Module):
    """The mask is a constant of the model (a buffer)."""

    def __init__(self, mask):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=self.mask)


def qkv(batch, heads, lq, lk, e=8, ev=8):
    return ember.randn(batch, heads, lq, e), ember.randn(batch, heads, lk, e), \
        ember.randn(batch, heads, lk, ev)


QKV_DYN = {"q": {0: "batch", 2: "lq"}, "k": {0: "batch", 2: "lk"}, "v": {0: "batch", 2: "lk"}}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("kwargs", [{}, {"is_causal": True}, {"scale": 0.3},
                                    {"is_causal": True, "scale": 2.0}],
                         ids=["plain", "causal", "scale", "causal-scale"])
def test_sdpa_dynamic(tmp_path, kwargs, opset):
    ember.manual_seed(0)
    proto = check_export(SDPA(**kwargs), qkv(2, 3, 5, 5), tmp_path, other=qkv(5, 3, 9, 9),
                         dynamic_axes=QKV_DYN, opset=opset)
    ops = op_types(proto)
    assert "Softmax" in ops and ops.count("MatMul") == 2
    assert ("Range" in ops) == bool(kwargs.get("is_causal"))   # causal mask at run time


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_cross_lengths(tmp_path, causal):
    """Queries and keys of different lengths (the causal mask is top-left aligned)."""
    ember.manual_seed(1)
    check_export(SDPA(is_causal=causal), qkv(2, 2, 4, 7, ev=5), tmp_path,
                 other=qkv(3, 2, 6, 3, ev=5), dynamic_axes=QKV_DYN)


def test_sdpa_three_dims(tmp_path):
    ember.manual_seed(2)
    q, k, v = (ember.randn(3, 5, 4) for _ in range(3))
    check_export(SDPA(is_causal=True), (q, k, v), tmp_path,
                 other=tuple(ember.randn(6, 5, 4) for _ in range(3)),
                 dynamic_axes={n: {0: "batch"} for n in "qkv"})


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("shape", [(5, 6), (2, 1, 5, 6)], ids=["LS", "N1LS"])
def test_sdpa_float_mask_input(tmp_path, shape, opset):
    ember.manual_seed(3)
    mask = ember.randn(*shape)
    other_mask = ember.randn(*((5,) + shape[1:] if len(shape) == 4 else shape))
    dyn = dict(QKV_DYN, q={0: "batch"}, k={0: "batch"}, v={0: "batch"})
    if len(shape) == 4:
        dyn["mask"] = {0: "batch"}
    check_export(SDPAMask(), qkv(2, 3, 5, 6) + (mask,), tmp_path,
                 other=qkv(5, 3, 5, 6) + (other_mask,), dynamic_axes=dyn, opset=opset)


def test_sdpa_fully_masked_rows_give_zeros(tmp_path):
    """A float mask input with -inf over whole rows: ember (like PyTorch) gives 0 there."""
    ember.manual_seed(4)
    mask = ember.zeros(2, 1, 4, 5)
    mask[0, 0, 1] = float("-inf")
    mask[1, 0, 3, :2] = float("-inf")
    proto = check_export(SDPAMask(), qkv(2, 2, 4, 5) + (mask,), tmp_path)
    assert "ReduceMax" in op_types(proto)
    with ember.no_grad():
        out = SDPAMask()(*qkv(2, 2, 4, 5), mask)
    assert np.all(out.numpy()[0, :, 1] == 0)


@pytest.mark.parametrize("opset", OPSETS)
def test_sdpa_bool_mask_constant(tmp_path, opset):
    """A bool mask held by the model, with a fully masked row, over a dynamic batch."""
    ember.manual_seed(5)
    mask = ember.rand(4, 6) > 0.4
    mask[2] = False
    model = SDPABuffer(mask)
    check_export(model, qkv(2, 3, 4, 6), tmp_path, other=qkv(5, 3, 4, 6),
                 dynamic_axes={n: {0: "batch"} for n in "qkv"}, opset=opset)


def test_sdpa_causal_mask_computed_dynamic(tmp_path):
    """A causal 0/-inf mask built with ember ops from the input's length (recorded as ops
    with do_constant_folding=False) follows the run-time length."""
    class M(nn.Module):
        def forward(self, q, k, v):
            n = q.size(2)
            mask = ember.triu(ember.full((n, n), float("-inf")), 1)
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    ember.manual_seed(6)
    check_export(M(), qkv(2, 2, 5, 5), tmp_path, other=qkv(3, 2, 8, 8),
                 dynamic_axes={n: {0: "batch", 2: "seq"} for n in "qkv"},
                 do_constant_folding=False)


def test_sdpa_gqa(tmp_path):
    ember.manual_seed(7)
    q, k, v = ember.randn(2, 4, 5, 8), ember.randn(2, 2, 5, 8), ember.randn(2, 2, 5, 8)
    check_export(SDPA(enable_gqa=True, is_causal=True), (q, k, v), tmp_path)


def test_sdpa_float64(tmp_path):
    ember.manual_seed(8)
    q, k, v = (ember.randn(2, 3, 4, 5, dtype=ember.float64) for _ in range(3))
    check_export(SDPA(is_causal=True), (q, k, v), tmp_path)
    # a float32 mask with float64 queries (allowed): cast to the scores' dtype
    check_export(SDPAMask(), (q, k, v, ember.randn(4, 4)), tmp_path, name="mask.onnx")


def test_sdpa_dropout_is_refused(tmp_path):
    with pytest.raises(ember.onnx.OnnxExporterError, match="dropout"):
        ember.onnx.export(SDPA(dropout_p=0.1), qkv(1, 1, 3, 3), str(tmp_path / "m.onnx"))


def test_sdpa_bool_mask_input_on_dynamic_axis_is_refused(tmp_path):
    """ember's attention reads a bool mask as a constant: one given as an input that varies
    along a dynamic axis is refused rather than frozen."""
    mask = ember.ones(2, 1, 3, 3, dtype=ember.bool)
    mask[1, 0, 0, 1] = False
    with pytest.raises(ember.onnx.OnnxExporterError, match="boolean attention mask"):
        ember.onnx.export(SDPAMask(), qkv(2, 1, 3, 3) + (mask,), str(tmp_path / "m.onnx"),
                          dynamic_axes={n: {0: "batch"} for n in ("q", "k", "v", "mask")})
    assert not (tmp_path / "m.onnx").exists()


# ---------------------------------------------------------------------------------------
# MultiheadAttention

class SelfAttention(nn.Module):
    def __init__(self, batch_first=False, need_weights=False, average=True, **kwargs):
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 4, batch_first=batch_first, **kwargs)
        self.need_weights = need_weights
        self.average = average

    def forward(self, x):
        out, w = self.attn(x, x, x, need_weights=self.need_weights,
                           average_attn_weights=self.average)
        return (out, w) if self.need_weights else out


class CrossAttention(nn.Module):
    def __init__(self, batch_first=False, **kwargs):
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 4, batch_first=batch_first, **kwargs)

    def forward(self, x, memory):
        return self.attn(x, memory, memory, need_weights=False)[0]


def seq(batch, length, e, batch_first):
    return ember.randn(batch, length, e) if batch_first else ember.randn(length, batch, e)


def seq_dyn(names, batch_first):
    axes = {0: "batch", 1: "seq"} if batch_first else {0: "seq", 1: "batch"}
    return {n: dict(axes) for n in names}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_self(tmp_path, batch_first, opset):
    ember.manual_seed(10)
    proto = check_export(SelfAttention(batch_first), seq(2, 5, 16, batch_first), tmp_path,
                         other=seq(5, 7, 16, batch_first),
                         dynamic_axes=seq_dyn(["x"], batch_first), opset=opset)
    assert op_types(proto).count("Softmax") == 1


@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_weights_per_head(tmp_path, batch_first):
    ember.manual_seed(11)
    check_export(SelfAttention(batch_first, need_weights=True, average=False),
                 seq(2, 5, 16, batch_first), tmp_path, other=seq(5, 7, 16, batch_first),
                 dynamic_axes=seq_dyn(["x"], batch_first))


@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_averaged_weights(tmp_path, batch_first):
    """need_weights=True: the weights averaged over the heads (a Mean node)."""
    ember.manual_seed(12)
    check_export(SelfAttention(batch_first, need_weights=True),
                 seq(2, 5, 16, batch_first), tmp_path, other=seq(5, 7, 16, batch_first),
                 dynamic_axes=seq_dyn(["x"], batch_first))


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("kwargs", [{}, {"kdim": 6, "vdim": 10}, {"bias": False}],
                         ids=["shared", "kdim-vdim", "no-bias"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_cross(tmp_path, batch_first, kwargs, opset):
    ember.manual_seed(13)
    dk = kwargs.get("kdim", 16)
    model = CrossAttention(batch_first, **kwargs)
    if "kdim" in kwargs:                # key and value of their own sizes
        class KV(nn.Module):
            def __init__(self):
                super().__init__()
                self.attn = model.attn

            def forward(self, x, memory, values):
                return self.attn(x, memory, values, need_weights=False)[0]
        model = KV()
        args = (seq(2, 4, 16, batch_first), seq(2, 6, dk, batch_first),
                seq(2, 6, kwargs["vdim"], batch_first))
        other = (seq(5, 3, 16, batch_first), seq(5, 9, dk, batch_first),
                 seq(5, 9, kwargs["vdim"], batch_first))
        names = ["x", "memory", "values"]
    else:
        args = (seq(2, 4, 16, batch_first), seq(2, 6, dk, batch_first))
        other = (seq(5, 3, 16, batch_first), seq(5, 9, dk, batch_first))
        names = ["x", "memory"]
    dyn = seq_dyn(names, batch_first)
    for n in names[1:]:                 # the memory has a length of its own
        for ax, sym in dyn[n].items():
            if sym == "seq":
                dyn[n][ax] = "mem"
    check_export(model, args, tmp_path, other=other, dynamic_axes=dyn, opset=opset)


def test_mha_unbatched(tmp_path):
    ember.manual_seed(14)
    check_export(SelfAttention(), ember.randn(5, 16), tmp_path, other=ember.randn(8, 16),
                 dynamic_axes={"x": {0: "seq"}})


@pytest.mark.parametrize("kwargs", [{"add_bias_kv": True}, {"add_zero_attn": True}],
                         ids=["bias-kv", "zero-attn"])
def test_mha_extra_keys(tmp_path, kwargs):
    ember.manual_seed(15)
    check_export(SelfAttention(True, **kwargs), seq(2, 5, 16, True), tmp_path,
                 other=seq(2, 7, 16, True), dynamic_axes={"x": {1: "seq"}})


@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_key_padding_mask_input(tmp_path, batch_first):
    """A float key padding mask (0 kept, -inf padded) given as an input."""
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(16, 4, batch_first=batch_first)

        def forward(self, x, padding):
            return self.attn(x, x, x, key_padding_mask=padding, need_weights=False)[0]

    def padding(batch, length):
        p = ember.zeros(batch, length)
        p[0, length - 2:] = float("-inf")
        return p

    ember.manual_seed(16)
    dyn = seq_dyn(["x"], batch_first)
    dyn["padding"] = {0: "batch", 1: "seq"}
    check_export(M(), (seq(2, 5, 16, batch_first), padding(2, 5)), tmp_path,
                 other=(seq(5, 7, 16, batch_first), padding(5, 7)), dynamic_axes=dyn)


def test_mha_bool_masks_constant(tmp_path):
    """Bool attn_mask and key_padding_mask held by the model (static shapes)."""
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(16, 4, batch_first=True)
            self.register_buffer("attn_mask", ember.rand(5, 5) > 0.7)
            self.register_buffer("padding", ember.tensor([[False] * 4 + [True]] * 3))

        def forward(self, x):
            return self.attn(x, x, x, attn_mask=self.attn_mask, key_padding_mask=self.padding,
                             need_weights=False)[0]

    ember.manual_seed(17)
    check_export(M(), seq(3, 5, 16, True), tmp_path)


@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_causal_mask_dynamic_length(tmp_path, need_weights):
    """The causal float mask made for the traced length. With the is_causal hint (and no
    weights) ember uses its causal mask, exported for the run-time length."""
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(16, 4)

        def forward(self, x):
            mask = nn.Transformer.generate_square_subsequent_mask(x.size(0))
            return self.attn(x, x, x, attn_mask=mask, is_causal=not need_weights,
                             need_weights=need_weights, average_attn_weights=False)

    ember.manual_seed(18)
    if need_weights:
        # the float mask is then added to the scores as it is: a constant of the traced
        # length, so only the batch may change
        check_export(M(), seq(2, 5, 16, False), tmp_path, other=seq(4, 5, 16, False),
                     dynamic_axes={"x": {1: "batch"}})
        return
    proto = check_export(M(), seq(2, 5, 16, False), tmp_path, other=seq(4, 8, 16, False),
                         dynamic_axes=seq_dyn(["x"], False))
    assert "Range" in op_types(proto)


# ---------------------------------------------------------------------------------------
# Transformer encoder

@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder(tmp_path, activation, norm_first, batch_first):
    ember.manual_seed(20)
    layer = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, activation=activation,
                                       norm_first=norm_first, batch_first=batch_first)
    model = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(32),
                                  enable_nested_tensor=False)
    proto = check_export(model, seq(2, 6, 32, batch_first), tmp_path,
                         other=seq(5, 9, 32, batch_first),
                         dynamic_axes=seq_dyn(["src"], batch_first))
    assert op_types(proto).count("Softmax") == 2


@pytest.mark.parametrize("opset", OPSETS)
def test_transformer_encoder_causal(tmp_path, opset):
    """A causal encoder (the mask made from the input's length) with a dynamic length."""
    class Causal(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)

        def forward(self, src):
            mask = nn.Transformer.generate_square_subsequent_mask(src.size(1))
            return self.encoder(src, mask=mask)

    ember.manual_seed(21)
    check_export(Causal(), seq(2, 6, 32, True), tmp_path, other=seq(5, 9, 32, True),
                 dynamic_axes=seq_dyn(["src"], True), opset=opset)


def test_transformer_encoder_padding_input(tmp_path):
    """A float src_key_padding_mask given as an input (sequence-first layout)."""
    class Padded(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)

        def forward(self, src, padding):
            return self.encoder(src, src_key_padding_mask=padding)

    def padding(batch, length):
        p = ember.zeros(batch, length)
        p[1, length - 3:] = float("-inf")
        return p

    ember.manual_seed(22)
    check_export(Padded(), (seq(2, 6, 32, False), padding(2, 6)), tmp_path,
                 other=(seq(5, 9, 32, False), padding(5, 9)),
                 dynamic_axes={"src": {0: "seq", 1: "batch"},
                               "padding": {0: "batch", 1: "seq"}})


def test_transformer_encoder_decoder_causal(tmp_path):
    """nn.Transformer with a causal target mask, source and target of their own dynamic
    lengths."""
    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = nn.Transformer(16, 2, 1, 1, 32, batch_first=True)

        def forward(self, src, tgt):
            mask = nn.Transformer.generate_square_subsequent_mask(tgt.size(1))
            return self.model(src, tgt, tgt_mask=mask, tgt_is_causal=True)

    ember.manual_seed(23)
    check_export(Seq2Seq(), (seq(2, 5, 16, True), seq(2, 4, 16, True)), tmp_path,
                 other=(seq(3, 7, 16, True), seq(3, 6, 16, True)),
                 dynamic_axes={"src": {0: "batch", 1: "src_len"},
                               "tgt": {0: "batch", 1: "tgt_len"}})
