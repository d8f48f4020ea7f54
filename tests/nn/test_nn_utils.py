"""``nn.utils``: gradient clipping, parameter/vector conversion, the parametrize mechanism
and the ready-made parametrizations (weight norm, spectral norm, orthogonal), plus the older
hook-based weight/spectral norm, against PyTorch."""
from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from oracle import assert_close, requires_torch, torch

import ember
from ember.nn.utils import parametrizations as EPS
from ember.nn.utils import parametrize as EP
from ember.nn.utils.spectral_norm import remove_spectral_norm as e_remove_sn
from ember.nn.utils.spectral_norm import spectral_norm as e_old_sn
from ember.nn.utils.weight_norm import remove_weight_norm as e_remove_wn
from ember.nn.utils.weight_norm import weight_norm as e_old_wn

enn = ember.nn
U = enn.utils
INF = float("inf")


def copy_params(em, tm):
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


def _params_with_grads(L, grads):
    ps = []
    for g in grads:
        p = L.nn.Parameter(L.tensor(np.ones_like(g)))
        p.grad = L.tensor(g.copy())
        ps.append(p)
    return ps


GRADS = [np.array([3.0, -4.0], np.float32), np.array([[0.5, 1.0], [-2.0, 0.25]], np.float32),
         np.array([1e-3], np.float32)]


# ------------------------------------------------------------------ clipping
@requires_torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, INF, -INF, 0.0, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    pe, pt = _params_with_grads(ember, GRADS), _params_with_grads(torch, GRADS)
    te = U.clip_grad_norm_(pe, max_norm, norm_type)
    tt = torch.nn.utils.clip_grad_norm_(pt, max_norm, norm_type)
    assert_close(te, tt)
    for a, b in zip(pe, pt):
        assert_close(a.grad, b.grad)


@requires_torch
def test_clip_grad_norm_mixed_dtypes_single_tensor_and_missing_grads():
    grads = [np.array([3.0, 4.0], np.float32), np.array([1.0, 2.0])]
    pe, pt = _params_with_grads(ember, grads), _params_with_grads(torch, grads)
    pe.append(enn.Parameter(ember.ones(2)))               # no grad: skipped
    pt.append(torch.nn.Parameter(torch.ones(2)))
    assert_close(U.clip_grad_norm_(pe, 1.0), torch.nn.utils.clip_grad_norm_(pt, 1.0))
    for a, b in zip(pe[:2], pt[:2]):
        assert_close(a.grad, b.grad)
    assert pe[2].grad is None
    (pe1,), (pt1,) = _params_with_grads(ember, GRADS[:1]), _params_with_grads(torch, GRADS[:1])
    assert_close(U.clip_grad_norm_(pe1, 1.0, foreach=True),
                 torch.nn.utils.clip_grad_norm_(pt1, 1.0, foreach=True))
    assert_close(pe1.grad, pt1.grad)
    assert_close(U.clip_grad_norm_([], 1.0), torch.nn.utils.clip_grad_norm_([], 1.0))
    with pytest.warns(UserWarning, match="empty generator"):
        U.clip_grad_norm_((p for p in []), 1.0)


@requires_torch
def test_clip_grad_norm_nonfinite_matches_torch():
    for bad in (INF, float("nan")):
        g = [np.array([bad, 1.0], np.float32)]
        pe, pt = _params_with_grads(ember, g), _params_with_grads(torch, g)
        assert_close(U.clip_grad_norm_(pe, 1.0), torch.nn.utils.clip_grad_norm_(pt, 1.0))
        assert_close(pe[0].grad, pt[0].grad)
        pe = _params_with_grads(ember, g)
        with pytest.raises(RuntimeError) as ours:
            U.clip_grad_norm_(pe, 1.0, error_if_nonfinite=True)
        with pytest.raises(RuntimeError) as theirs:
            torch.nn.utils.clip_grad_norm_(_params_with_grads(torch, g), 1.0,
                                           error_if_nonfinite=True)
        assert str(ours.value) == str(theirs.value)
        assert np.array_equal(pe[0].grad.numpy(), g[0], equal_nan=True)   # untouched


