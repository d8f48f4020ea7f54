"""Transformer layers and models against PyTorch: TransformerEncoderLayer,
TransformerDecoderLayer, TransformerEncoder, TransformerDecoder and Transformer in eval mode
(values, input and parameter gradients), masks and causal hints, pre/post-norm, relu/gelu,
batch-first and unbatched inputs, repr, state-dict transfer both ways, initialisation and
errors."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from oracle import assert_close, requires_torch, torch

import ember

enn = ember.nn
F = enn.functional

D, NHEAD, FF = 8, 2, 12

# PyTorch (and ember, as it) warns that its nested-tensor fast path is off for most layers
pytestmark = [pytest.mark.filterwarnings("ignore:enable_nested_tensor"),
              pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")]


def _lib(lib, a, grad=False):
    t = lib.tensor(a)
    return t.requires_grad_() if grad else t


def _transfer(em, tm):
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


def _compare(em, tm, arrays, masks=None, kwargs=None, dtype=np.float64, tol=None):
    """Forward both models in eval mode (dropout off) on the same inputs, backward a random
    output gradient, and compare output, input gradients and every parameter gradient."""
    _transfer(em, tm)
    em.eval()
    tm.eval()
    masks, kwargs = masks or {}, kwargs or {}
    tol = tol or ({} if dtype == np.float64 else {"rtol": 2e-5, "atol": 5e-6})
    res = []
    for lib, mod in ((ember, em), (torch, tm)):
        ins = [_lib(lib, a.astype(dtype), True) for a in arrays]
        kw = {k: _lib(lib, m) for k, m in masks.items()}
        out = mod(*ins, **kw, **kwargs)
        g = np.random.default_rng(9).standard_normal(tuple(out.shape)).astype(dtype)
        out.backward(_lib(lib, g))
        res.append((out, [x.grad for x in ins], dict(mod.named_parameters())))
    (eo, eg, ep), (to, tg, tp) = res
    assert_close(eo, to, msg="output", **tol)
    assert_close(eg, tg, msg="input grads", **tol)
    assert list(ep) == list(tp)
    for name in tp:
        assert_close(ep[name].grad, tp[name].grad, msg=name, **tol)
    return eo


def _causal(n):
    return np.triu(np.full((n, n), -np.inf), 1)


ENC_MASKS = [
    None,
    "causal",                  # detected / hinted as causal
    "bool",                    # bool src_mask and bool padding mask
    "float",
]


def _enc_masks(kind, S, N, rng):
    if kind is None:
        return {}, {}
    if kind == "causal":
        return {"src_mask": _causal(S)}, {"is_causal": True}
    if kind == "bool":
        m = rng.random((S, S)) > 0.7
        np.fill_diagonal(m, False)
        return {"src_mask": m, "src_key_padding_mask": rng.random((N, S)) > 0.8}, {}
    return {"src_mask": rng.standard_normal((S, S)),
            "src_key_padding_mask": rng.standard_normal((N, S))}, {}


@requires_torch
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ENC_MASKS)
def test_encoder_layer_matches_torch(norm_first, activation, batch_first, masks):
    rng = np.random.default_rng(0)
    S, N = 5, 3
    x = rng.standard_normal((N, S, D) if batch_first else (S, N, D))
    kw = {"dim_feedforward": FF, "activation": activation, "batch_first": batch_first,
          "norm_first": norm_first}
    em = enn.TransformerEncoderLayer(D, NHEAD, dtype=ember.float64, **kw)
    tm = torch.nn.TransformerEncoderLayer(D, NHEAD, dtype=torch.float64, **kw)
    m, extra = _enc_masks(masks, S, N, rng)
    _compare(em, tm, [x], m, extra)


@requires_torch
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_float32_and_unbatched_match_torch(norm_first, batch_first):
    rng = np.random.default_rng(1)
    kw = {"dim_feedforward": FF, "batch_first": batch_first, "norm_first": norm_first}
    em = enn.TransformerEncoderLayer(D, NHEAD, **kw)
    tm = torch.nn.TransformerEncoderLayer(D, NHEAD, **kw)
    _compare(em, tm, [rng.standard_normal((4, 3, D))], dtype=np.float32)
    _compare(em, tm, [rng.standard_normal((4, D))], {"src_key_padding_mask":
                                                     np.array([False, True, False, False])},
             dtype=np.float32)


@requires_torch
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", [None, "causal", "all"])
def test_decoder_layer_matches_torch(norm_first, activation, batch_first, masks):
    rng = np.random.default_rng(2)
    T, S, N = 4, 5, 3
    tgt = rng.standard_normal((N, T, D) if batch_first else (T, N, D))
    mem = rng.standard_normal((N, S, D) if batch_first else (S, N, D))
    kw = {"dim_feedforward": FF, "activation": activation, "batch_first": batch_first,
          "norm_first": norm_first}
    em = enn.TransformerDecoderLayer(D, NHEAD, dtype=ember.float64, **kw)
    tm = torch.nn.TransformerDecoderLayer(D, NHEAD, dtype=torch.float64, **kw)
    m, extra = {}, {}
    if masks == "causal":
        m, extra = {"tgt_mask": _causal(T)}, {"tgt_is_causal": True}
    elif masks == "all":
        m = {"tgt_mask": _causal(T), "memory_mask": rng.random((T, S)) > 0.8,
             "tgt_key_padding_mask": rng.random((N, T)) > 0.8,
             "memory_key_padding_mask": rng.random((N, S)) > 0.8}
        m["tgt_key_padding_mask"][:, 0] = False      # no fully masked rows
        m["memory_mask"][:, 0] = False
        m["memory_key_padding_mask"][:, 0] = False
        m["tgt_key_padding_mask"] = np.where(m["tgt_key_padding_mask"], -np.inf, 0.0)
    _compare(em, tm, [tgt, mem], m, extra)


@requires_torch
@pytest.mark.parametrize("norm", [False, True])
@pytest.mark.parametrize("mask", [None, "causal", "padding"])
def test_encoder_stack_matches_torch(norm, mask):
    rng = np.random.default_rng(3)
    S, N = 5, 2
    layer_e = enn.TransformerEncoderLayer(D, NHEAD, FF, dtype=ember.float64, batch_first=True)
    layer_t = torch.nn.TransformerEncoderLayer(D, NHEAD, FF, dtype=torch.float64,
                                               batch_first=True)
    em = enn.TransformerEncoder(layer_e, 3, enn.LayerNorm(D, dtype=ember.float64)
                                if norm else None)
    tm = torch.nn.TransformerEncoder(layer_t, 3, torch.nn.LayerNorm(D, dtype=torch.float64)
                                     if norm else None)
    masks = {}
    if mask == "causal":                          # is_causal=None: detected from the mask
        masks = {"mask": _causal(S)}
    elif mask == "padding":
        masks = {"src_key_padding_mask": np.array([[False] * 5, [False] * 3 + [True] * 2])}
    _compare(em, tm, [rng.standard_normal((N, S, D))], masks)
    # the layers are independent deep copies
    params = [id(p) for p in em.parameters()]
    assert len(params) == len(set(params)) == len(list(tm.parameters()))
    assert em.layers[0] is not layer_e and em.layers[0].linear1.weight is not \
        em.layers[1].linear1.weight


@requires_torch
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_stack_matches_torch(norm_first):
    rng = np.random.default_rng(4)
    kw = {"dim_feedforward": FF, "norm_first": norm_first}
    em = enn.TransformerDecoder(enn.TransformerDecoderLayer(D, NHEAD, dtype=ember.float64,
                                                            **kw), 2,
                                enn.LayerNorm(D, dtype=ember.float64))
    tm = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(
        D, NHEAD, dtype=torch.float64, **kw), 2, torch.nn.LayerNorm(D, dtype=torch.float64))
    tgt, mem = rng.standard_normal((4, 2, D)), rng.standard_normal((6, 2, D))
    _compare(em, tm, [tgt, mem], {"tgt_mask": _causal(4)})


@requires_torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_end_to_end_matches_torch(batch_first, norm_first):
    rng = np.random.default_rng(5)
    kw = {"d_model": D, "nhead": NHEAD, "num_encoder_layers": 2, "num_decoder_layers": 2,
          "dim_feedforward": FF, "batch_first": batch_first, "norm_first": norm_first}
    em = enn.Transformer(dtype=ember.float64, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = torch.nn.Transformer(dtype=torch.float64, **kw)
    S, T, N = 5, 4, 2
    src = rng.standard_normal((N, S, D) if batch_first else (S, N, D))
    tgt = rng.standard_normal((N, T, D) if batch_first else (T, N, D))
    masks = {"tgt_mask": enn.Transformer.generate_square_subsequent_mask(
        T, dtype=ember.float64).numpy(),
        "src_key_padding_mask": np.array([[False] * S, [False] * 3 + [True] * 2]),
        "memory_key_padding_mask": np.array([[False] * S, [False] * 3 + [True] * 2])}
    _compare(em, tm, [src, tgt], masks)
    # the float32 model too, on the default dtype
    em32 = enn.Transformer(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm32 = torch.nn.Transformer(**kw)
    _compare(em32, tm32, [src, tgt], dtype=np.float32)


@requires_torch
def test_transformer_unbatched_and_training_mode():
    rng = np.random.default_rng(6)
    kw = {"d_model": D, "nhead": NHEAD, "num_encoder_layers": 1, "num_decoder_layers": 1,
          "dim_feedforward": FF}
    em = enn.Transformer(dtype=ember.float64, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = torch.nn.Transformer(dtype=torch.float64, **kw)
    src, tgt = rng.standard_normal((5, D)), rng.standard_normal((3, D))
    out = _compare(em, tm, [src, tgt], {"tgt_mask": _causal(3)})
    assert out.shape == (3, D)
    # training mode: dropout (p=0.1) is active: random, but finite and differentiable
    em.train()
    ember.manual_seed(0)
    x = ember.tensor(src, requires_grad=True)
    y = em(x, ember.tensor(tgt))
    assert not np.allclose(y.detach().numpy(), out.detach().numpy())
    y.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    assert all(p.grad is not None for p in em.parameters())


@requires_torch
@pytest.mark.parametrize("make", [
    lambda L: L.nn.TransformerEncoderLayer(16, 4),
    lambda L: L.nn.TransformerEncoderLayer(16, 4, 32, activation="gelu", bias=False,
                                           norm_first=True, batch_first=True),
    lambda L: L.nn.TransformerEncoderLayer(16, 4, 32, activation=L.nn.GELU()),
    lambda L: L.nn.TransformerDecoderLayer(16, 4, 32, dropout=0.2, layer_norm_eps=1e-6),
    lambda L: L.nn.TransformerEncoder(L.nn.TransformerEncoderLayer(16, 4, 32), 2,
                                      L.nn.LayerNorm(16)),
    lambda L: L.nn.TransformerDecoder(L.nn.TransformerDecoderLayer(16, 4, 32), 2),
    lambda L: L.nn.Transformer(16, 4, 2, 1, 32),
])
def test_structure_and_state_dict_transfer_match_torch(make):
    em, tm = make(ember), make(torch)
    assert repr(em) == repr(tm).replace("torch", "ember")
    assert [(n, tuple(p.shape)) for n, p in em.state_dict().items()] == \
        [(n, tuple(p.shape)) for n, p in tm.state_dict().items()]
    # ember -> torch and torch -> ember
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in em.state_dict().items()})
    _transfer(em, tm)
    for attr in ("norm_first", "activation_relu_or_gelu", "num_layers", "d_model", "nhead",
                 "batch_first", "use_nested_tensor", "enable_nested_tensor", "mask_check"):
        if hasattr(tm, attr):
            assert getattr(em, attr) == getattr(tm, attr), attr


@requires_torch
def test_generate_square_subsequent_mask_matches_torch():
    for sz, dt in ((1, None), (4, None), (3, "float64")):
        e = enn.Transformer.generate_square_subsequent_mask(
            sz, dtype=getattr(ember, dt) if dt else None)
        t = torch.nn.Transformer.generate_square_subsequent_mask(
            sz, dtype=getattr(torch, dt) if dt else None)
        assert_close(e, t)
    assert enn.Transformer.generate_square_subsequent_mask(0).shape == (0, 0)


def test_transformer_init():
    ember.manual_seed(0)
    m = enn.Transformer(32, 4, 1, 1, 64)
    w = m.encoder.layers[0].linear1.weight.detach().numpy()      # (64, 32): xavier_uniform_
    bound = math.sqrt(6 / (32 + 64))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    # 1-D parameters keep their own initialisation: LayerNorm ones/zeros, zero MHA biases
    assert np.all(m.encoder.norm.weight.detach().numpy() == 1)
    assert np.all(m.decoder.layers[0].self_attn.in_proj_bias.detach().numpy() == 0)
    # the layer alone keeps MultiheadAttention's / Linear's initialisation
    layer = enn.TransformerEncoderLayer(32, 4, 64)
    assert np.abs(layer.linear1.weight.detach().numpy()).max() <= 1 / math.sqrt(32)


def test_custom_activation_and_modules():
    calls = []

    def act(x):
        calls.append(x.shape)
        return F.silu(x)
    layer = enn.TransformerEncoderLayer(D, NHEAD, FF, dropout=0.0, activation=act)
    assert layer.activation_relu_or_gelu == 0
    y = layer(ember.randn(3, 2, D))
    assert y.shape == (3, 2, D) and calls == [(3, 2, FF)]
    assert enn.TransformerEncoderLayer(D, NHEAD, activation="gelu").activation is F.gelu
    assert enn.TransformerEncoderLayer(D, NHEAD, activation=enn.ReLU()) \
        .activation_relu_or_gelu == 1
    enc = enn.TransformerEncoder(enn.TransformerEncoderLayer(D, NHEAD, FF), 1)
    dec = enn.TransformerDecoder(enn.TransformerDecoderLayer(D, NHEAD, FF), 1)
    model = enn.Transformer(D, NHEAD, custom_encoder=enc, custom_decoder=dec)
    assert model.encoder is enc and model.decoder is dec
    assert model(ember.randn(5, 2, D), ember.randn(4, 2, D)).shape == (4, 2, D)


@requires_torch
def test_nested_tensor_warning_matches_torch():
    def warns(L):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            layer = L.nn.TransformerEncoderLayer(D, NHEAD, FF, norm_first=True)
            enc = L.nn.TransformerEncoder(layer, 1)
            L.nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        return [str(r.message) for r in rec], enc.use_nested_tensor
    assert warns(ember) == warns(torch)
    assert len(warns(ember)[0]) == 1


@requires_torch
def test_errors_match_torch():
    def cases(L):
        z = L.zeros
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = L.nn.Transformer(D, NHEAD, 1, 1, FF)
            mb = L.nn.Transformer(D, NHEAD, 1, 1, FF, batch_first=True)
        layer = L.nn.TransformerEncoderLayer(D, NHEAD, FF)
        return [
            lambda: L.nn.TransformerEncoderLayer(D, NHEAD, activation="tanh"),
            lambda: L.nn.TransformerDecoderLayer(D, NHEAD, activation="swish"),
            lambda: L.nn.TransformerEncoderLayer(D, 3),
            lambda: m(z(5, 2, D), z(4, 3, D)),
            lambda: mb(z(2, 5, D), z(3, 4, D)),
            lambda: m(z(5, 2, D), z(4, 2, D + 1)),
            lambda: m(z(5, 2, D + 1), z(4, 2, D + 1)),
            lambda: layer(z(5, 2, D), src_mask=z(4, 4)),
            lambda: layer(z(5, 2, D), src_key_padding_mask=z(2, 5, dtype=L.int64)),
            lambda: layer(z(5, 2, D + 2)),
        ]
    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        def outcome(fn):
            try:
                fn()
                return "ok"
            except Exception as e:  # noqa: BLE001 - the exception is what is compared
                return type(e).__name__, str(e).replace("torch", "ember")
        assert outcome(fe) == outcome(ft), i


@requires_torch
@pytest.mark.parametrize("norm", [False, True])
@pytest.mark.parametrize("padding", [
    [[False] * 5, [False] * 3 + [True] * 2],            # left-aligned: PyTorch's nested path
    [[False] * 5, [False, True, False, True, True]],    # not left-aligned: its plain path
    [[0.0] * 5, [0.0] * 3 + [-2.0] * 2],                # float: nonzero counts as padding
])
def test_encoder_inference_fast_path_matches_torch(norm, padding):
    # in inference PyTorch runs TransformerEncoder on nested tensors (zeros at the padded
    # positions) and its fused layer kernels; with gradients, its plain path
    rng = np.random.default_rng(7)
    layer_t = torch.nn.TransformerEncoderLayer(D, NHEAD, FF, batch_first=True)
    tm = torch.nn.TransformerEncoder(layer_t, 2, torch.nn.LayerNorm(D) if norm else None)
    em = enn.TransformerEncoder(enn.TransformerEncoderLayer(D, NHEAD, FF, batch_first=True),
                                2, enn.LayerNorm(D) if norm else None)
    _transfer(em, tm)
    em.eval()
    tm.eval()
    x = rng.standard_normal((2, 5, D)).astype(np.float32)
    kpm = np.array(padding)
    kpm = kpm.astype(np.float32) if kpm.dtype.kind == "f" else kpm
    with torch.no_grad():
        t_inf = tm(torch.tensor(x), src_key_padding_mask=torch.tensor(kpm))
    with ember.no_grad():
        e_inf = em(ember.tensor(x), src_key_padding_mask=ember.tensor(kpm))
    assert_close(e_inf, t_inf, atol=2e-6)
    t_plain = tm(torch.tensor(x), src_key_padding_mask=torch.tensor(kpm))
    e_plain = em(ember.tensor(x), src_key_padding_mask=ember.tensor(kpm))
    assert_close(e_plain, t_plain, atol=2e-6)
    if padding[1][-1] is True and padding[1][1] is False:      # the nested case
        assert np.all(e_inf.numpy()[1, 3:] == (em.norm.bias.detach().numpy() if norm else 0))
        assert not np.allclose(e_plain.detach().numpy()[1, 3:], e_inf.numpy()[1, 3:])


@requires_torch
def test_multihead_attention_inference_fast_path_matches_torch():
    # PyTorch's fused MHA kernel (eval, no grad, batch-first self-attention) and ember's
    # ordinary path give the same numbers
    rng = np.random.default_rng(8)
    tm = torch.nn.MultiheadAttention(D, NHEAD, batch_first=True).eval()
    em = enn.MultiheadAttention(D, NHEAD, batch_first=True).eval()
    _transfer(em, tm)
    x = rng.standard_normal((3, 5, D)).astype(np.float32)
    kpm = rng.random((3, 5)) > 0.7
    kpm[:, 0] = False
    am = rng.random((5, 5)) > 0.8
    for kw in ({}, {"key_padding_mask": kpm}, {"attn_mask": am},
               {"key_padding_mask": kpm, "attn_mask": am, "need_weights": False}):
        with torch.no_grad():
            to, tw = tm(*[torch.tensor(x)] * 3, **{k: torch.tensor(v) if isinstance(
                v, np.ndarray) else v for k, v in kw.items()})
        with ember.no_grad():
            eo, ew = em(*[ember.tensor(x)] * 3, **{k: ember.tensor(v) if isinstance(
                v, np.ndarray) else v for k, v in kw.items()})
        assert_close(eo, to, atol=2e-6)
        assert_close(ew, tw, atol=2e-6)
