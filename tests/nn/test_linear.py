"""Linear layers (Linear, Bilinear, LazyLinear, Identity, Flatten, Unflatten),
``nn.functional.linear``/``bilinear`` and ``nn.init``, against PyTorch, with numerical
gradient checks and statistics of the initialisers."""
from __future__ import annotations

import math

import numpy as np
import pytest
from oracle import assert_close, check_op, rand, requires_torch, torch

import ember

enn = ember.nn
F = enn.functional
gradcheck, gradgradcheck = ember.autograd.gradcheck, ember.autograd.gradgradcheck

DTYPES = [np.float32, np.float64]


def copy_params(em, tm):
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


def outcome(fn):
    try:
        fn()
        return "ok"
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch", "ember")


# ------------------------------------------------------------------ functional.linear
@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xshape", [(4,), (3, 4), (2, 3, 4), (2, 1, 2, 4), (0, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(dtype, xshape, bias):
    x = rand(*xshape, dtype=dtype)
    w = rand(5, 4, dtype=dtype, seed=1)
    args = [x, w] + ([rand(5, dtype=dtype, seed=2)] if bias else [])
    check_op(F.linear, torch.nn.functional.linear, args)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xshape,wshape,bshape", [
    ((3, 4), (4,), None),               # 1-D weight: no output feature dimension
    ((4,), (4,), None),                 # 0-d output
    ((2, 3, 4), (4,), None),
    ((2, 4), (5, 4), (1,)),             # bias broadcasts to the output
    ((2, 2, 4), (5, 4), (2, 1, 5)),
    ((2, 0), (5, 0), (5,)),             # no input features: bias only
    ((2, 3, 0), (5, 0), (5,)),
    ((2, 0, 4), (5, 4), (5,)),
])
def test_linear_shapes_match_torch(dtype, xshape, wshape, bshape):
    args = [rand(*xshape, dtype=dtype), rand(*wshape, dtype=dtype, seed=1)]
    if bshape is not None:
        args.append(rand(*bshape, dtype=dtype, seed=2))
    check_op(F.linear, torch.nn.functional.linear, args)


@requires_torch
def test_linear_non_contiguous_input_matches_torch():
    x, w = rand(3, 2, 4), rand(5, 4, seed=1)
    check_op(lambda x, w: F.linear(x.transpose(0, 1), w),
             lambda x, w: torch.nn.functional.linear(x.transpose(0, 1), w), [x, w])


@requires_torch
def test_linear_integer_forward_matches_torch():
    x = ember.tensor(np.arange(6).reshape(2, 3))
    w = ember.tensor(np.arange(12).reshape(4, 3))
    b = ember.tensor(np.arange(4))
    check_op(F.linear, torch.nn.functional.linear, [x, w, b], grad=False)


@pytest.mark.parametrize("xshape,wshape,bshape", [
    ((2, 3), (4, 3), (4,)), ((3,), (2, 3), None), ((2, 1, 3), (2, 3), (2,)),
    ((2, 3), (3,), None), ((2, 2), (2, 2), (1, 2))])
def test_linear_gradcheck(xshape, wshape, bshape):
    args = [rand(*xshape), rand(*wshape, seed=1)]
    if bshape is not None:
        args.append(rand(*bshape, seed=2))
    assert gradcheck(F.linear, args)
    assert gradgradcheck(F.linear, args)


def _double_backward(L, fn, arrays):
    """Gradients of sum(v_i * d<out, g>/d input_i) with respect to every input and ``g``:
    the second derivatives that create_graph=True makes available."""
    ins = [L.tensor(a.copy()).requires_grad_() for a in arrays]
    out = fn(*ins)
    rng = np.random.default_rng(7)
    g = L.tensor(rng.uniform(-1, 1, tuple(out.shape))).requires_grad_()
    firsts = L.autograd.grad(out, ins, g, create_graph=True)
    total = sum((f * L.tensor(rng.uniform(-1, 1, tuple(f.shape)))).sum() for f in firsts)
    return L.autograd.grad(total, ins + [g], allow_unused=True)


@requires_torch
@pytest.mark.parametrize("name,shapes", [
    ("linear", [(2, 3), (4, 3), (4,)]), ("linear", [(2, 2, 3), (4, 3)]),
    ("linear", [(3,), (3,)]), ("bilinear", [(2, 2), (2, 3), (4, 2, 3), (4,)])])