@requires_torch
def test_get_total_norm_and_clip_grads_with_norm_match_torch():
    for p in (2.0, INF, 0.0, 1.5):
        te = U.get_total_norm([ember.tensor(g) for g in GRADS], p)
        tt = torch.nn.utils.get_total_norm([torch.tensor(g) for g in GRADS], p)
        assert_close(te, tt)
    pe, pt = _params_with_grads(ember, GRADS), _params_with_grads(torch, GRADS)
    U.clip_grads_with_norm_(pe, 0.3, ember.tensor(5.0))
    torch.nn.utils.clip_grads_with_norm_(pt, 0.3, torch.tensor(5.0))
    for a, b in zip(pe, pt):
        assert_close(a.grad, b.grad)
    assert_close(U.get_total_norm(ember.tensor(GRADS[0])),
                 torch.nn.utils.get_total_norm(torch.tensor(GRADS[0])))


@requires_torch
@pytest.mark.parametrize("clip", [0.6, 2, 0.0])
def test_clip_grad_value_matches_torch(clip):
    pe, pt = _params_with_grads(ember, GRADS), _params_with_grads(torch, GRADS)
    U.clip_grad_value_(pe, clip)
    torch.nn.utils.clip_grad_value_(pt, clip)
    for a, b in zip(pe, pt):
        assert_close(a.grad, b.grad)
    (p,) = _params_with_grads(ember, GRADS[:1])
    U.clip_grad_value_(p, 1.0)                          # a single tensor
    assert np.array_equal(p.grad.numpy(), [1.0, -1.0])


def test_clip_grad_norm_deprecated_alias_warns():
    pe = _params_with_grads(ember, GRADS)
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        U.clip_grad_norm(pe, 1.0)


# ------------------------------------------------------------------ parameters <-> vector
@requires_torch
def test_parameters_to_vector_and_back_match_torch():
    tm = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    em = enn.Sequential(enn.Linear(3, 2), enn.Linear(2, 1))
    copy_params(em, tm)
    ve = U.parameters_to_vector(em.parameters())
    vt = torch.nn.utils.parameters_to_vector(tm.parameters())
    assert_close(ve, vt)
    ve.sum().backward()                                  # differentiable: a cat of views
    assert all(np.all(p.grad.numpy() == 1) for p in em.parameters())
    new = np.arange(11, dtype=np.float32)
    U.vector_to_parameters(ember.tensor(new), em.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), tm.parameters())
    for a, b in zip(em.parameters(), tm.parameters()):
        assert_close(a, b)
    with pytest.raises(TypeError, match="expected ember.Tensor, but got: list"):
        U.vector_to_parameters([1.0], em.parameters())
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
        torch.nn.utils.vector_to_parameters([1.0], tm.parameters())


# ------------------------------------------------------------------ parametrize
class _Symmetric:
    """A parametrization (built for either library): X -> triu(X) + triu(X, 1)^T."""

    @staticmethod
    def make(L):
        class Symmetric(L.nn.Module):
            def forward(self, X):
                return X.triu() + X.triu(1).transpose(-1, -2)

            def right_inverse(self, A):
                return A.triu()

        return Symmetric()


def _scale(L, k):
    class Scale(L.nn.Module):
        def forward(self, X):
            return X * k

    return Scale()


@requires_torch
def test_register_parametrization_matches_torch():
    tm, em = torch.nn.Linear(3, 3), enn.Linear(3, 3)
    copy_params(em, tm)
    torch.nn.utils.parametrize.register_parametrization(tm, "weight", _Symmetric.make(torch))
    EP.register_parametrization(em, "weight", _Symmetric.make(ember))
    assert type(em).__name__ == "ParametrizedLinear" and isinstance(em, enn.Linear)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert EP.is_parametrized(em) and EP.is_parametrized(em, "weight")
    assert not EP.is_parametrized(em, "bias")
    assert EP.type_before_parametrizations(em) is enn.Linear
    assert_close(em.weight, tm.weight)
    assert np.allclose(em.weight.detach().numpy(), em.weight.detach().numpy().T)
    # the original was set from right_inverse(weight) in place: same object as before
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    ye, yt = em(ember.tensor(x)), tm(torch.tensor(x))
    assert_close(ye, yt)
    ye.sum().backward()
    yt.sum().backward()
    assert_close(em.parametrizations.weight.original.grad,
                 tm.parametrizations.weight.original.grad)
    # chaining a second parametrization, then assigning through right_inverse
    torch.nn.utils.parametrize.register_parametrization(tm, "weight", _scale(torch, 2.0))
    EP.register_parametrization(em, "weight", _scale(ember, 2.0))
    assert_close(em.weight, tm.weight)
    assert repr(em) == repr(tm).replace("torch", "ember")


