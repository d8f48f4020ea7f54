"""ONNX export of attention (``ember/onnx/converters/attention.py``):
``scaled_dot_product_attention``, ``nn.MultiheadAttention`` and the Transformer encoder.

Every exported model is run by onnxruntime and compared with ember's eval-mode outputs
(``check_export``) at the traced sizes and at another batch size (and, where the model
allows it, another sequence length). Masks given as inputs of the model (float or bool) stay
graph inputs: those tests also run the graph on other masks than the traced one
(``check_runs``), with fully masked queries and sequences among them."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn
from onnx_io.onnx_check import check_export, op_types, requires_onnx, run_onnx

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
    check_export(SelfAttention(True, **kwargs), seq(2, 5, 16, True), tmp_path,
                 other=seq(6, 5, 16, True), dynamic_axes={"x": {0: "batch"}})


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


# ---------------------------------------------------------------------------------------
# Bool masks given as inputs of the model: they stay graph inputs, so the exported graph
# applies the mask it is given at run time (not the one it was traced with)

def flat(out):
    if isinstance(out, ember.Tensor):
        return [out.numpy()]
    return [a for o in out if o is not None for a in flat(o)]


def check_runs(model, args, tmp_path, runs, *, dynamic_axes=None, opset=None):
    """Export ``model`` traced on ``args`` (checked there by ``check_export``), then run the
    graph on each tuple of inputs in ``runs`` and compare with ember (eval, no grad), NaN
    where ember gives NaN. Returns the ModelProto."""
    proto = check_export(model, args, tmp_path, dynamic_axes=dynamic_axes, opset=opset)
    for inputs in runs:
        with ember.no_grad():
            expected = flat(model(*inputs))
        got = run_onnx(proto, *inputs)
        assert len(got) == len(expected)
        for k, (g, e) in enumerate(zip(got, expected)):
            assert g.shape == e.shape and g.dtype == e.dtype, f"output {k}"
            np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4, err_msg=f"output {k}")
    return proto


def bool_mask(shape, p=0.3, seed=0):
    """A random bool mask, True with probability ``p`` (seeded, so runs differ by seed)."""
    g = ember.Generator().manual_seed(seed)
    return ember.rand(*shape, generator=g) < p


def differs(a, b):
    return a.shape != b.shape or not np.array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("shape", [(5, 6), (2, 1, 5, 6), (2, 3, 5, 6)],
                         ids=["LS", "N1LS", "NHLS"])
def test_sdpa_bool_mask_input(tmp_path, shape, opset):
    """SDPA's bool attn_mask (True: may attend) as an input, over a dynamic batch; at run
    time other masks, one with fully masked rows (zeros there), all True, all False."""
    ember.manual_seed(30)
    traced = bool_mask(shape, 0.7, seed=1)
    dyn = {n: {0: "batch"} for n in "qkv"}
    batched = len(shape) == 4
    if batched:
        dyn["mask"] = {0: "batch"}

    def mask(batch, seed, p=0.7):
        return bool_mask((batch,) + shape[1:] if batched else shape, p, seed)

    blocked_rows = mask(4, 3)
    blocked_rows[..., 0, :] = False                  # every key masked for query 0
    runs = [qkv(4, 3, 5, 6) + (m,) for m in
            (mask(4, 2), blocked_rows, mask(4, 4, p=1.0), mask(4, 5, p=0.0))]
    assert all(differs(r[3], traced) for r in runs)
    proto = check_runs(SDPAMask(), qkv(2, 3, 5, 6) + (traced,), tmp_path, runs,
                       dynamic_axes=dyn, opset=opset)
    assert "mask" in [i.name for i in proto.graph.input]
    with ember.no_grad():
        out = SDPAMask()(*runs[1])
    assert np.all(out.numpy()[..., 0, :] == 0)


def test_sdpa_bool_mask_input_dynamic_lengths(tmp_path):
    """A bool (L, S) mask input whose sizes follow the query and key lengths."""
    ember.manual_seed(31)
    dyn = dict(QKV_DYN, mask={0: "lq", 1: "lk"})
    runs = [qkv(3, 2, 7, 4) + (bool_mask((7, 4), 0.6, seed=s),) for s in (2, 3)]
    check_runs(SDPAMask(), qkv(2, 2, 5, 6) + (bool_mask((5, 6), 0.6, seed=1),), tmp_path,
               runs, dynamic_axes=dyn)


def test_sdpa_bool_mask_input_gqa(tmp_path):
    """Grouped-query attention with a per-head bool mask input."""
    class GQA(nn.Module):
        def forward(self, q, k, v, mask):
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)

    def inputs(seed):
        return (ember.randn(2, 4, 5, 8), ember.randn(2, 2, 5, 8), ember.randn(2, 2, 5, 8),
                bool_mask((2, 4, 5, 5), 0.6, seed))

    ember.manual_seed(32)
    check_runs(GQA(), inputs(1), tmp_path, [inputs(2), inputs(3)])


class MHAMasks(nn.Module):
    """MultiheadAttention with the masks as inputs: ``which`` names them ("attn", "kpm")."""

    def __init__(self, which, batch_first=True, need_weights=False, average=True, **kwargs):
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 4, batch_first=batch_first, **kwargs)
        self.which, self.need_weights, self.average = which, need_weights, average

    def forward(self, x, *masks):
        named = dict(zip(self.which, masks))
        out, w = self.attn(x, x, x, attn_mask=named.get("attn"),
                           key_padding_mask=named.get("kpm"), need_weights=self.need_weights,
                           average_attn_weights=self.average)
        return (out, w) if self.need_weights else out


def mha_inputs(which, batch, length, seed, batch_first=True, attn_3d=False, kpm_float=False):
    """``x`` and the masks named by ``which`` (bool, True: excluded): the attention mask
    ``(L, L)`` (or ``(N * 4, L, L)``), the key padding mask ``(N, L)`` with the last key of
    sequence 0 padded, and, from seed 3 on, every key of one query / one sequence masked."""
    x = seq(batch, length, 16, batch_first)
    masks = []
    for name in which:
        if name == "attn":
            m = bool_mask((batch * 4, length, length) if attn_3d else (length, length), 0.3,
                          seed)
            if seed >= 3:
                m[..., 1, :] = True                  # query 1 may attend to nothing
        else:
            m = bool_mask((batch, length), 0.2, seed + 100)
            m[0, -1] = True
            if seed >= 3:
                m[-1] = True                        # a sequence that is all padding
            if kpm_float:
                m = ember.zeros(batch, length).masked_fill(m, float("-inf"))
        masks.append(m)
    return (x,) + tuple(masks)


def mha_dyn(which, batch_first, attn_3d=False, batch=True):
    """Dynamic sequence length, and batch unless ``batch=False``."""
    dyn = seq_dyn(["x"], batch_first)
    if not batch:
        dyn["x"] = {1: "seq"} if batch_first else {0: "seq"}
    if "attn" in which:
        dyn["mask_attn"] = {1: "seq", 2: "seq"} if attn_3d else {0: "seq", 1: "seq"}
    if "kpm" in which:
        dyn["mask_kpm"] = {0: "batch", 1: "seq"} if batch else {1: "seq"}
    return dyn


MASK_SETS = [("attn",), ("kpm",), ("attn", "kpm")]


def export_names(which):
    return ["x"] + [f"mask_{n}" for n in which]


def check_mha_runs(model, which, tmp_path, *, batch_first=True, attn_3d=False, opset=None,
                   kpm_float=False, dynamic_batch=True):
    """Trace on (2 sequences of 5, masks of seed 1); run on other masks and sizes (other
    batch sizes unless ``dynamic_batch=False``)."""
    def make(batch, length, seed):
        return mha_inputs(which, batch, length, seed, batch_first, attn_3d, kpm_float)

    traced = make(2, 5, 1)
    runs = [make(2, 5, 2), make(2, 5, 3), make(2, 7, 4), make(2, 4, 5)]
    if dynamic_batch:
        runs += [make(3, 7, 6), make(1, 4, 7)]
    model.eval()
    path = tmp_path / "mha.onnx"
    ember.onnx.export(model, traced, str(path), input_names=export_names(which),
                      dynamic_axes=mha_dyn(which, batch_first, attn_3d, dynamic_batch),
                      opset_version=opset)
    for inputs in [traced] + runs:
        with ember.no_grad():
            expected = flat(model(*inputs))
        got = run_onnx(path, *inputs)
        for k, (g, e) in enumerate(zip(got, expected)):
            assert g.shape == e.shape and g.dtype == e.dtype, f"output {k}"
            np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4, err_msg=f"output {k}")
    return path


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("which", MASK_SETS, ids=["attn", "kpm", "attn-kpm"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_bool_mask_inputs(tmp_path, which, batch_first, opset):
    """Bool attn_mask and/or key_padding_mask as inputs, batch and length dynamic; at run
    time other masks (fully masked queries and sequences give zeros before the output
    projection, as in ember)."""
    ember.manual_seed(33)
    path = check_mha_runs(MHAMasks(which, batch_first), which, tmp_path,
                          batch_first=batch_first, opset=opset)
    import onnx
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == export_names(which)


@pytest.mark.parametrize("which", MASK_SETS, ids=["attn", "kpm", "attn-kpm"])
@pytest.mark.parametrize("average", [True, False])
def test_mha_bool_mask_inputs_weights(tmp_path, which, average):
    """need_weights=True (a plain softmax: NaN for queries with every key masked, in ember
    and in the graph alike)."""
    ember.manual_seed(34)
    check_mha_runs(MHAMasks(which, need_weights=True, average=average), which, tmp_path)


def test_mha_bool_attn_mask_3d_input(tmp_path):
    """A per-head (N * num_heads, L, S) bool attention mask input with the padding mask
    (the length dynamic; the mask's first axis is a multiple of the batch, which the
    exporter's second trace cannot vary on its own)."""
    ember.manual_seed(35)
    check_mha_runs(MHAMasks(("attn", "kpm")), ("attn", "kpm"), tmp_path, attn_3d=True,
                   dynamic_batch=False)


@pytest.mark.parametrize("kwargs", [{"add_bias_kv": True}, {"add_zero_attn": True}],
                         ids=["bias-kv", "zero-attn"])
def test_mha_bool_mask_inputs_extra_key(tmp_path, kwargs):
    """The extra key column (bias_k or the zero key) is appended to the bool masks by a Pad;
    bias_k repeated over the batch follows a dynamic batch."""
    ember.manual_seed(36)
    check_mha_runs(MHAMasks(("attn", "kpm"), **kwargs), ("attn", "kpm"), tmp_path)


def test_mha_bool_attn_float_padding_inputs(tmp_path):
    """A bool attention mask with a float (0 / -inf) padding mask (mixed types: PyTorch's
    deprecation warning, same values)."""
    ember.manual_seed(37)
    with pytest.warns(UserWarning, match="mismatched"):
        check_mha_runs(MHAMasks(("attn", "kpm")), ("attn", "kpm"), tmp_path, kpm_float=True)


class EncoderPadded(nn.Module):
    """A TransformerEncoder with the padding mask (and optionally the attention mask) as
    inputs."""

    def __init__(self, batch_first=True, nested=True):
        super().__init__()
        layer = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, batch_first=batch_first)
        self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(32),
                                             enable_nested_tensor=nested)

    def forward(self, src, padding, mask=None):
        return self.encoder(src, mask=mask, src_key_padding_mask=padding)