def test_double_backward_matches_torch(name, shapes):
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(-1, 1, s) for s in shapes]
    ours = _double_backward(ember, getattr(F, name), arrays)
    theirs = _double_backward(torch, getattr(torch.nn.functional, name), arrays)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if b is None:                      # e.g. linear is linear in each input separately
            assert a is None or np.all(a.detach().numpy() == 0), i
        else:
            assert_close(a, b, msg=f"input {i}")


def test_linear_backward_layout_and_needs():
    x = rand(2, 3, 4, dtype=np.float32)
    m = enn.Linear(4, 5)
    m(x).sum().backward()
    assert m.weight.grad.numpy().flags.c_contiguous and m.weight.grad.shape == (5, 4)
    assert m.bias.grad.shape == (5,) and x.grad.shape == (2, 3, 4)
    # only the input requires grad: no work for the weight, no grad stored on it
    w = ember.tensor(np.ones((5, 4), np.float32))
    y = F.linear(x, w)
    assert y.requires_grad and y.grad_fn.needs_input_grad == (True, False)
    y.sum().backward()
    assert w.grad is None
    assert F.linear(ember.ones(2, 4), w).grad_fn is None


@requires_torch
def test_linear_errors_match_torch():
    def cases(L):
        f = L.nn.functional.linear
        z = L.zeros
        return [
            lambda: f(z(2, 3), z(5, 4)),
            lambda: f(z(3), z(5, 4)),
            lambda: f(z(2, 2, 3), z(5, 4)),
            lambda: f(z(2, 4), z(5, 4), z(4)),
            lambda: f(z(2, 4), z(5, 4), z(3, 2, 5)),
            lambda: f(z(4), z(5, 4), z(2, 5)),
            lambda: f(z(2, 4), z(4), z(())),
            lambda: f(z(2, 3), z(4)),
            lambda: f(z(3), z(4)),
            lambda: f(z(()), z(5, 4)),
            lambda: f(z(2, 4), z(2, 5, 4)),
            lambda: f(z(2, 4), z(3, 4, dtype=L.float64)),
            lambda: f(z(2, 4, dtype=L.float64), z(3, 4)),
            lambda: f(z(2, 4, dtype=L.int64), z(3, 4)),
            lambda: f(z(2, 4), z(3, 4), z(3, dtype=L.float64)),
            lambda: f([1.0], z(2, 1)),
            lambda: f(z(2, 4), [1]),
            lambda: f(z(2, 4), z(3, 4), 1),
        ]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


# ------------------------------------------------------------------ nn.Linear
@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xshape", [(4,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_module_matches_torch(dtype, xshape, bias):
    tdt, edt = getattr(torch, np.dtype(dtype).name), getattr(ember, np.dtype(dtype).name)
    tm, em = torch.nn.Linear(4, 3, bias=bias, dtype=tdt), enn.Linear(4, 3, bias=bias, dtype=edt)
    copy_params(em, tm)
    assert em.weight.dtype is edt and (em.bias is None) is (not bias)
    x = np.random.default_rng(0).standard_normal(xshape).astype(dtype)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = em(xe), tm(xt)
    assert_close(ye, yt)
    g = np.random.default_rng(1).standard_normal(yt.shape).astype(dtype)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    assert_close(xe.grad, xt.grad)
    assert_close(em.weight.grad, tm.weight.grad)
    if bias:
        assert_close(em.bias.grad, tm.bias.grad)
    assert repr(em) == repr(tm)


def test_linear_module_gradcheck():
    m = enn.Linear(3, 2, dtype=ember.float64)
    x = rand(2, 3)
    assert gradcheck(lambda x, w, b: F.linear(x, w, b), [x, m.weight, m.bias])
    assert gradgradcheck(lambda x, w, b: F.linear(x, w, b), [x, m.weight, m.bias])


def test_linear_init_distribution_and_seed():
    ember.manual_seed(0)
    m = enn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert w.dtype == np.float32 and w.shape == (300, 400) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # U(-bound, bound) has std bound/sqrt(3); 120000 samples pin it down to well under 1%
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.01 and abs(w.mean()) < bound * 0.01
    assert np.abs(w).max() > 0.99 * bound
    ember.manual_seed(0)
    again = enn.Linear(400, 300)
    np.testing.assert_array_equal(again.weight.detach().numpy(), w)
    again.reset_parameters()
    assert not np.array_equal(again.weight.detach().numpy(), w)
    assert enn.Linear(3, 2, dtype=ember.float64).weight.dtype is ember.float64
    with pytest.raises(RuntimeError, match="CUDA"):
        enn.Linear(3, 2, device="cuda")