@requires_torch
def test_parametrization_assignment_and_removal_match_torch():
    sym = np.array([[1.0, 2.0], [2.0, 5.0]], np.float32)
    for leave in (True, False):
        tm, em = torch.nn.Linear(2, 2), enn.Linear(2, 2)
        copy_params(em, tm)
        torch.nn.utils.parametrize.register_parametrization(tm, "weight", _Symmetric.make(torch))
        EP.register_parametrization(em, "weight", _Symmetric.make(ember))
        orig = em.parametrizations.weight.original
        em.weight = ember.tensor(sym)
        tm.weight = torch.tensor(sym)
        assert orig is em.parametrizations.weight.original      # written in place
        assert_close(em.parametrizations.weight.original, tm.parametrizations.weight.original)
        torch.nn.utils.parametrize.remove_parametrizations(tm, "weight", leave_parametrized=leave)
        EP.remove_parametrizations(em, "weight", leave_parametrized=leave)
        assert type(em) is enn.Linear and not hasattr(em, "parametrizations")
        assert isinstance(em.weight, enn.Parameter) and em.weight is orig
        assert_close(em.weight, tm.weight)
        assert list(em.state_dict()) == list(tm.state_dict())
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        EP.remove_parametrizations(em, "weight")


@requires_torch
def test_parametrization_errors_match_torch():
    def cases(L):
        P = L.nn.utils.parametrize if L is torch else EP

        class Bad(L.nn.Module):
            def forward(self, X):
                return X[:1]

        class ToDouble(L.nn.Module):
            def forward(self, X):
                return X.double()

        return [lambda: P.register_parametrization(L.nn.Linear(2, 2), "foo", Bad()),
                lambda: P.register_parametrization(L.nn.Linear(2, 2), "weight", Bad()),
                lambda: P.register_parametrization(L.nn.Linear(2, 2), "weight", ToDouble())]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        with pytest.raises(ValueError) as ours:
            fe()
        with pytest.raises(ValueError) as theirs:
            ft()
        a, b = str(ours.value), str(theirs.value).replace("torch", "ember")
        assert a.split("\n")[0].split("'")[0] == b.split("\n")[0].split("'")[0], i
    m = enn.Linear(2, 2)
    EP.register_parametrization(m, "weight", _Symmetric.make(ember))
    with pytest.raises(RuntimeError, match="only supported through state_dict"):
        m.__getstate__()
    clone = copy.deepcopy(m)
    assert type(clone).__name__ == "ParametrizedLinear" and clone.weight is not m.weight
    assert_close(clone.weight, m.weight)