def left_aligned(lengths, total):
    """Bool (N, S) padding: True after each sequence's length."""
    return ember.arange(total)[None, :] >= ember.tensor(lengths)[:, None]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("nested", [True, False], ids=["nested", "plain"])
def test_transformer_encoder_bool_padding_input(tmp_path, nested, opset):
    """A bool src_key_padding_mask input, batch-first. With nested tensors enabled (the
    default) ember follows PyTorch's inference path: zeros at padded tokens when every
    sequence's kept tokens form a prefix, the plain path otherwise; the graph makes that
    choice at run time from the mask it is given."""
    ember.manual_seed(38)
    model = EncoderPadded(nested=nested)
    traced = (seq(3, 6, 32, True), left_aligned([6, 4, 2], 6))
    not_prefix = left_aligned([5, 3, 6], 6)
    not_prefix[1, 0] = True                          # a padded token before kept ones
    runs = [(seq(3, 6, 32, True), left_aligned([1, 6, 3], 6)),
            (seq(3, 6, 32, True), not_prefix),
            (seq(4, 9, 32, True), left_aligned([9, 2, 5, 7], 9)),
            (seq(2, 4, 32, True), left_aligned([4, 4], 4)),
            (seq(2, 5, 32, True), left_aligned([0, 3], 5))]   # one sequence all padding
    check_runs(model, traced, tmp_path, runs,
               dynamic_axes={"src": {0: "batch", 1: "seq"}, "padding": {0: "batch", 1: "seq"}},
               opset=opset)
    if nested:                                        # the two paths differ at the padding
        with ember.no_grad():
            model.eval()
            aligned = model(*runs[0]).numpy()
            model.encoder.use_nested_tensor = False
            plain = model(*runs[0]).numpy()
            model.encoder.use_nested_tensor = True
        assert not np.allclose(aligned, plain)


