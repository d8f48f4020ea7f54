"""Attention: ``F.scaled_dot_product_attention``, ``F.multi_head_attention_forward`` and
``nn.MultiheadAttention`` against PyTorch (values, attention weights, input and parameter
gradients, double backward), numerical gradient checks, dropout statistics, initialisation,
repr, state-dict keys and error messages."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from oracle import assert_close, check_op, rand, requires_torch, torch

import ember

enn = ember.nn
F = enn.functional
gradcheck, gradgradcheck = ember.autograd.gradcheck, ember.autograd.gradgradcheck

DTYPES = [np.float32, np.float64]


def outcome(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
        return "ok"
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch", "ember")


def copy_params(em, tm):
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


def _lib_tensor(lib, a, grad=False):
    t = lib.tensor(a)
    return t.requires_grad_() if grad else t


# ====================================================================== SDPA
def _mask(rng, kind, shape, dtype):
    """A mask of ``kind``: 'bool' (with the first query row fully masked out), 'boolrand',
    'float' (with -inf entries), 'floatgrad' (a float mask that requires grad)."""
    if kind.startswith("bool"):
        m = rng.random(shape) > 0.3
        if kind == "bool":
            m[..., 0, :] = False
        return ember.tensor(m)
    m = rng.standard_normal(shape).astype(dtype)
    if kind == "float":
        m[rng.random(shape) > 0.7] = -np.inf
    return ember.tensor(m, requires_grad=kind == "floatgrad")


SDPA_CASES = [
    # q shape, k shape, v shape, mask kind, mask shape, kwargs
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), None, None, {}),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8), "bool", (4, 5), {}),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8), "boolrand", (2, 3, 4, 5), {}),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8), "float", (4, 5), {}),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8), "floatgrad", (2, 1, 4, 5), {}),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8), "floatgrad", (5,), {"scale": 0.3}),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8), None, None, {"is_causal": True}),
    ((2, 5, 8), (2, 4, 8), (2, 4, 3), None, None, {"is_causal": True}),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8), None, None, {"scale": 2.5}),
    ((4, 8), (5, 8), (5, 8), "bool", (4, 5), {}),                  # no batch dims
    ((2, 3, 4, 8), (3, 5, 8), (1, 3, 5, 8), None, None, {}),       # batch dims broadcast
    ((4, 8), (2, 5, 8), (2, 5, 8), None, None, {}),
    ((2, 2, 2, 3, 4), (2, 2, 2, 5, 4), (2, 2, 2, 5, 4), "boolrand", (2, 1, 3, 5), {}),
    ((2, 6, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8), None, None, {"enable_gqa": True}),
    ((2, 6, 4, 8), (2, 2, 5, 8), (2, 2, 5, 8), "boolrand", (2, 6, 4, 5),
     {"enable_gqa": True}),
    ((2, 4, 4, 8), (2, 2, 5, 8), (2, 2, 5, 8), None, None,
     {"enable_gqa": True, "is_causal": True}),
]


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("qs,ks,vs,mkind,mshape,kw", SDPA_CASES)
def test_sdpa_matches_torch(dtype, qs, ks, vs, mkind, mshape, kw):
    rng = np.random.default_rng(0)
    args = [rand(*qs, dtype=dtype, seed=1), rand(*ks, dtype=dtype, seed=2),
            rand(*vs, dtype=dtype, seed=3)]
    if mkind is not None:
        args.append(_mask(rng, mkind, mshape, dtype))
    tol = {} if dtype == np.float64 else {"rtol": 1e-5, "atol": 2e-6}

    def run(lib):
        return lambda *a: lib.nn.functional.scaled_dot_product_attention(*a, **kw)
    check_op(run(ember), run(torch), args, **tol)


@requires_torch
@pytest.mark.parametrize("qs,ks,vs", [((2, 4, 3), (2, 0, 3), (2, 0, 5)),
                                      ((2, 0, 3), (2, 4, 3), (2, 4, 5)),
                                      ((0, 4, 3), (0, 4, 3), (0, 4, 5))])
def test_sdpa_empty_matches_torch(qs, ks, vs):
    # no keys at all: zeros, as PyTorch's safe softmax gives
    args = [rand(*qs, seed=1), rand(*ks, seed=2), rand(*vs, seed=3)]
    check_op(F.scaled_dot_product_attention, torch.nn.functional.scaled_dot_product_attention,
             args)


def test_sdpa_fully_masked_rows_are_zero_with_zero_grad():
    q, k, v = rand(1, 3, 2, seed=1), rand(1, 4, 2, seed=2), rand(1, 4, 2, seed=3)
    mask = ember.tensor(np.array([[True, False, True, False], [False] * 4, [True] * 4]))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert np.all(out.detach().numpy()[0, 1] == 0) and np.isfinite(out.detach().numpy()).all()
    out.sum().backward()
    assert np.all(q.grad.numpy()[0, 1] == 0)
    fmask = ember.tensor(np.where(mask.numpy(), 0.0, -np.inf))
    out2 = F.scaled_dot_product_attention(q, k, v, attn_mask=fmask)
    assert_close(out2, out.detach())


@pytest.mark.parametrize("mkind,kw", [(None, {}), ("bool", {}), ("floatgrad", {}),
                                      (None, {"is_causal": True}), (None, {"scale": 0.7}),
                                      ("boolrand", {"enable_gqa": True})])
def test_sdpa_gradcheck(mkind, kw):
    rng = np.random.default_rng(0)
    hq = 4 if kw.get("enable_gqa") else 2
    args = [rand(1, hq, 3, 2, seed=1), rand(1, 2, 4, 2, seed=2), rand(1, 2, 4, 3, seed=3)]
    if mkind is not None:
        args.append(_mask(rng, mkind, (3, 4), np.float64))

    def fn(*a):
        return F.scaled_dot_product_attention(*a, **kw)
    assert gradcheck(fn, args)
    assert gradgradcheck(fn, args)


def _double_backward(lib, fn, arrays):
    """Second derivatives through ``create_graph=True`` (see test_linear)."""
    ins = [lib.tensor(a.copy()).requires_grad_() for a in arrays]
    out = fn(*ins)
    rng = np.random.default_rng(7)
    g = lib.tensor(rng.uniform(-1, 1, tuple(out.shape))).requires_grad_()
    firsts = lib.autograd.grad(out, ins, g, create_graph=True)
    total = sum((f * lib.tensor(rng.uniform(-1, 1, tuple(f.shape)))).sum() for f in firsts)
    return lib.autograd.grad(total, ins + [g], allow_unused=True)


@requires_torch
@pytest.mark.parametrize("with_mask", [False, True])
def test_sdpa_double_backward_matches_torch(with_mask):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3))]
    if with_mask:
        arrays.append(rng.standard_normal((3, 5)))

    def run(lib):
        return lambda *a: lib.nn.functional.scaled_dot_product_attention(*a, scale=0.8)
    ours = _double_backward(ember, run(ember), arrays)
    with sdpa_kernel(SDPBackend.MATH):      # PyTorch's fused CPU kernel has no 2nd derivative
        theirs = _double_backward(torch, run(torch), arrays)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert_close(a, b, msg=f"input {i}")


def test_sdpa_dropout_statistics_and_gradient():
    # q = k = 0: uniform probabilities 1/S; with v = I the output *is* the dropped-out
    # probability matrix, so the kept fraction and the rescaling can be read off directly
    ember.manual_seed(0)
    S, L, p = 50, 40, 0.3
    q = ember.zeros(8, L, 4)
    k = ember.zeros(8, S, 4)
    v = ember.tensor(np.tile(np.eye(S), (8, 1, 1)), dtype=ember.float32, requires_grad=True)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
    probs = out.detach().numpy()
    kept = probs != 0
    assert abs(kept.mean() - (1 - p)) < 0.02
    np.testing.assert_allclose(probs[kept], 1 / ((1 - p) * S), rtol=1e-6)
    # the gradient reuses the same mask: dV = P'^T @ g
    g = np.random.default_rng(1).standard_normal(probs.shape).astype(np.float32)
    out.backward(ember.tensor(g))
    np.testing.assert_allclose(v.grad.numpy(), np.swapaxes(probs, -1, -2) @ g, rtol=1e-5,
                               atol=1e-6)
    # p = 1 drops everything; eval-style p = 0 is deterministic
    assert np.all(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).detach().numpy() == 0)
    a = F.scaled_dot_product_attention(q, k, v).detach().numpy()
    np.testing.assert_allclose(a, np.full_like(a, 1 / S), rtol=1e-6)


def test_sdpa_dropout_gradcheck():
    # re-seeding before each call fixes the dropout mask, so the function is deterministic
    args = [rand(1, 3, 2, seed=1), rand(1, 4, 2, seed=2), rand(1, 4, 3, seed=3),
            rand(3, 4, seed=4)]

    def fn(q, k, v, m):
        ember.manual_seed(0)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m, dropout_p=0.4)
    out = fn(*args).detach().numpy()
    ember.manual_seed(0)
    assert not np.allclose(out, F.scaled_dot_product_attention(*args[:3], attn_mask=args[3])
                           .detach().numpy())          # the dropout did act
    assert gradcheck(fn, args)
    assert gradgradcheck(fn, args)


def test_sdpa_dropout_reproducible_with_seed():
    q, k, v = rand(2, 3, 4, seed=1), rand(2, 5, 4, seed=2), rand(2, 5, 4, seed=3)
    ember.manual_seed(3)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    ember.manual_seed(3)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert np.array_equal(a.detach().numpy(), b.detach().numpy())


def test_sdpa_graph_and_no_grad():
    q, k, v = rand(2, 3, 4, seed=1), rand(2, 5, 4, seed=2), rand(2, 5, 4, seed=3)
    out = F.scaled_dot_product_attention(q, k, v)
    assert out.requires_grad and out.grad_fn.next_functions[0][0] is not None
    with ember.no_grad():
        assert F.scaled_dot_product_attention(q, k, v).grad_fn is None
    # only v requires grad: q and k get nothing
    q2, k2 = q.detach(), k.detach()
    F.scaled_dot_product_attention(q2, k2, v).sum().backward()
    assert q2.grad is None and k2.grad is None and v.grad.shape == (2, 5, 4)


@requires_torch
def test_sdpa_errors_match_torch():
    def cases(L):
        f = L.nn.functional.scaled_dot_product_attention
        z = L.zeros
        q, k, v = z(2, 4, 8), z(2, 5, 8), z(2, 5, 8)
        return [
            lambda: f(q, k.double(), v),
            lambda: f(q.long(), k.long(), v.long()),
            lambda: f(q, k, v, attn_mask=z(4, 5, dtype=L.int64)),
            lambda: f(q, k, v, attn_mask=z(4, 5, dtype=L.float64)),
            lambda: f(q.double(), k.double(), v.double(), attn_mask=z(4, 5)),
            lambda: f(z(8), z(8), z(8)),
            lambda: f(q, k, v, dropout_p=1.5),
            lambda: f(q, k, v, 0.5),
            lambda: f(q, [1.0], v),
        ]
    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


@pytest.mark.parametrize("call,exc,match", [
    # PyTorch's math path raises here (its fused CPU kernel silently combines the two)
    (lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, attn_mask=ember.ones(4, 5, dtype=ember.bool), is_causal=True),
     RuntimeError, "Explicit attn_mask should not be set when is_causal=True"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k[..., :7], v), RuntimeError,
     r"query and key must have the same embedding size.*\[2, 4, 8\].*\[2, 5, 7\]"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v[:, :3]), RuntimeError,
     r"key and value must have the same sequence length.*\[2, 5, 8\].*\[2, 3, 8\]"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=ember.zeros(3, 5)),
     RuntimeError, r"attn_mask of shape \[3, 5\] does not broadcast.*\[2, 4, 5\]"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=ember.zeros(3, 2, 4, 5)),
     RuntimeError, r"attn_mask of shape \[3, 2, 4, 5\]"),
    (lambda q, k, v: F.scaled_dot_product_attention(
        ember.zeros(2, 5, 4, 8), ember.zeros(2, 3, 5, 8), ember.zeros(2, 3, 5, 8),
        enable_gqa=True), RuntimeError, "Number of heads in key and value must divide"),
])
def test_sdpa_errors(call, exc, match):
    q, k, v = ember.zeros(2, 4, 8), ember.zeros(2, 5, 8), ember.zeros(2, 5, 8)
    with pytest.raises(exc, match=match):
        call(q, k, v)


# ====================================================================== MultiheadAttention
E, H = 8, 2


def _mha_pair(dtype, **kw):
    tdt, edt = getattr(torch, np.dtype(dtype).name), getattr(ember, np.dtype(dtype).name)
    tm = torch.nn.MultiheadAttention(E, H, dtype=tdt, **kw)
    em = enn.MultiheadAttention(E, H, dtype=edt, **kw)
    copy_params(em, tm)
    return em, tm


MHA_CASES = [
    # module kwargs, call config
    ({}, {}),
    ({"batch_first": True}, {}),
    ({}, {"self": True}),
    ({"batch_first": True}, {"self": True, "kpm": "bool", "am": (2, "bool")}),
    ({}, {"kv_same": True, "kpm": "bool"}),
    ({"batch_first": True}, {"kv_same": True, "am": (3, "float")}),
    ({"kdim": 6, "vdim": 5}, {}),
    ({"kdim": 6, "vdim": 5, "batch_first": True}, {"kpm": "float", "need_weights": False}),
    ({"add_bias_kv": True}, {"kpm": "bool", "am": (2, "float")}),
    ({"add_bias_kv": True, "batch_first": True}, {"self": True}),
    ({"add_zero_attn": True}, {"am": (3, "bool")}),
    ({"add_zero_attn": True, "add_bias_kv": True, "batch_first": True},
     {"kpm": "bool", "am": (2, "bool"), "average": False}),
    ({"bias": False}, {"self": True, "am": (2, "float")}),
    ({}, {"am": (3, "bool"), "kpm": "bool", "need_weights": False}),
    ({"batch_first": True}, {"self": True, "am": (2, "float"), "need_weights": False}),
    ({}, {"average": False}),
    ({}, {"unbatched": True}),
    ({"batch_first": True}, {"unbatched": True, "kpm": "bool", "am": (3, "float"),
                             "self": True}),
    ({}, {"unbatched": True, "am": (2, "bool"), "need_weights": False}),
    ({}, {"self": True, "causal": True, "need_weights": False}),
    ({"batch_first": True}, {"self": True, "causal": True, "kpm": "bool",
                             "need_weights": False}),
    ({}, {"causal": True}),                    # with weights: the mask itself is used
    ({}, {"kpm": "dead", "need_weights": True}),    # a fully padded sequence: NaN rows
    ({}, {"kpm": "dead", "need_weights": False}),   # ... zeros via the safe softmax
]


def _mha_inputs(rng, em, cfg, dtype):
    N, L, S = 3, 4, 5
    if cfg.get("self"):
        S = L
    ub, bf = cfg.get("unbatched"), em.batch_first

    def shape(n, length, e):
        if ub:
            return (length, e)
        return (n, length, e) if bf else (length, n, e)
    q = rng.standard_normal(shape(N, L, E)).astype(dtype)
    k = rng.standard_normal(shape(N, S, em.kdim)).astype(dtype)
    v = rng.standard_normal(shape(N, S, em.vdim)).astype(dtype)
    kw = {}
    kpm = cfg.get("kpm")
    if kpm:
        m = rng.random((S,) if ub else (N, S)) > 0.7
        if kpm == "dead":
            m[1] = True
        kw["key_padding_mask"] = m if kpm != "float" else np.where(m, -3.0, 0.5).astype(dtype)
    if cfg.get("causal"):
        kw["attn_mask"] = np.triu(np.ones((L, S), dtype=bool), 1)
        kw["is_causal"] = True
    elif cfg.get("am"):
        nd, kind = cfg["am"]
        mshape = (L, S) if nd == 2 else ((H if ub else N * H), L, S)
        m = rng.random(mshape) > 0.7
        kw["attn_mask"] = m if kind == "bool" else rng.standard_normal(mshape).astype(dtype)
    kw["need_weights"] = cfg.get("need_weights", True)
    kw["average_attn_weights"] = cfg.get("average", True)
    return q, k, v, kw


def _run_mha(lib, mod, q, k, v, kw, cfg, seed=5):
    """Forward, then backward of a random projection of the output (and of the weights);
    returns (output, weights, input grads, parameter grads)."""
    qq = _lib_tensor(lib, q, True)
    if cfg.get("self"):
        kk = vv = qq
    elif cfg.get("kv_same"):
        kk = vv = _lib_tensor(lib, k, True)
    else:
        kk, vv = _lib_tensor(lib, k, True), _lib_tensor(lib, v, True)
    args = {n: (_lib_tensor(lib, a) if isinstance(a, np.ndarray) else a) for n, a in kw.items()}
    out, w = mod(qq, kk, vv, **args)
    rng = np.random.default_rng(seed)
    loss = (out * _lib_tensor(lib, rng.standard_normal(tuple(out.shape)).astype(q.dtype))).sum()
    if w is not None:
        wg = rng.standard_normal(tuple(w.shape)).astype(q.dtype)
        loss = loss + (w.nan_to_num() * _lib_tensor(lib, wg)).sum()
    loss.backward()
    ins = [qq.grad] + ([] if cfg.get("self") else [kk.grad]) + \
        ([] if cfg.get("self") or cfg.get("kv_same") else [vv.grad])
    params = {n: p.grad for n, p in mod.named_parameters()}
    return out, w, ins, params


@requires_torch
@pytest.mark.filterwarnings("ignore:Support for mismatched")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mkw,cfg", MHA_CASES)
def test_multihead_attention_matches_torch(dtype, mkw, cfg):
    em, tm = _mha_pair(dtype, **mkw)
    assert list(em.state_dict()) == list(tm.state_dict())
    q, k, v, kw = _mha_inputs(np.random.default_rng(0), em, cfg, dtype)
    eo, ew, eins, eparams = _run_mha(ember, em, q, k, v, kw, cfg)
    to, tw, tins, tparams = _run_mha(torch, tm, q, k, v, kw, cfg)
    tol = {} if dtype == np.float64 else {"rtol": 2e-5, "atol": 2e-6}
    assert_close(eo, to, msg="output", **tol)
    assert_close(ew, tw, msg="weights", **tol)
    assert_close(eins, tins, msg="input grads", **tol)
    assert list(eparams) == list(tparams)
    for name in tparams:
        assert_close(eparams[name], tparams[name], msg=name, **tol)


@requires_torch
def test_multihead_attention_dead_rows():
    # the expected NaN / 0 rows of the "dead" cases are really there (not just matching)
    em, _ = _mha_pair(np.float64)
    q, k, v, kw = _mha_inputs(np.random.default_rng(0), em, {"kpm": "dead"}, np.float64)
    args = [ember.tensor(a) for a in (q, k, v)]
    mask = ember.tensor(kw["key_padding_mask"])
    out, w = em(*args, key_padding_mask=mask)
    assert np.isnan(out.detach().numpy()[:, 1]).all() and np.isnan(w.detach().numpy()[1]).all()
    assert np.isfinite(out.detach().numpy()[:, 0]).all()
    out, w = em(*args, key_padding_mask=mask, need_weights=False)
    assert w is None
    np.testing.assert_allclose(out.detach().numpy()[:, 1],
                               np.broadcast_to(em.out_proj.bias.detach().numpy(), (4, E)))


@requires_torch
@pytest.mark.parametrize("separate", [False, True])
@pytest.mark.parametrize("statics", [False, True])
@pytest.mark.parametrize("need_weights", [False, True])
def test_multi_head_attention_forward_matches_torch(separate, statics, need_weights):
    rng = np.random.default_rng(0)
    L, S, N, kd = 3, 4, 2, (6 if separate else E)
    arrays = {"q": rng.standard_normal((L, N, E)), "k": rng.standard_normal((S, N, kd)),
              "v": rng.standard_normal((S, N, kd)),
              "in_w": rng.standard_normal((3 * E, E)) * 0.3,
              "in_b": rng.standard_normal(3 * E), "out_w": rng.standard_normal((E, E)) * 0.3,
              "out_b": rng.standard_normal(E), "qw": rng.standard_normal((E, E)) * 0.3,
              "kw": rng.standard_normal((E, kd)) * 0.3, "vw": rng.standard_normal((E, kd)) * 0.3,
              "sk": rng.standard_normal((N * H, S, E // H)),
              "sv": rng.standard_normal((N * H, S, E // H))}
    mask = rng.random((L, S)) > 0.7

    def run(lib):
        t = {n: lib.tensor(a).requires_grad_() for n, a in arrays.items()}
        out, w = lib.nn.functional.multi_head_attention_forward(
            t["q"], t["k"], t["v"], E, H, None if separate else t["in_w"], t["in_b"], None,
            None, False, 0.0, t["out_w"], t["out_b"], training=True,
            attn_mask=lib.tensor(mask), need_weights=need_weights,
            use_separate_proj_weight=separate, q_proj_weight=t["qw"] if separate else None,
            k_proj_weight=t["kw"] if separate else None,
            v_proj_weight=t["vw"] if separate else None,
            static_k=t["sk"] if statics else None, static_v=t["sv"] if statics else None)
        loss = (out * out).sum() + ((w * w).sum() if w is not None else 0)
        used = [n for n in t if not (separate and n == "in_w") and
                not (not separate and n in ("qw", "kw", "vw")) and
                not (not statics and n in ("sk", "sv"))]
        grads = lib.autograd.grad(loss, [t[n] for n in used], allow_unused=True)
        return out, w, grads
    eo, ew, eg = run(ember)
    to, tw, tg = run(torch)
    assert_close(eo, to)
    assert_close(ew, tw)
    for i, (a, b) in enumerate(zip(eg, tg)):
        if b is None:
            assert a is None or np.all(a.numpy() == 0), i
        else:
            assert_close(a, b, msg=str(i))


def test_multihead_attention_gradcheck():
    rng = np.random.default_rng(0)
    e, h = 4, 2
    t = [ember.tensor(rng.standard_normal(s), requires_grad=True)
         for s in ((2, 1, e), (3, 1, e), (3, 1, e), (3 * e, e), (3 * e,), (e, e), (e,))]
    mask = ember.tensor(np.array([[False, True, False], [False, False, True]]))

    def fn(q, k, v, w, b, ow, ob):
        out, weights = F.multi_head_attention_forward(q, k, v, e, h, w, b, None, None, False,
                                                      0.0, ow, ob, attn_mask=mask)
        return out, weights
    assert gradcheck(fn, t)
    assert gradgradcheck(fn, t)

    def self_attn(x, w, b, ow, ob):              # the fused q/k/v projection path
        return F.multi_head_attention_forward(x, x, x, e, h, w, b, None, None, False, 0.0,
                                              ow, ob, need_weights=False)[0]
    assert gradcheck(self_attn, [t[1]] + t[3:])
    assert gradgradcheck(self_attn, [t[1]] + t[3:])


def test_multihead_attention_batch_first_self_attention_gradcheck():
    m = enn.MultiheadAttention(4, 2, batch_first=True, add_bias_kv=True, add_zero_attn=True,
                               dtype=ember.float64)
    x = rand(1, 3, 4)
    assert gradcheck(lambda x: m(x, x, x)[0], [x])
    assert gradgradcheck(lambda x: m(x, x, x, need_weights=False)[0], [x])


def test_multihead_attention_dropout_training():
    ember.manual_seed(0)
    p = 0.4
    m = enn.MultiheadAttention(8, 2, dropout=p)
    x = ember.randn(6, 4, 8)
    m.eval()
    _, w_eval = m(x, x, x, average_attn_weights=False)
    m.train()
    out, w_train = m(x, x, x, average_attn_weights=False)
    we, wt = w_eval.detach().numpy(), w_train.detach().numpy()
    kept = wt != 0
    assert abs(kept.mean() - (1 - p)) < 0.08
    np.testing.assert_allclose(wt[kept], we[kept] / (1 - p), rtol=1e-5)
    out.sum().backward()
    assert m.in_proj_weight.grad is not None and np.isfinite(m.in_proj_weight.grad.numpy()).all()
    # need_weights=False takes the same dropout path (the result is random but finite)
    out2, _ = m(x, x, x, need_weights=False)
    assert out2.shape == (6, 4, 8) and np.isfinite(out2.detach().numpy()).all()


@requires_torch
@pytest.mark.parametrize("kw", [{}, {"bias": False}, {"kdim": 3, "vdim": 5},
                                {"add_bias_kv": True, "batch_first": True, "dropout": 0.1}])
def test_multihead_attention_structure_matches_torch(kw):
    em, tm = enn.MultiheadAttention(16, 4, **kw), torch.nn.MultiheadAttention(16, 4, **kw)
    assert repr(em) == repr(tm).replace("torch", "ember")
    assert list(em.state_dict()) == list(tm.state_dict())
    assert [(n, tuple(p.shape)) for n, p in em.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    assert type(em.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(em.out_proj, enn.Linear)
    for attr in ("embed_dim", "kdim", "vdim", "num_heads", "dropout", "batch_first",
                 "head_dim", "_qkv_same_embed_dim", "add_zero_attn"):
        assert getattr(em, attr) == getattr(tm, attr), attr
    # and back: ember's parameters load into torch
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in em.state_dict().items()})


def test_multihead_attention_init():
    ember.manual_seed(0)
    m = enn.MultiheadAttention(64, 4, add_bias_kv=True)
    bound = math.sqrt(6 / (64 + 3 * 64))             # xavier_uniform_ on (192, 64)
    w = m.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert np.all(m.in_proj_bias.detach().numpy() == 0)
    assert np.all(m.out_proj.bias.detach().numpy() == 0)
    ow = m.out_proj.weight.detach().numpy()      # Linear's own init: U(-1/8, 1/8)
    assert np.abs(ow).max() <= 1 / 8
    assert m.bias_k.shape == (1, 1, 64) and m.bias_k.detach().numpy().std() > 0
    m2 = enn.MultiheadAttention(8, 2, kdim=3, vdim=5)
    assert m2.in_proj_weight is None and m2.k_proj_weight.shape == (8, 3)
    assert np.abs(m2.k_proj_weight.detach().numpy()).max() <= math.sqrt(6 / 11)
    m3 = enn.MultiheadAttention(8, 2, dtype=ember.float64)
    assert all(p.dtype is ember.float64 for p in m3.parameters())


@requires_torch
def test_multihead_attention_errors_match_torch():
    def cases(L):
        m = L.nn.MultiheadAttention(8, 2)
        z = L.zeros
        x = z(4, 3, 8)
        return [
            lambda: L.nn.MultiheadAttention(8, 3),
            lambda: L.nn.MultiheadAttention(0, 2),
            lambda: m(z(4, 3, 8), z(5, 8), z(5, 8)),
            lambda: m(z(4, 8), z(5, 3, 8), z(5, 3, 8)),
            lambda: m(z(3, 4, 3, 8), x, x),
            lambda: m(x, x, x, key_padding_mask=z(3, dtype=L.bool)),
            lambda: m(x, x, x, key_padding_mask=z(3, 5, dtype=L.bool)),
            lambda: m(x, x, x, key_padding_mask=z(2, 4, dtype=L.bool)),
            lambda: m(x, x, x, attn_mask=z(4, dtype=L.bool)),
            lambda: m(x, x, x, attn_mask=z(4, 5, dtype=L.bool)),
            lambda: m(x, x, x, attn_mask=z(5, 4, 4, dtype=L.bool)),
            lambda: m(x, x, x, attn_mask=z(4, 4, dtype=L.int64)),
            lambda: m(x, x, x, key_padding_mask=z(3, 4, dtype=L.int64)),
            lambda: m(x, x, x, is_causal=True),
            lambda: m(z(4, 3, 6), z(4, 3, 6), z(4, 3, 6)),
            lambda: m(x, z(5, 3, 8), z(4, 3, 8)),
            lambda: m(z(4, 8), z(4, 8), z(4, 8), attn_mask=z(3, 4, 4)),
            lambda: m(z(4, 8), z(4, 8), z(4, 8), key_padding_mask=z(1, 4, dtype=L.bool)),
            lambda: m(x, x, x, attn_mask=z(4, 4, dtype=L.float64)),
            lambda: m(x, x, x, attn_mask=z(4, 4, dtype=L.float64), need_weights=False),
            lambda: m(x, x, x, key_padding_mask=z(3, 4, dtype=L.float16), need_weights=False),
            lambda: m(x, x, x, key_padding_mask=z(3, 4, dtype=L.bool),
                      attn_mask=z(4, 4, dtype=L.float64)),
        ]
    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


@requires_torch
def test_multihead_attention_mask_type_warning_matches_torch():
    def warns(L):
        m = L.nn.MultiheadAttention(8, 2)
        x = L.zeros(4, 3, 8)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            m(x, x, x, key_padding_mask=L.zeros(3, 4, dtype=L.bool), attn_mask=L.zeros(4, 4))
        return [str(r.message) for r in rec]
    assert warns(ember) == warns(torch) and len(warns(ember)) == 1


def test_multihead_attention_merge_masks():
    m = enn.MultiheadAttention(8, 2, batch_first=True)
    q = ember.zeros(3, 4, 8)
    kpm = ember.tensor(np.where(np.random.default_rng(0).random((3, 4)) > 0.5, -np.inf, 0.0))
    am = enn.Transformer.generate_square_subsequent_mask(4, dtype=ember.float64)
    assert m.merge_masks(None, kpm, q) == (kpm, 1)
    merged, kind = m.merge_masks(am, kpm, q)
    assert kind == 2 and merged.shape == (3, 2, 4, 4)
    expected = am.numpy()[None, None] + kpm.numpy()[:, None, None, :]
    np.testing.assert_array_equal(merged.numpy(), np.broadcast_to(expected, (3, 2, 4, 4)))