@requires_torch
def test_zero_size_linear_warns_like_torch():
    for L in (ember, torch):
        with pytest.warns(UserWarning, match="zero-element"):
            L.nn.Linear(0, 3)


# ------------------------------------------------------------------ Bilinear
@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("s1,s2", [((4, 2), (4, 3)), ((2,), (3,)), ((2, 2, 2), (2, 2, 3))])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch(dtype, s1, s2, bias):
    args = [rand(*s1, dtype=dtype), rand(*s2, dtype=dtype, seed=1),
            rand(5, 2, 3, dtype=dtype, seed=2)]
    if bias:
        args.append(rand(5, dtype=dtype, seed=3))
    check_op(F.bilinear, torch.nn.functional.bilinear, args)


def test_bilinear_gradcheck():
    args = [rand(2, 2), rand(2, 3, seed=1), rand(2, 2, 3, seed=2), rand(2, seed=3)]
    assert gradcheck(F.bilinear, args)
    assert gradgradcheck(F.bilinear, args)


@requires_torch
def test_bilinear_module_and_errors_match_torch():
    tm, em = torch.nn.Bilinear(3, 4, 5), enn.Bilinear(3, 4, 5)
    assert repr(em) == repr(tm) and repr(enn.Bilinear(1, 2, 3, bias=False)) == \
        repr(torch.nn.Bilinear(1, 2, 3, bias=False))
    bound = 1 / math.sqrt(3)
    assert np.abs(em.weight.detach().numpy()).max() <= bound
    copy_params(em, tm)
    x1, x2 = rand(6, 3, dtype=np.float32), rand(6, 4, dtype=np.float32, seed=1)
    assert_close(em(x1, x2), tm(torch.tensor(x1.detach().numpy()),
                                torch.tensor(x2.detach().numpy())))

    def cases(L):
        f, z = L.nn.functional.bilinear, L.zeros
        w, b = z(5, 3, 4), z(5)
        return [lambda: f(z(2, 3), z(3, 4), w, b), lambda: f(z(2, 3), z(2, 5), w, b),
                lambda: f(z(2, 2), z(2, 4), w, b), lambda: f(z(2, 3), z(2, 2, 4), w, b),
                lambda: f(z(2, 3), z(2, 4), w, z(4))]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


# ------------------------------------------------------------------ LazyLinear
def test_lazy_linear_materializes_on_first_call():
    m = enn.LazyLinear(3)
    assert isinstance(m.weight, enn.UninitializedParameter)
    assert repr(m) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    assert repr(m.weight) == "<UninitializedParameter>"
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        _ = m.weight.shape
    sd = m.state_dict()
    assert isinstance(sd["weight"], enn.UninitializedParameter)
    y = m(rand(2, 5, dtype=np.float32))
    assert type(m) is enn.Linear and tuple(y.shape) == (2, 3)
    assert type(m.weight) is enn.Parameter and tuple(m.weight.shape) == (3, 5)
    assert repr(m) == "Linear(in_features=5, out_features=3, bias=True)"
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / math.sqrt(5)
    y.sum().backward()
    assert m.weight.grad.shape == (3, 5)
    # loading a state dict materializes from the checkpoint's shapes
    lazy = enn.LazyLinear(3, bias=False)
    src = enn.Linear(4, 3, bias=False)
    lazy.load_state_dict(src.state_dict())
    np.testing.assert_array_equal(lazy.weight.detach().numpy(), src.weight.detach().numpy())
    x = rand(1, 4, dtype=np.float32)
    np.testing.assert_array_equal(lazy(x).detach().numpy(), src(x).detach().numpy())
    assert type(lazy) is enn.Linear and lazy.in_features == 4


# ------------------------------------------------------------------ Identity, Flatten
@requires_torch
@pytest.mark.parametrize("make", [
    lambda nn: nn.Identity(54, unused="x"), lambda nn: nn.Flatten(),
    lambda nn: nn.Flatten(0, 2), lambda nn: nn.Flatten(-2), lambda nn: nn.Unflatten(1, (2, 3)),
    lambda nn: nn.Unflatten(1, [3, -1])])
def test_shape_layers_match_torch(make):
    em, tm = make(enn), make(torch.nn)
    assert repr(em) == repr(tm)
    x = rand(2, 6, 2, 1)
    check_op(em, tm, [x])