def test_cached_computes_parametrization_once():
    calls = []

    class Count(enn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 1.0

    m = enn.Linear(2, 2)
    EP.register_parametrization(m, "weight", Count())
    calls.clear()
    _ = m.weight, m.weight
    assert len(calls) == 2
    with EP.cached():
        a, b = m.weight, m.weight
        with EP.cached():
            c = m.weight
    assert len(calls) == 3 and a is b is c
    _ = m.weight
    assert len(calls) == 4


def test_transfer_parametrizations_and_params():
    a, b = enn.Linear(2, 2), enn.Linear(2, 2)
    EP.register_parametrization(a, "weight", _Symmetric.make(ember))
    EP.transfer_parametrizations_and_params(a, b)
    assert EP.is_parametrized(b, "weight")
    assert b.parametrizations.weight.original is a.parametrizations.weight.original
    assert_close(b.weight, a.weight)


# ------------------------------------------------------------------ weight norm
@requires_torch
@pytest.mark.parametrize("dim,layer", [(d, la) for d in (0, 1, None, -1, -2)
                                       for la in ("linear", "conv") if (d, la) != (-2, "conv")])
def test_weight_norm_matches_torch(dim, layer):
    if layer == "linear":
        tm, em = torch.nn.Linear(4, 3).double(), enn.Linear(4, 3).double()
        x = np.random.default_rng(0).standard_normal((2, 4))
    else:
        tm, em = torch.nn.Conv1d(2, 3, 2).double(), enn.Conv1d(2, 3, 2).double()
        x = np.random.default_rng(0).standard_normal((2, 2, 5))
    torch.nn.utils.parametrizations.weight_norm(tm, dim=dim)
    EPS.weight_norm(em, dim=dim)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert em.parametrizations.weight.original0.shape == tm.parametrizations.weight.original0.shape
    copy_params(em, tm)
    ye, yt = em(ember.tensor(x)), tm(torch.tensor(x))
    assert_close(ye, yt)
    (ye ** 2).sum().backward()
    (yt ** 2).sum().backward()
    for (n, a), (_, b) in zip(em.named_parameters(), tm.named_parameters()):
        assert_close(a.grad, b.grad, msg=n)


@requires_torch
def test_weight_norm_loads_old_checkpoint_keys():
    tm = torch.nn.Linear(3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.nn.utils.weight_norm(tm)
    old = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    assert set(old) == {"bias", "weight_g", "weight_v"}
    em = EPS.weight_norm(enn.Linear(3, 2))
    em.load_state_dict(old)
    assert_close(em.weight, tm.weight)


# ------------------------------------------------------------------ spectral norm
@requires_torch
@pytest.mark.parametrize("dim", [0, 1])
@pytest.mark.parametrize("n_iter", [1, 3])
def test_spectral_norm_matches_torch(dim, n_iter):
    tm = torch.nn.Linear(4, 3).double()
    em = enn.Linear(4, 3).double()
    torch.nn.utils.parametrizations.spectral_norm(tm, n_power_iterations=n_iter, dim=dim)
    EPS.spectral_norm(em, n_power_iterations=n_iter, dim=dim)
    assert list(em.state_dict()) == list(tm.state_dict())
    # the power iteration starts from random vectors: take PyTorch's
    copy_params(em, tm)
    x = np.random.default_rng(0).standard_normal((2, 4))
    for mode in ("train", "train", "eval"):
        getattr(em, mode)()
        getattr(tm, mode)()
        ye, yt = em(ember.tensor(x)), tm(torch.tensor(x))
        assert_close(ye, yt)
        ye.sum().backward()
        yt.sum().backward()
        sn_e, sn_t = em.parametrizations.weight[0], tm.parametrizations.weight[0]
        assert_close(sn_e._u, sn_t._u)
        assert_close(sn_e._v, sn_t._v)
        for (n, a), (_, b) in zip(em.named_parameters(), tm.named_parameters()):
            assert_close(a.grad, b.grad, msg=n)


def test_spectral_norm_estimates_largest_singular_value():
    ember.manual_seed(0)
    m = EPS.spectral_norm(enn.Linear(6, 5, dtype=ember.float64))
    for _ in range(30):
        w = m.weight
    assert abs(np.linalg.svd(w.detach().numpy(), compute_uv=False)[0] - 1) < 1e-6
    v = EPS.spectral_norm(enn.Linear(3, 1).double(), name="bias")       # 1-D: exact
    assert np.isclose(np.linalg.norm(v.bias.detach().numpy()), 1.0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        EPS.spectral_norm(enn.Linear(2, 2), dim=2)
    with pytest.raises(ValueError, match="n_power_iterations to be positive"):
        EPS.spectral_norm(enn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'foo'"):
        EPS.spectral_norm(enn.Linear(2, 2), name="foo")


# ------------------------------------------------------------------ orthogonal
@requires_torch
@pytest.mark.parametrize("omap", [None, "matrix_exp", "cayley", "householder"])
def test_orthogonal_square_matches_torch(omap):
    w = np.random.default_rng(0).standard_normal((4, 4))
    tm, em = torch.nn.Linear(4, 4).double(), enn.Linear(4, 4).double()
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(w))
    em.load_state_dict({"weight": w, "bias": tm.bias.detach().numpy()})
    torch.nn.utils.parametrizations.orthogonal(tm, orthogonal_map=omap)
    EPS.orthogonal(em, orthogonal_map=omap)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert_close(em.weight, tm.weight)                  # Q of the QR of w, positive diag(R)
    copy_params(em, tm)
    x = np.random.default_rng(1).standard_normal((2, 4))
    ye, yt = em(ember.tensor(x)), tm(torch.tensor(x))
    assert_close(ye, yt)
    (ye ** 2).sum().backward()
    (yt ** 2).sum().backward()
    for (n, a), (_, b) in zip(em.named_parameters(), tm.named_parameters()):
        assert_close(a.grad, b.grad, msg=n)


@pytest.mark.parametrize("shape,omap,triv", [((5, 3), None, True), ((3, 5), None, True),
                                             ((5, 3), "cayley", True), ((3, 5), "matrix_exp", True),
                                             ((5, 3), "householder", False),
                                             ((3, 5), "householder", False)])
def test_orthogonal_rectangular_is_orthogonal(shape, omap, triv):
    m = enn.Linear(shape[1], shape[0], dtype=ember.float64)
    EPS.orthogonal(m, orthogonal_map=omap, use_trivialization=triv)
    w = m.weight.detach().numpy()
    small = min(shape)
    gram = w @ w.T if shape[0] == small else w.T @ w
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-10)
    m.weight.sum().backward()                           # differentiable in the originals
    assert m.parametrizations.weight.original.grad is not None
    if not triv:
        q = np.linalg.qr(np.random.default_rng(0).standard_normal((max(shape), small)))[0]
        target = q if shape[0] >= shape[1] else q.T
        m.weight = ember.tensor(target)           # householder can be assigned to
        np.testing.assert_allclose(m.weight.detach().numpy(), target, atol=1e-10)


def test_orthogonal_errors():
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices"):
        EPS.orthogonal(enn.Linear(2, 2), name="bias")
    with pytest.raises(ValueError, match='orthogonal_map has to be one of'):
        EPS.orthogonal(enn.Linear(2, 2), orthogonal_map="foo")
    m = EPS.orthogonal(enn.Linear(2, 2), orthogonal_map="cayley", use_trivialization=False)
    with pytest.raises(NotImplementedError, match="not possible to assign"):
        m.weight = ember.eye(2)


# ------------------------------------------------------------------ hook-based (old) versions
@requires_torch
@pytest.mark.parametrize("dim", [0, 1, None])
def test_old_weight_norm_matches_torch(dim):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = torch.nn.utils.weight_norm(torch.nn.Linear(4, 3).double(), dim=dim)
    with pytest.warns(FutureWarning, match="deprecated"):
        em = e_old_wn(enn.Linear(4, 3).double(), dim=dim)
    assert list(em.state_dict()) == list(tm.state_dict())
    copy_params(em, tm)
    x = np.random.default_rng(0).standard_normal((2, 4))
    ye, yt = em(ember.tensor(x)), tm(torch.tensor(x))
    assert_close(ye, yt)
    ye.sum().backward()
    yt.sum().backward()
    for (n, a), (_, b) in zip(em.named_parameters(), tm.named_parameters()):
        assert_close(a.grad, b.grad, msg=n)
    torch.nn.utils.remove_weight_norm(tm)
    e_remove_wn(em)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert_close(em.weight, tm.weight)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        e_remove_wn(em)


@requires_torch
def test_old_spectral_norm_matches_torch():
    tm = torch.nn.utils.spectral_norm(torch.nn.Linear(4, 3).double())
    em = e_old_sn(enn.Linear(4, 3).double())
    assert list(em.state_dict()) == list(tm.state_dict())
    copy_params(em, tm)
    x = np.random.default_rng(0).standard_normal((2, 4))
    for mode in ("train", "train", "eval"):
        getattr(em, mode)()
        getattr(tm, mode)()
        ye, yt = em(ember.tensor(x)), tm(torch.tensor(x))
        assert_close(ye, yt)
        ye.sum().backward()
        yt.sum().backward()
        assert_close(em.weight_u, tm.weight_u)
        for (n, a), (_, b) in zip(em.named_parameters(), tm.named_parameters()):
            assert_close(a.grad, b.grad, msg=n)
    torch.nn.utils.remove_spectral_norm(tm)
    e_remove_sn(em)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert_close(em.weight, tm.weight)
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks"):
        e_old_sn(e_old_sn(enn.Linear(2, 2)))
