"""Embeddings: ``nn.functional.embedding``/``embedding_bag`` and the ``Embedding`` /
``EmbeddingBag`` layers, against PyTorch (values, weight and per-sample-weight gradients,
renormalisation, reprs, errors), with numerical gradient checks."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close, rand, requires_torch, torch

import ember

enn = ember.nn
F = enn.functional
gradcheck, gradgradcheck = ember.autograd.gradcheck, ember.autograd.gradgradcheck

DTYPES = [np.float32, np.float64]


def copy_params(em, tm):
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


def outcome(fn):
    try:
        r = fn()
        return "ok", tuple(r.shape)
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch", "ember")


def _run(fe, ft, weight, *extra, psw=None, seed=0):
    """Forward and backward (random output gradient) in both libraries; ``extra`` are
    integer arrays (indices, offsets), ``psw`` optional per-sample weights."""
    we, wt = ember.tensor(weight, requires_grad=True), torch.tensor(weight, requires_grad=True)
    ee = [ember.tensor(a) if a is not None else None for a in extra]
    et = [torch.tensor(a) if a is not None else None for a in extra]
    kw_e, kw_t = {}, {}
    if psw is not None:
        pe, pt = ember.tensor(psw, requires_grad=True), torch.tensor(psw, requires_grad=True)
        kw_e["per_sample_weights"], kw_t["per_sample_weights"] = pe, pt
    ye, yt = fe(*ee, we, **kw_e), ft(*et, wt, **kw_t)
    assert_close(ye, yt)
    g = np.random.default_rng(seed).standard_normal(tuple(yt.shape)).astype(weight.dtype)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    tg = wt.grad.to_dense() if wt.grad.is_sparse else wt.grad      # ember's is always dense
    assert_close(we.grad, tg)
    if psw is not None:
        assert_close(pe.grad, pt.grad)


def _weight(dtype, n=7, d=3, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(dtype)


# ------------------------------------------------------------------ embedding
@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("idx", [[[0, 2, 2], [6, 1, 2]], [3, 3, 0], 4, [], [[[1], [5]]]])
@pytest.mark.parametrize("kw", [{}, dict(padding_idx=2), dict(padding_idx=-1),
                                dict(scale_grad_by_freq=True),
                                dict(padding_idx=2, scale_grad_by_freq=True),
                                dict(sparse=True)])
def test_embedding_matches_torch(dtype, idx, kw):
    idx = np.array(idx, dtype=np.int64)
    _run(lambda i, w: F.embedding(i, w, **kw),
         lambda i, w: torch.nn.functional.embedding(i, w, **kw), _weight(dtype), idx)


@requires_torch
def test_embedding_int32_indices_match_torch():
    idx = np.array([[1, 0], [4, 4]], dtype=np.int32)
    _run(F.embedding, torch.nn.functional.embedding, _weight(np.float32), idx)


@requires_torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_embedding_max_norm_renormalises_rows_like_torch(norm_type):
    w = _weight(np.float64) * 3
    idx = np.array([[0, 2, 2], [5, 1, 2]])
    we, wt = ember.tensor(w.copy()), torch.tensor(w.copy())
    ye = F.embedding(ember.tensor(idx), we, max_norm=1.0, norm_type=norm_type)
    yt = torch.nn.functional.embedding(torch.tensor(idx), wt, max_norm=1.0, norm_type=norm_type)
    assert_close(ye, yt)
    assert_close(we, wt)                        # the referenced rows changed in place
    assert np.array_equal(we.numpy()[[3, 4, 6]], w[[3, 4, 6]])


def test_embedding_gradcheck():
    w = rand(5, 3)
    idx = ember.tensor([[0, 2, 2], [4, 1, 2]])
    assert gradcheck(lambda w: F.embedding(idx, w), [w])
    assert gradgradcheck(lambda w: F.embedding(idx, w), [w])
    # padding_idx and scale_grad_by_freq change the gradient on purpose (it is no longer
    # the derivative), so only their double backward (linear in the output gradient) is
    # checked numerically
    fn = lambda w: F.embedding(idx, w, padding_idx=2, scale_grad_by_freq=True)
    assert gradgradcheck(fn, [w])


@requires_torch
def test_embedding_double_backward_matches_torch():
    w0 = _weight(np.float64)
    idx = np.array([[0, 2, 2], [6, 1, 2]])
    res = []
    for L in (ember, torch):
        w = L.tensor(w0, requires_grad=True)
        y = L.nn.functional.embedding(L.tensor(idx), w, padding_idx=1, scale_grad_by_freq=True)
        g = L.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)),
                     requires_grad=True)
        (gw,) = L.autograd.grad(y, w, g, create_graph=True)
        (gg,) = L.autograd.grad((gw * gw).sum(), g)
        res.append((gw, gg))
    assert_close(res[0][0], res[1][0])
    assert_close(res[0][1], res[1][1])


@requires_torch
def test_embedding_errors_match_torch():
    def cases(L):
        f, w = L.nn.functional.embedding, L.zeros(5, 3)
        t = L.tensor
        return [lambda: f(t([5]), w), lambda: f(t([-1]), w), lambda: f(t([1.0]), w),
                lambda: f(t([1], dtype=L.int16), w), lambda: f(t([1], dtype=L.uint8), w),
                lambda: f(t([1]), L.zeros(5)), lambda: f(t([1]), L.zeros(5, 2, 2)),
                lambda: f(t([1]), w, padding_idx=5), lambda: f(t([1]), w, padding_idx=-6),
                lambda: f([1], w), lambda: f(t(1), w), lambda: f(t([1]), w, padding_idx=-5)]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


# ------------------------------------------------------------------ embedding_bag
FLAT = np.array([0, 2, 2, 5, 1, 2, 3, 3, 6])
BAG_CASES = [
    (np.array([0, 3, 3, 5]), {}),                                 # an empty bag
    (np.array([0, 3, 3, 9]), dict(include_last_offset=True)),
    (np.array([0, 4]), dict(padding_idx=2)),
    (np.array([0, 1, 3]), dict(padding_idx=-5)),                  # a bag of padding only
    (np.array([0]), {}),
    (np.array([0, 0, 0]), {}),
]


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("case", range(len(BAG_CASES)))
def test_embedding_bag_matches_torch(dtype, mode, case):
    offsets, kw = BAG_CASES[case]
    _run(lambda i, o, w: F.embedding_bag(i, w, o, mode=mode, **kw),
         lambda i, o, w: torch.nn.functional.embedding_bag(i, w, o, mode=mode, **kw),
         _weight(dtype), FLAT, offsets)


@requires_torch
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("idx", [[[0, 2, 2], [6, 1, 2]], [[4]], np.zeros((0, 3))])
def test_embedding_bag_2d_input_matches_torch(mode, idx):
    idx = np.array(idx, dtype=np.int64)
    _run(lambda i, w: F.embedding_bag(i, w, mode=mode, padding_idx=1),
         lambda i, w: torch.nn.functional.embedding_bag(i, w, mode=mode, padding_idx=1),
         _weight(np.float32), idx)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [{}, dict(padding_idx=2), dict(include_last_offset=True)])
def test_embedding_bag_per_sample_weights_match_torch(dtype, kw):
    offsets = np.array([0, 3, 3, 9]) if kw.get("include_last_offset") else np.array([0, 3, 5])
    psw = np.random.default_rng(3).standard_normal(FLAT.shape).astype(dtype)
    _run(lambda i, o, w, **k: F.embedding_bag(i, w, o, mode="sum", **kw, **k),
         lambda i, o, w, **k: torch.nn.functional.embedding_bag(i, w, o, mode="sum", **kw, **k),
         _weight(dtype), FLAT, offsets, psw=psw)


@requires_torch
@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("pad", [None, 2, 6])
def test_embedding_bag_scale_grad_by_freq_matches_torch(mode, pad):
    # PyTorch's CPU kernel divides the k-th distinct index by the count of the k-th sorted
    # index (not always its own count); ember reproduces those gradients
    for idx, offsets in [(np.array([0, 2, 2, 5, 5, 6, 6, 6]), np.array([0, 3, 5])),
                         (np.array([0, 0, 6, 6, 6, 1, 2]), np.array([0, 4])),
                         (np.array([6, 6, 6, 2, 0, 0, 0, 0, 5, 3, 3]), np.array([0, 2, 2]))]:
        _run(lambda i, o, w: F.embedding_bag(i, w, o, mode=mode, scale_grad_by_freq=True,
                                             padding_idx=pad),
             lambda i, o, w: torch.nn.functional.embedding_bag(
                 i, w, o, mode=mode, scale_grad_by_freq=True, padding_idx=pad),
             _weight(np.float64), idx, offsets)


@requires_torch
def test_embedding_bag_max_ties_and_renorm_match_torch():
    w = np.array([[1.0, 5.0], [1.0, 2.0], [3.0, 5.0], [9.0, 9.0]])
    _run(lambda i, o, w: F.embedding_bag(i, w, o, mode="max"),
         lambda i, o, w: torch.nn.functional.embedding_bag(i, w, o, mode="max"),
         w, np.array([1, 0, 2, 1]), np.array([0, 2]))
    we, wt = ember.tensor(w.copy()), torch.tensor(w.copy())
    ye = F.embedding_bag(ember.tensor([3, 1]), we, ember.tensor([0]), max_norm=2.0)
    yt = torch.nn.functional.embedding_bag(torch.tensor([3, 1]), wt, torch.tensor([0]),
                                           max_norm=2.0)
    assert_close(ye, yt)
    assert_close(we, wt)


def test_embedding_bag_gradcheck():
    idx, off = ember.tensor([0, 2, 2, 4, 1]), ember.tensor([0, 2, 2])
    psw = rand(5, seed=2)
    for mode in ("sum", "mean", "max"):
        fn = lambda w, mode=mode: F.embedding_bag(idx, w, off, mode=mode)
        assert gradcheck(fn, [rand(5, 3)])
        assert gradgradcheck(fn, [rand(5, 3)])
    fn = lambda w, p: F.embedding_bag(idx, w, off, mode="sum", per_sample_weights=p)
    assert gradcheck(fn, [rand(5, 3), psw])
    assert gradgradcheck(fn, [rand(5, 3), psw])


@requires_torch
def test_embedding_bag_errors_match_torch():
    def cases(L):
        f, w, t = L.nn.functional.embedding_bag, L.zeros(5, 2), L.tensor
        i = t([0, 1, 2, 3, 4])
        return [
            lambda: f(i, w, t([1, 2, 2])),
            lambda: f(i, w, t([0, 6])),
            lambda: f(i, w, t([0, 2, 6]), include_last_offset=True),
            lambda: f(i, w, t([0, 1]), padding_idx=5),
            lambda: f(i, w, t([0, 1]), mode="foo"),
            lambda: f(i, w, t([0, 1]), mode="max", per_sample_weights=L.ones(5)),
            lambda: f(i, w, t([0, 1]), mode="sum", per_sample_weights=L.ones(4)),
            lambda: f(i, w, t([0, 1]), mode="sum",
                      per_sample_weights=L.ones(5, dtype=L.float64)),
            lambda: f(i.reshape(1, 5), w, t([0, 1])),
            lambda: f(i, w),
            lambda: f(i.reshape(1, 1, 5), w),
            lambda: f(i, w, t([[0]])),
            lambda: f(i, w, t([0.0])),
            lambda: f(i.float(), w, t([0])),
            lambda: f(t([5]), w, t([0])),
            lambda: f(t([-1]), w, t([0])),
            lambda: f(i, w, t([0, 1]), mode="max", scale_grad_by_freq=True),
            lambda: f(i, w.reshape(10), t([0, 1])),
            lambda: f(i.reshape(5, 1), w, mode="max", sparse=True),
            lambda: f(t([], dtype=L.int64).reshape(2, 0), w),
            lambda: f(t([], dtype=L.int64), w, t([], dtype=L.int64)),
            lambda: f(i, w, t([0, 2], dtype=L.int32)),
        ]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


# ------------------------------------------------------------------ layers
@requires_torch
@pytest.mark.parametrize("kw", [{}, dict(padding_idx=-1), dict(padding_idx=0, max_norm=1.5),
                                dict(norm_type=1.0, max_norm=2.0, scale_grad_by_freq=True),
                                dict(sparse=True)])
def test_embedding_module_matches_torch(kw):
    tm, em = torch.nn.Embedding(10, 4, **kw), enn.Embedding(10, 4, **kw)
    assert repr(em) == repr(tm) and em.padding_idx == tm.padding_idx
    copy_params(em, tm)
    idx = np.array([[0, 9, 3], [3, 3, 1]])
    ye, yt = em(ember.tensor(idx)), tm(torch.tensor(idx))
    assert_close(ye, yt)
    g = np.random.default_rng(0).standard_normal(tuple(yt.shape)).astype(np.float32)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    tg = tm.weight.grad.to_dense() if tm.weight.grad.is_sparse else tm.weight.grad
    assert_close(em.weight.grad, tg)
    assert_close(em.weight, tm.weight)          # max_norm changed the same rows


@requires_torch
@pytest.mark.parametrize("kw", [{}, dict(mode="sum", padding_idx=2), dict(mode="max"),
                                dict(max_norm=2.0, norm_type=3.0, scale_grad_by_freq=True),
                                dict(include_last_offset=True, mode="sum")])
def test_embedding_bag_module_matches_torch(kw):
    tm, em = torch.nn.EmbeddingBag(10, 4, **kw), enn.EmbeddingBag(10, 4, **kw)
    assert repr(em) == repr(tm)
    copy_params(em, tm)
    idx, off = np.array([0, 9, 3, 3, 2, 1]), np.array([0, 2, 6])
    ye, yt = em(ember.tensor(idx), ember.tensor(off)), tm(torch.tensor(idx), torch.tensor(off))
    assert_close(ye, yt)
    ye.sum().backward()
    yt.sum().backward()
    assert_close(em.weight.grad, tm.weight.grad)


@requires_torch
def test_from_pretrained_matches_torch():
    w = np.arange(12, dtype=np.float32).reshape(4, 3)
    for freeze in (True, False):
        em = enn.Embedding.from_pretrained(ember.tensor(w), freeze=freeze, padding_idx=1)
        tm = torch.nn.Embedding.from_pretrained(torch.tensor(w), freeze=freeze, padding_idx=1)
        assert repr(em) == repr(tm) and em.weight.requires_grad is tm.weight.requires_grad
        assert_close(em.weight, tm.weight)      # not re-initialised, padding row kept
        eb = enn.EmbeddingBag.from_pretrained(ember.tensor(w), freeze=freeze, mode="sum")
        tb = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), freeze=freeze, mode="sum")
        assert repr(eb) == repr(tb) and eb.weight.requires_grad is tb.weight.requires_grad
    src = ember.tensor(w)
    assert enn.Embedding.from_pretrained(src).weight.data_ptr() == src.data_ptr()


def test_embedding_init_and_weight_argument():
    ember.manual_seed(0)
    m = enn.Embedding(300, 200, padding_idx=5)
    w = m.weight.detach().numpy()
    assert w.shape == (300, 200) and w.dtype == np.float32 and m.weight.requires_grad
    assert np.all(w[5] == 0)
    rest = np.delete(w, 5, axis=0)
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1) < 0.01      # N(0, 1)
    m2 = enn.Embedding(3, 2, _weight=ember.ones(3, 2), _freeze=True)
    assert not m2.weight.requires_grad and np.all(m2.weight.numpy() == 1)
    assert enn.Embedding(3, 2, dtype=ember.float64).weight.dtype is ember.float64
    b = enn.EmbeddingBag(4, 2, padding_idx=1)
    assert np.all(b.weight.detach().numpy()[1] == 0) and b.mode == "mean"


@requires_torch
def test_embedding_module_errors_match_torch():
    def cases(L):
        n = L.nn
        return [lambda: n.Embedding(5, 3, padding_idx=5), lambda: n.Embedding(5, 3, padding_idx=-6),
                lambda: n.Embedding(5, 3, _weight=L.zeros(4, 3)),
                lambda: n.EmbeddingBag(5, 3, padding_idx=7),
                lambda: n.EmbeddingBag(5, 3, _weight=L.zeros(5, 2)),
                lambda: n.Embedding.from_pretrained(L.zeros(3)),
                lambda: n.Embedding(5, 3)(L.tensor([5]))]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


@requires_torch
@pytest.mark.parametrize("padding_idx", [-1, 2])
def test_top_level_embedding_matches_torch(padding_idx):
    from ember.ops.sparse import TOP_LEVEL
    fn = getattr(ember, "embedding", TOP_LEVEL["embedding"])
    idx = np.array([[0, 2, 2], [6, 1, 2]])
    _run(lambda i, w: fn(w, i, padding_idx, True),
         lambda i, w: torch.embedding(w, i, padding_idx, True), _weight(np.float64), idx)
    renorm = getattr(ember, "embedding_renorm_", TOP_LEVEL["embedding_renorm_"])
    w = _weight(np.float64) * 3
    we, wt = ember.tensor(w.copy()), torch.tensor(w.copy())
    assert renorm(we, ember.tensor(idx), 1.0, 2.0) is we
    torch.embedding_renorm_(wt, torch.tensor(idx), 1.0, 2.0)
    assert_close(we, wt)