def test_flatten_is_a_view_and_identity_returns_input():
    x = ember.tensor(np.arange(24.0).reshape(2, 3, 4))
    y = enn.Flatten()(x)
    assert tuple(y.shape) == (2, 12) and np.shares_memory(y.numpy(), x.numpy())
    assert enn.Identity()(x) is x


# ------------------------------------------------------------------ nn.init
@requires_torch
def test_calculate_gain_and_errors_match_torch():
    for args in [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",),
                 ("leaky_relu",), ("leaky_relu", 0.2), ("leaky_relu", 1), ("selu",)]:
        assert enn.init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)

    def cases(L):
        init, z = L.nn.init, L.zeros
        return [lambda: init.calculate_gain("foo"), lambda: init.calculate_gain("leaky_relu", True),
                lambda: init.calculate_gain("leaky_relu", "x"),
                lambda: init._calculate_fan_in_and_fan_out(z(3)),
                lambda: init.xavier_uniform_(z(3)), lambda: init.kaiming_normal_(z(())),
                lambda: init.kaiming_uniform_(z(2, 2), mode="fan_avg"),
                lambda: init.eye_(z(2, 2, 2)), lambda: init.dirac_(z(2, 2)),
                lambda: init.dirac_(z(3, 2, 3), groups=2), lambda: init.orthogonal_(z(3)),
                lambda: init.sparse_(z(2, 2, 2), 0.5)]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


@requires_torch
@pytest.mark.parametrize("shape", [(4, 3, 5), (6, 2, 2, 3), (4, 4, 2, 2, 3), (6, 2, 3)])
@pytest.mark.parametrize("groups", [1, 2])
def test_eye_dirac_constant_match_torch(shape, groups):
    e, t = ember.empty(*shape), torch.empty(*shape)
    enn.init.dirac_(e, groups)
    torch.nn.init.dirac_(t, groups)
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    for fn, args in [("eye_", ()), ("constant_", (2.5,)), ("ones_", ()), ("zeros_", ())]:
        e, t = ember.empty(3, 5), torch.empty(3, 5)
        getattr(enn.init, fn)(e, *args)
        getattr(torch.nn.init, fn)(t, *args)
        np.testing.assert_array_equal(e.numpy(), t.numpy())


def _sample(fn, shape=(200, 300), dtype=ember.float64, **kw):
    t = ember.empty(*shape, dtype=dtype)
    out = fn(t, **kw)
    assert out is t and t.dtype is dtype
    return t.numpy()


def _trunc_std(mean, std, a, b):
    """The standard deviation of N(mean, std^2) truncated to [a, b]."""
    def phi(x):
        return math.exp(-x * x / 2) / math.sqrt(2 * math.pi) if math.isfinite(x) else 0.0

    def cdf(x):
        return (1 + math.erf(x / math.sqrt(2))) / 2
    al, be = (a - mean) / std, (b - mean) / std
    z = cdf(be) - cdf(al)
    t1 = ((al * phi(al) if math.isfinite(al) else 0) - (be * phi(be) if math.isfinite(be)
                                                        else 0)) / z
    t2 = (phi(al) - phi(be)) / z
    return std * math.sqrt(1 + t1 - t2 * t2)


# (init function, kwargs, expected std, bound or None); weight shape (200, 300): fan_in 300,
# fan_out 200
FAN_IN, FAN_OUT = 300, 200
STAT_CASES = [
    ("uniform_", dict(a=-2.0, b=1.0), 3 / math.sqrt(12), (-2.0, 1.0)),
    ("normal_", dict(mean=0.5, std=2.0), 2.0, None),
    ("xavier_uniform_", dict(gain=2.0), 2 * math.sqrt(2 / 500), 2 * math.sqrt(6 / 500)),
    ("xavier_normal_", dict(), math.sqrt(2 / 500), None),
    ("kaiming_uniform_", dict(), math.sqrt(2 / FAN_IN), math.sqrt(6 / FAN_IN)),  # a=0
    ("kaiming_uniform_", dict(a=None), math.sqrt(2 / 1.0001 / FAN_IN),
     math.sqrt(3 * 2 / 1.0001 / FAN_IN)),                      # slope None -> 0.01
    ("kaiming_uniform_", dict(a=math.sqrt(5)), 1 / math.sqrt(3 * FAN_IN), 1 / math.sqrt(FAN_IN)),
    ("kaiming_normal_", dict(mode="fan_out", nonlinearity="relu"),
     math.sqrt(2 / FAN_OUT), None),
    ("kaiming_normal_", dict(nonlinearity="tanh"), 5 / 3 / math.sqrt(FAN_IN), None),
    ("trunc_normal_", dict(), _trunc_std(0, 1, -2, 2), (-2, 2)),
    ("trunc_normal_", dict(mean=1.0, std=0.5, a=0.0, b=1.5), _trunc_std(1, 0.5, 0, 1.5),
     (0.0, 1.5)),
    ("trunc_normal_", dict(a=1.0, b=3.0), _trunc_std(0, 1, 1, 3), (1.0, 3.0)),  # tail: U+reject
    ("trunc_normal_", dict(std=0.02, a=-0.04, b=0.04), _trunc_std(0, 0.02, -0.04, 0.04),
     (-0.04, 0.04)),
]