def test_transformer_encoder_bool_padding_input_seq_first(tmp_path):
    """Sequence-first layout (PyTorch's nested path needs batch-first: the plain path)."""
    class SeqFirst(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = EncoderPadded(batch_first=False, nested=False)

        def forward(self, src, padding):
            return self.inner(src, padding)

    ember.manual_seed(39)
    runs = [(seq(4, 7, 32, False), left_aligned([7, 1, 4, 2], 7) | bool_mask((4, 7), 0.2, s))
            for s in (2, 3)]
    check_runs(SeqFirst(), (seq(2, 6, 32, False), left_aligned([6, 3], 6)), tmp_path, runs,
               dynamic_axes={"src": {0: "seq", 1: "batch"}, "padding": {0: "batch", 1: "seq"}})


@pytest.mark.parametrize("padding", [False, True], ids=["mask", "mask-padding"])
def test_transformer_encoder_bool_mask_inputs(tmp_path, padding):
    """A bool attention mask input (with or without a padding mask input). The traced mask
    is the causal one, which ember would detect as such (is_causal=None) and replace by the
    causal hint; a mask that is an input is not inspected, so the other masks given at run
    time are applied as they are."""
    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = EncoderPadded()

        def forward(self, src, mask, *pad):
            return self.inner(src, pad[0] if pad else None, mask)

    def inputs(batch, seed, mask):
        pad = (left_aligned([6 - i for i in range(batch)], 6),) if padding else ()
        return (seq(batch, 6, 32, True), mask) + pad

    ember.manual_seed(40)
    causal = ember.ones(6, 6, dtype=ember.bool).triu(1)
    dyn = {"src": {0: "batch"}}
    if padding:
        dyn["pad"] = {0: "batch"}
    runs = [inputs(3, s, bool_mask((6, 6), 0.3, s) & ~ember.eye(6, dtype=ember.bool))
            for s in (1, 2)]
    check_runs(Masked(), inputs(2, 0, causal), tmp_path, runs, dynamic_axes=dyn)


def test_mha_unbatched_bool_mask_inputs(tmp_path):
    """Unbatched query (L, E) with a bool (S,) padding mask and (L, S) attention mask."""
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(16, 4)

        def forward(self, x, padding, mask):
            return self.attn(x, x, x, key_padding_mask=padding, attn_mask=mask,
                             need_weights=False)[0]

    def inputs(length, seed):
        padding = bool_mask((length,), 0.3, seed)
        padding[0] = False
        return ember.randn(length, 16), padding, bool_mask((length, length), 0.3, seed + 50)

    ember.manual_seed(41)
    check_runs(M(), inputs(5, 1), tmp_path, [inputs(5, 2), inputs(8, 3)],
               dynamic_axes={"x": {0: "seq"}, "padding": {0: "seq"},
                             "mask": {0: "seq", 1: "seq"}})


def test_transformer_bool_mask_inputs(tmp_path):
    """nn.Transformer with bool tgt_mask and padding masks (source, target, memory) as
    inputs: the decoder's masks go to MultiheadAttention as they are."""
    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = nn.Transformer(16, 2, 1, 1, 32, batch_first=True)

        def forward(self, src, tgt, tgt_mask, src_padding, tgt_padding):
            return self.model(src, tgt, tgt_mask=tgt_mask, src_key_padding_mask=src_padding,
                              tgt_key_padding_mask=tgt_padding,
                              memory_key_padding_mask=src_padding)

    def inputs(batch, s, t, seed):
        # random, but every query keeps itself
        tgt_mask = bool_mask((t, t), 0.3, seed) & ~ember.eye(t, dtype=ember.bool)
        return (seq(batch, s, 16, True), seq(batch, t, 16, True), tgt_mask,
                left_aligned([s - i % s for i in range(batch)], s),
                left_aligned([t - i % t for i in range(batch)], t))

    ember.manual_seed(42)
    check_runs(Seq2Seq(), inputs(2, 5, 4, 1), tmp_path, [inputs(2, 5, 4, 2),
                                                          inputs(3, 7, 6, 3)],
               dynamic_axes={"src": {0: "batch", 1: "src_len"},
                             "tgt": {0: "batch", 1: "tgt_len"},
                             "tgt_mask": {0: "tgt_len", 1: "tgt_len"},
                             "src_padding": {0: "batch", 1: "src_len"},
                             "tgt_padding": {0: "batch", 1: "tgt_len"}})