@pytest.mark.parametrize("name,kw,std,bounds", STAT_CASES)
def test_init_statistics(name, kw, std, bounds):
    v = _sample(getattr(enn.init, name), **kw)
    # 60000 samples: the sample std is within 2% of the true std with overwhelming probability
    assert abs(v.std() / std - 1) < 0.02, (v.std(), std)
    if bounds is not None:
        lo, hi = bounds if isinstance(bounds, tuple) else (-bounds, bounds)
        assert v.min() >= lo and v.max() <= hi
        assert v.min() < lo + 0.01 * (hi - lo) and v.max() > hi - 0.01 * (hi - lo)
    if name == "trunc_normal_":
        m, s = kw.get("mean", 0.0), kw.get("std", 1.0)
        a, b = kw.get("a", -2.0), kw.get("b", 2.0)
        # the mean of the truncated normal, against a 2-std-error band
        al, be = (a - m) / s, (b - m) / s
        z = 0.5 * (math.erf(be / math.sqrt(2)) - math.erf(al / math.sqrt(2)))
        mean = m + s * (math.exp(-al * al / 2) - math.exp(-be * be / 2)) / math.sqrt(
            2 * math.pi) / z
        assert abs(v.mean() - mean) < 4 * std / math.sqrt(v.size)


def test_init_float32_and_generator():
    v = _sample(enn.init.normal_, dtype=ember.float32)
    assert v.dtype == np.float32 and abs(v.std() - 1) < 0.02
    draws = []
    for seed in (5, 5, 6):
        g = ember.Generator().manual_seed(seed)
        t = ember.empty(4, 3)
        enn.init.kaiming_uniform_(t, generator=g)
        draws.append(t.numpy().copy())
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.array_equal(draws[0], draws[2])
    ember.manual_seed(1)
    a = enn.init.trunc_normal_(ember.empty(5)).numpy().copy()
    ember.manual_seed(1)
    np.testing.assert_array_equal(enn.init.trunc_normal_(ember.empty(5)).numpy(), a)


def test_init_on_parameters_under_no_grad():
    p = enn.Parameter(ember.zeros(3, 4))
    v = p._version
    for fn in (enn.init.xavier_uniform_, enn.init.orthogonal_, enn.init.zeros_,
               lambda t: enn.init.sparse_(t, 0.5)):
        assert fn(p) is p
    assert p.requires_grad and p.is_leaf and p.grad_fn is None and p._version == v + 4
    with pytest.warns(UserWarning, match="zero-element"):
        enn.init.kaiming_normal_(ember.empty(0, 3))
    with pytest.warns(FutureWarning, match="deprecated in favor of `nn.init.normal_`"):
        enn.init.normal(ember.empty(2))


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3, 3), (6, 6)])
def test_orthogonal(shape):
    t = enn.init.orthogonal_(ember.empty(*shape, dtype=ember.float64), gain=2.0)
    q = t.numpy().reshape(shape[0], -1) / 2.0
    small = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
    np.testing.assert_allclose(small, np.eye(small.shape[0]), atol=1e-12)


def test_sparse():
    v = enn.init.sparse_(ember.empty(10, 200, dtype=ember.float64), sparsity=0.25,
                         std=0.5).numpy()
    zeros_per_column = (v == 0).sum(axis=0)
    assert np.all(zeros_per_column == 3)                # ceil(0.25 * 10)
    assert abs(v[v != 0].std() / 0.5 - 1) < 0.05
    # the zeroed rows differ between columns (independent permutations)
    assert len({tuple(np.flatnonzero(c == 0)) for c in v.T}) > 50
