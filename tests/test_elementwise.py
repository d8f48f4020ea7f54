"""Elementwise operations against PyTorch: values, dtypes, gradients (first and second
order), integer/bool dtype rules, scalar operands on either side, in-place forms, aliases."""
import math

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck, gradgradcheck
from oracle import assert_close, check_op, requires_torch, torch

pytestmark = requires_torch


# ---------------------------------------------------------------------------------------
# inputs
def values(shape, domain, dtype=np.float64, seed=0):
    """Random values suited to an op's domain."""
    rng = np.random.default_rng(seed)
    if domain == "nonzero":                 # |x| in [0.5, 2], either sign
        v = rng.uniform(0.5, 2, shape) * rng.choice([-1.0, 1.0], shape)
    elif domain == "frac":                  # away from integers and from .5 (floor, round)
        v = rng.integers(-3, 3, shape) + rng.choice([0.2, 0.35, 0.65, 0.8], shape)
    else:
        lo, hi = {"real": (-2, 2), "pos": (0.1, 3), "unit": (-0.9, 0.9), "gt1": (1.1, 3),
                  "prob": (0.05, 0.95), "weight": (0, 1), "wide": (-6, 6)}[domain]
        v = rng.uniform(lo, hi, shape)
    return np.asarray(v, dtype=dtype)


def make(shape, domain="real", dtype=np.float64, seed=0, requires_grad=True):
    return ember.tensor(values(shape, domain, dtype, seed), requires_grad=requires_grad)


def both(f):
    """The same expression for ember and torch (their APIs are the same)."""
    return (lambda *a: f(ember, *a)), (lambda *a: f(torch, *a))


# ---------------------------------------------------------------------------------------
# unary ops: (id, f(lib, x), domain, smooth: second derivative checked)
UNARY = [
    ("exp", lambda m, x: m.exp(x), "real", True),
    ("exp2", lambda m, x: m.exp2(x), "real", True),
    ("expm1", lambda m, x: m.expm1(x), "real", True),
    ("log", lambda m, x: m.log(x), "pos", True),
    ("log2", lambda m, x: m.log2(x), "pos", True),
    ("log10", lambda m, x: m.log10(x), "pos", True),
    ("log1p", lambda m, x: m.log1p(x), "pos", True),
    ("sqrt", lambda m, x: m.sqrt(x), "pos", True),
    ("rsqrt", lambda m, x: m.rsqrt(x), "pos", True),
    ("reciprocal", lambda m, x: m.reciprocal(x), "nonzero", True),
    ("sin", lambda m, x: m.sin(x), "real", True),
    ("cos", lambda m, x: m.cos(x), "real", True),
    ("tan", lambda m, x: m.tan(x), "unit", True),
    ("asin", lambda m, x: m.asin(x), "unit", True),
    ("acos", lambda m, x: m.acos(x), "unit", True),
    ("atan", lambda m, x: m.atan(x), "real", True),
    ("sinh", lambda m, x: m.sinh(x), "real", True),
    ("cosh", lambda m, x: m.cosh(x), "real", True),
    ("tanh", lambda m, x: m.tanh(x), "real", True),
    ("asinh", lambda m, x: m.asinh(x), "real", True),
    ("acosh", lambda m, x: m.acosh(x), "gt1", True),
    ("atanh", lambda m, x: m.atanh(x), "unit", True),
    ("sigmoid", lambda m, x: m.sigmoid(x), "wide", True),
    ("logit", lambda m, x: m.logit(x), "prob", True),
    ("logit_eps", lambda m, x: m.logit(x, eps=0.2), "prob", True),
    ("erf", lambda m, x: m.erf(x), "real", True),
    ("erfc", lambda m, x: m.erfc(x), "real", True),
    ("erfinv", lambda m, x: m.erfinv(x), "unit", True),
    ("i0", lambda m, x: m.i0(x), "wide", True),
    ("sinc", lambda m, x: m.sinc(x), "nonzero", True),
    ("deg2rad", lambda m, x: m.deg2rad(x), "real", True),
    ("rad2deg", lambda m, x: m.rad2deg(x), "real", True),
    ("neg", lambda m, x: m.neg(x), "real", True),
    ("abs", lambda m, x: m.abs(x), "nonzero", True),
    ("square", lambda m, x: m.square(x), "real", True),
    ("positive", lambda m, x: m.positive(x) * 1, "real", True),
    ("pow_3", lambda m, x: m.pow(x, 3), "real", True),
    ("pow_2", lambda m, x: x ** 2, "real", True),
    ("pow_half", lambda m, x: x ** 0.5, "pos", True),
    ("pow_neg", lambda m, x: m.pow(x, -1.5), "pos", True),
    ("pow_0", lambda m, x: m.pow(x, 0), "real", True),
    ("rpow", lambda m, x: 2.5 ** x, "real", True),
    ("float_power", lambda m, x: m.float_power(x, 2.5), "pos", True),
    ("sign", lambda m, x: m.sign(x), "nonzero", False),
    # (PyTorch's gradient of sgn on real inputs is a ZeroTensor; adding x makes it ordinary)
    ("sgn", lambda m, x: m.sgn(x) + x, "nonzero", False),
    ("floor", lambda m, x: m.floor(x), "frac", False),
    ("ceil", lambda m, x: m.ceil(x), "frac", False),
    ("round", lambda m, x: m.round(x), "frac", False),
    ("round_dec", lambda m, x: m.round(x + 0.02, decimals=1), "frac", False),
    ("trunc", lambda m, x: m.trunc(x), "frac", False),
    ("fix", lambda m, x: m.fix(x), "frac", False),
    ("frac", lambda m, x: m.frac(x), "frac", True),
    ("clamp", lambda m, x: m.clamp(x, -0.5, 0.7), "real", True),
    ("clamp_min", lambda m, x: m.clamp_min(x, -0.3), "real", True),
    ("clamp_max", lambda m, x: m.clamp(x, max=0.4), "real", True),
    ("clip", lambda m, x: m.clip(x, min=0.1), "real", True),
    ("nan_to_num", lambda m, x: m.nan_to_num(x), "real", True),
    ("angle", lambda m, x: m.angle(x), "nonzero", False),
    ("real", lambda m, x: m.real(x) * 1, "real", True),
    ("conj", lambda m, x: m.conj(x) * 1, "real", True),
    ("xlogy_scalar", lambda m, x: m.xlogy(x, 3.0), "real", True),
    ("rxlogy", lambda m, x: m.xlogy(2, x), "pos", True),
    ("copysign_scalar", lambda m, x: m.copysign(x, -1.0), "nonzero", True),
    ("remainder_scalar", lambda m, x: x % 0.7, "real", False),
    ("rremainder", lambda m, x: 2.5 % x.detach(), "nonzero", None),     # no derivative
    ("fmod_scalar", lambda m, x: m.fmod(x, 0.7), "real", False),
    ("floordiv_mode", lambda m, x: m.div(x, 0.7, rounding_mode="floor"), "real", False),
    ("truncdiv_mode", lambda m, x: m.div(x, 0.7, rounding_mode="trunc"), "real", False),
    ("rsub", lambda m, x: 2 - x, "real", True),
    ("rdiv", lambda m, x: 2 / x, "nonzero", True),
    ("radd_alpha", lambda m, x: m.add(x, x, alpha=2.5), "real", True),
    ("sub_alpha", lambda m, x: m.sub(x, 1.5, alpha=2), "real", True),
    ("rsub_fn", lambda m, x: m.rsub(x, 2.0, alpha=3), "real", True),
]
UNARY_IDS = [u[0] for u in UNARY]
SHAPES1 = [(), (3,), (2, 3), (0, 3)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES1, ids=str)
@pytest.mark.parametrize("name,f,domain,smooth", UNARY, ids=UNARY_IDS)
def test_unary_vs_torch(name, f, domain, smooth, shape, dtype):
    x = make(shape, domain, dtype)
    check_op(*both(f), [x])


@pytest.mark.parametrize("name,f,domain,smooth", [u for u in UNARY if u[3] is not None],
                         ids=[u[0] for u in UNARY if u[3] is not None])
def test_unary_gradcheck(name, f, domain, smooth):
    x = make((2, 3), domain, seed=1)
    assert gradcheck(lambda t: f(ember, t), (x,))
    if smooth:
        assert gradgradcheck(lambda t: f(ember, t), (x,))


# ---------------------------------------------------------------------------------------
# binary ops: (id, f(lib, a, b), domain of a, domain of b, smooth)
BINARY = [
    ("add", lambda m, a, b: a + b, "real", "real", True),
    ("add_alpha", lambda m, a, b: m.add(a, b, alpha=-0.5), "real", "real", True),
    ("sub", lambda m, a, b: a - b, "real", "real", True),
    ("sub_alpha", lambda m, a, b: m.sub(a, b, alpha=2), "real", "real", True),
    ("subtract", lambda m, a, b: m.subtract(a, b), "real", "real", True),
    ("rsub", lambda m, a, b: m.rsub(a, b), "real", "real", True),
    ("mul", lambda m, a, b: a * b, "real", "real", True),
    ("multiply", lambda m, a, b: m.multiply(a, b), "real", "real", True),
    ("div", lambda m, a, b: a / b, "real", "nonzero", True),
    ("true_divide", lambda m, a, b: m.true_divide(a, b), "real", "nonzero", True),
    ("div_floor", lambda m, a, b: m.div(a, b, rounding_mode="floor"), "wide", "nonzero", False),
    ("div_trunc", lambda m, a, b: m.div(a, b, rounding_mode="trunc"), "wide", "nonzero", False),
    ("remainder", lambda m, a, b: m.remainder(a, b), "wide", "nonzero", False),
    ("mod", lambda m, a, b: a % b, "wide", "nonzero", False),
    ("fmod", lambda m, a, b: m.fmod(a, b), "wide", "nonzero", False),
    ("pow", lambda m, a, b: a ** b, "pos", "real", True),
    ("float_power", lambda m, a, b: m.float_power(a, b), "pos", "real", True),
    ("atan2", lambda m, a, b: m.atan2(a, b), "real", "nonzero", True),
    ("arctan2", lambda m, a, b: m.arctan2(a, b), "real", "nonzero", True),
    ("hypot", lambda m, a, b: m.hypot(a, b), "nonzero", "real", True),
    ("logaddexp", lambda m, a, b: m.logaddexp(a, b), "real", "real", True),
    ("logaddexp2", lambda m, a, b: m.logaddexp2(a, b), "real", "real", True),
    ("xlogy", lambda m, a, b: m.xlogy(a, b), "real", "pos", True),
    ("copysign", lambda m, a, b: m.copysign(a, b), "nonzero", "nonzero", True),
    ("maximum", lambda m, a, b: m.maximum(a, b), "real", "real", True),
    ("minimum", lambda m, a, b: m.minimum(a, b), "real", "real", True),
    ("fmax", lambda m, a, b: m.fmax(a, b), "real", "real", True),
    ("fmin", lambda m, a, b: m.fmin(a, b), "real", "real", True),
    ("where", lambda m, a, b: m.where(a > 0, a, b), "real", "real", True),
    ("tensor_where", lambda m, a, b: a.where(b > 0, b), "real", "real", True),
    ("lerp_lo", lambda m, a, b: m.lerp(a, b, 0.3), "real", "real", True),
    ("lerp_hi", lambda m, a, b: m.lerp(a, b, 0.8), "real", "real", True),
    ("clamp_min_t", lambda m, a, b: m.clamp(a, min=b), "real", "real", True),
    ("clamp_max_t", lambda m, a, b: m.clamp(a, max=b), "real", "real", True),
    ("addcmul", lambda m, a, b: m.addcmul(a, a, b, value=0.5), "real", "real", True),
    ("addcdiv", lambda m, a, b: m.addcdiv(b, a, b, value=-2), "real", "nonzero", True),
]
BINARY_IDS = [b[0] for b in BINARY]
SHAPES2 = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 1, 3), (4, 3)),
           ((2, 3), ())]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", SHAPES2, ids=str)
@pytest.mark.parametrize("name,f,da,db,smooth", BINARY, ids=BINARY_IDS)
def test_binary_vs_torch(name, f, da, db, smooth, shapes, dtype):
    a = make(shapes[0], da, dtype, seed=1)
    b = make(shapes[1], db, dtype, seed=2)
    check_op(*both(f), [a, b])


@pytest.mark.parametrize("name,f,da,db,smooth", BINARY, ids=BINARY_IDS)
def test_binary_gradcheck(name, f, da, db, smooth):
    a = make((2, 3), da, seed=3)
    b = make((3,), db, seed=4)
    fn = lambda x, y: f(ember, x, y)  # noqa: E731
    assert gradcheck(fn, (a, b))
    if smooth:
        assert gradgradcheck(fn, (a, b))


# three-tensor ops
TERNARY = [
    ("clamp", lambda m, x, lo, hi: m.clamp(x, lo, hi)),
    ("addcmul", lambda m, x, a, b: m.addcmul(x, a, b, value=-1.5)),
    ("addcdiv", lambda m, x, a, b: m.addcdiv(x, a, b + 3)),
    ("lerp", lambda m, s, e, w: m.lerp(s, e, w)),
    ("where", lambda m, c, x, y: m.where(c > 0, x, y)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,f", TERNARY, ids=[t[0] for t in TERNARY])
def test_ternary_vs_torch(name, f, dtype):
    x = make((2, 3), "real", dtype, seed=5)
    lo = make((3,), "real", dtype, seed=6) - 1 if name == "clamp" else make((3,), "real", dtype,
                                                                              seed=6)
    hi = make((2, 1), "weight", dtype, seed=7)
    lo = lo.detach().requires_grad_() if name == "clamp" else lo
    check_op(*both(f), [x, lo, hi])
    if dtype == np.float64:
        fn = lambda *t: f(ember, *t)  # noqa: E731
        assert gradcheck(fn, (x, lo, hi))
        assert gradgradcheck(fn, (x, lo, hi))


# ---------------------------------------------------------------------------------------
# gradients at special points, where PyTorch defines them
SPECIAL = [
    ("abs_at_0", lambda m, x: m.abs(x), [[0.0, -1.0, 2.0]]),
    ("sqrt_at_0", lambda m, x: m.sqrt(x), [[0.0, 1.0]]),
    ("rsqrt_at_0", lambda m, x: m.rsqrt(x), [[0.0, 4.0]]),
    ("clamp_boundary", lambda m, x: m.clamp(x, 0.0, 1.0), [[0.0, 1.0, 0.5, -1.0, 2.0]]),
    ("clamp_min_boundary", lambda m, x: m.clamp(x, min=0.0), [[0.0, -1e-3, 1.0]]),
    ("clamp_t", lambda m, x, lo, hi: m.clamp(x, lo, hi),
     [[-1.0, 0.5, 2.0, 3.0, 0.5, -1, 1.0], [1.0, 1, 1, 4, 2, 0, 1], [1.0, 1, 1, 2, 1, -1, 1]]),
    ("clamp_nan", lambda m, x, lo: m.clamp(x, min=lo), [[math.nan, 1.0], [0.0, math.nan]]),
    ("maximum_ties", lambda m, a, b: m.maximum(a, b), [[1.0, 2, 3, math.nan], [1.0, 1, 4, 1]]),
    ("minimum_ties", lambda m, a, b: m.minimum(a, b), [[1.0, 2, 3, math.nan], [1.0, 1, 4, 1]]),
    ("fmax_nan", lambda m, a, b: m.fmax(a, b), [[1.0, 2, 3, math.nan, 1], [1, 1, 4, 1, math.nan]]),
    ("fmin_nan", lambda m, a, b: m.fmin(a, b), [[1.0, 2, 3, math.nan, 1], [1, 1, 4, 1, math.nan]]),
    ("pow_base0", lambda m, a, b: a ** b, [[0.0, 0, 0, 2, -2, 0], [0.0, 1, -1, 0.5, 2, 2]]),
    ("pow_scalar_base0", lambda m, b: 0.0 ** b, [[0.0, 1, -1, 2]]),
    ("pow_neg_base", lambda m, b: (-2.0) ** b, [[1.0, 2.0]]),
    ("pow_exp0", lambda m, x: m.pow(x, 0.0), [[0.0, 1.0]]),
    ("pow_half_0", lambda m, x: m.pow(x, 0.5), [[0.0, 1.0]]),
    ("copysign_zero", lambda m, a, b: m.copysign(a, b), [[1.0, 0, -2, -0.0], [-1.0, -1, 3, 1]]),
    ("xlogy_zero", lambda m, a, b: m.xlogy(a, b), [[0.0, 1, 0], [0.0, 2, math.nan]]),
    ("sinc_0", lambda m, x: m.sinc(x), [[0.0, 0.5]]),
    ("logit_outside", lambda m, x: m.logit(x, eps=0.1), [[0.05, 0.5, 0.95, 0.1]]),
    ("logit_0_1", lambda m, x: m.logit(x), [[0.0, 0.5, 1.0]]),
    ("hypot_0", lambda m, a, b: m.hypot(a, b), [[0.0, 3.0], [0.0, 4.0]]),
    ("atan2_0", lambda m, a, b: m.atan2(a, b), [[0.0, 3.0], [0.0, 4.0]]),
    ("nan_to_num", lambda m, x: m.nan_to_num(x, nan=1.0, posinf=2.0),
     [[1.5, math.nan, math.inf, -math.inf]]),
    ("erfinv_edges", lambda m, x: m.erfinv(x), [[0.0, 0.5, 1.0, -1.0, 1.5]]),
    ("i0_0", lambda m, x: m.i0(x), [[0.0, 0.5, -1.0, 25.0]]),
    ("where_routes", lambda m, a, b: m.where(a > 0, a, b), [[1.0, -1.0], [2.0, 2.0]]),
    ("angle_neg", lambda m, x: m.angle(x), [[-1.0, 0.0, 2.0, -0.0]]),
    ("sign_0", lambda m, x: m.sign(x), [[0.0, -0.0, 3.0]]),
    ("lerp_weight_t", lambda m, a, b, w: m.lerp(a, b, w), [[0.0, 1], [2.0, 3], [0.3, 0.7]]),
    ("remainder_neg", lambda m, a, b: m.remainder(a, b), [[5.0, -5], [3.0, 3]]),
    ("fmod_neg", lambda m, a, b: m.fmod(a, b), [[5.0, -5], [3.0, 3]]),
    ("div_by_0", lambda m, a, b: a / b, [[1.0, 0.0, -1.0], [0.0, 0.0, 0.0]]),
    ("log_0", lambda m, x: m.log(x), [[0.0, -1.0, 1.0]]),
]


@pytest.mark.parametrize("name,f,vals", SPECIAL, ids=[s[0] for s in SPECIAL])
def test_special_points(name, f, vals):
    xs = [ember.tensor(np.array(v, np.float64), requires_grad=True) for v in vals]
    check_op(*both(f), xs)


def test_erf_family_accuracy():
    """float64 erf/erfc/erfinv against PyTorch to ~1e-13 relative over their whole range."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-1, 1, 2000), rng.uniform(-8, 8, 2000),
                        rng.uniform(-27, 27, 2000), 10.0 ** rng.uniform(-300, 0, 200),
                        [0.0, -0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 26.0, math.inf, -math.inf, math.nan]])
    tx = torch.from_numpy(x)
    e = ember.tensor(x)
    for name in ("erf", "erfc"):
        ours, ref = getattr(ember, name)(e).numpy(), getattr(torch, name)(tx).numpy()
        keep = ~(np.abs(ref) < 1e-300)     # erfc's subnormal tail has no relative accuracy
        np.testing.assert_allclose(ours[keep], ref[keep], rtol=1e-13, atol=0, err_msg=name)
        assert np.all(np.abs(ours[~keep]) < 1e-300)
    y = np.concatenate([rng.uniform(-1, 1, 2000), 1 - 10.0 ** rng.uniform(-16, 0, 500),
                        -(1 - 10.0 ** rng.uniform(-16, 0, 500)), 10.0 ** rng.uniform(-300, 0, 200),
                        [0.0, 1.0, -1.0, 1.5, -2.0, math.nan]])
    ours, ref = ember.erfinv(ember.tensor(y)).numpy(), torch.erfinv(torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-13, atol=0)


def test_i0_range():
    x = np.concatenate([np.linspace(-30, 30, 601), [0.0, 700.0, -715.0, math.nan, math.inf]])
    ours, ref = ember.i0(ember.tensor(x)).numpy(), torch.i0(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-13, atol=0)


# ---------------------------------------------------------------------------------------
# complex inputs
COMPLEX = [
    ("exp", lambda m, z: m.exp(z)), ("log", lambda m, z: m.log(z)),
    ("sqrt", lambda m, z: m.sqrt(z)), ("sin", lambda m, z: m.sin(z)),
    ("tanh", lambda m, z: m.tanh(z)), ("sigmoid", lambda m, z: m.sigmoid(z)),
    ("reciprocal", lambda m, z: m.reciprocal(z)), ("square", lambda m, z: z * z),
    ("pow", lambda m, z: z ** 3), ("div", lambda m, z: (z + 2) / z),
    ("abs", lambda m, z: m.abs(z)), ("angle", lambda m, z: m.angle(z)),
    ("sgn", lambda m, z: m.sgn(z)), ("real", lambda m, z: m.real(z)),
    ("imag", lambda m, z: m.imag(z)), ("conj", lambda m, z: m.conj(z) * z),
    ("rsqrt", lambda m, z: m.rsqrt(z)),
]


@pytest.mark.parametrize("name,f", COMPLEX, ids=[c[0] for c in COMPLEX])
def test_complex_vs_torch(name, f):
    rng = np.random.default_rng(3)
    z = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    z[0, 0] = 0 if name in ("abs", "angle", "sgn") else z[0, 0]
    check_op(*both(f), [ember.tensor(z, requires_grad=True)])


def test_complex_dtypes():
    z = ember.tensor([1 + 1j, -2j], dtype=ember.complex64)
    assert ember.abs(z).dtype is ember.float32
    assert ember.angle(z).dtype is ember.float32
    assert z.real.dtype is ember.float32 and z.imag.dtype is ember.float32
    assert ember.isreal(z).tolist() == [False, False]
    assert ember.conj(ember.tensor([1.0])).dtype is ember.float32
    r = ember.tensor([1.0, 2.0])
    assert ember.real(r) is r and ember.conj(r) is r and not ember.is_conj(r)


def test_real_is_a_view():
    z = ember.tensor([1 + 1j, 2 - 1j])
    z.real.add_(10)
    z.imag.mul_(3)
    assert z.tolist() == [11 + 3j, 12 - 3j]


# ---------------------------------------------------------------------------------------
# integer and bool dtypes: same result (value and dtype) or same exception as PyTorch
INT_DTYPES = ["int64", "int32", "int8", "uint8", "bool"]


def _int_values(dtype, seed, nonzero=False):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        v = np.array([True, False, True, True, False, True])
        return v if not nonzero else np.ones(6, bool)
    lo = 1 if dtype == "uint8" or nonzero else -3
    v = rng.integers(lo, 6, 6)
    if nonzero:
        v = v * rng.choice([1, -1] if dtype != "uint8" else [1], 6)
    return v.astype(dtype)


def same_behaviour(fe, ft, *args):
    """Compare results (or the exception type) of ember and torch on the same inputs."""
    try:
        expected = ft(*[torch.from_numpy(a.copy()) if isinstance(a, np.ndarray) else a
                        for a in args])
    except Exception as exc:  # noqa: BLE001 - the exception type is what is compared
        with pytest.raises(type(exc)):
            fe(*[ember.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
        return
    ours = fe(*[ember.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
    if isinstance(expected, torch.Tensor):
        assert_close(ours, expected, rtol=1e-6, atol=1e-6)
    else:
        assert ours == expected


INT_UNARY = ["exp", "log", "sqrt", "sin", "sigmoid", "erf", "erfinv", "reciprocal", "abs", "neg",
             "square", "sign", "sgn", "floor", "ceil", "round", "trunc", "frac", "positive",
             "isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit", "nan_to_num",
             "angle", "logit", "exp2", "deg2rad", "i0", "sinc", "bitwise_not", "logical_not",
             "real", "isreal", "tanh", "log1p", "rsqrt", "atan", "expm1"]


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("name", INT_UNARY)
def test_int_unary(name, dtype):
    same_behaviour(getattr(ember, name), getattr(torch, name), _int_values(dtype, 0))


INT_BINARY = {
    "add": lambda m, a, b: a + b, "sub": lambda m, a, b: a - b, "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b, "floor_divide": lambda m, a, b: a // b,
    "remainder": lambda m, a, b: a % b, "fmod": lambda m, a, b: m.fmod(a, b),
    "div_trunc": lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
    "div_floor": lambda m, a, b: m.div(a, b, rounding_mode="floor"),
    "pow": lambda m, a, b: a ** b, "eq": lambda m, a, b: a == b, "lt": lambda m, a, b: a < b,
    "ge": lambda m, a, b: a >= b, "ne": lambda m, a, b: m.not_equal(a, b),
    "maximum": lambda m, a, b: m.maximum(a, b), "fmin": lambda m, a, b: m.fmin(a, b),
    "atan2": lambda m, a, b: m.atan2(a, b), "hypot": lambda m, a, b: m.hypot(a, b),
    "logaddexp": lambda m, a, b: m.logaddexp(a, b), "xlogy": lambda m, a, b: m.xlogy(a, b),
    "copysign": lambda m, a, b: m.copysign(a, b),
    "heaviside": lambda m, a, b: m.heaviside(a, b),
    "and": lambda m, a, b: a & b, "or": lambda m, a, b: a | b, "xor": lambda m, a, b: a ^ b,
    "lshift": lambda m, a, b: a << b, "rshift": lambda m, a, b: a >> b,
    "logical_and": lambda m, a, b: m.logical_and(a, b),
    "logical_xor": lambda m, a, b: m.logical_xor(a, b),
    "where": lambda m, a, b: m.where(a > 1, a, b),
    "clamp": lambda m, a, b: m.clamp(a, min=b), "isclose": lambda m, a, b: m.isclose(a, b),
    "equal": lambda m, a, b: m.equal(a, b), "add_alpha": lambda m, a, b: m.add(a, b, alpha=2),
    "addcmul": lambda m, a, b: m.addcmul(a, a, b, value=2),
    "addcdiv": lambda m, a, b: m.addcdiv(a, a, b), "lerp": lambda m, a, b: m.lerp(a, b, 0.5),
}
DTYPE_PAIRS = [("int64", "int64"), ("int32", "int64"), ("int8", "uint8"), ("bool", "bool"),
               ("bool", "int32"), ("int64", "float32"), ("uint8", "float64"),
               ("float32", "float64"), ("int16", "int8")]


@pytest.mark.parametrize("dtypes", DTYPE_PAIRS, ids=str)
@pytest.mark.parametrize("name", list(INT_BINARY))
def test_int_binary(name, dtypes):
    f = INT_BINARY[name]
    a = _int_values(dtypes[0], 1)
    b = _int_values(dtypes[1], 2, nonzero=True)
    b = np.abs(b) % 5 if name in ("lshift", "rshift") and b.dtype != bool else b
    same_behaviour(*both(f), a, b)


SCALAR_FORMS = [
    ("radd", lambda m, x: 2 + x), ("rsub", lambda m, x: 2 - x), ("rmul", lambda m, x: 2.5 * x),
    ("rdiv", lambda m, x: 3 / x), ("rfloordiv", lambda m, x: 7 // x),
    ("rmod", lambda m, x: 7 % x), ("rpow", lambda m, x: 2 ** x), ("rpow_f", lambda m, x: 2.5 ** x),
    ("fadd", lambda m, x: m.add(2, x)), ("fsub", lambda m, x: m.sub(2, x, alpha=2)),
    ("fmul", lambda m, x: m.mul(2, x)), ("fdiv", lambda m, x: m.div(2, x)),
    ("fremainder", lambda m, x: m.remainder(-7, x)), ("fpow", lambda m, x: m.pow(2, x)),
    ("rand", lambda m, x: 6 & x), ("ror", lambda m, x: 1 | x), ("rxor", lambda m, x: 3 ^ x),
    ("eq_s", lambda m, x: x == 2), ("lt_s", lambda m, x: x < 2.5), ("ge_s", lambda m, x: 2 <= x),
    ("add_f", lambda m, x: x + 0.5), ("mul_f", lambda m, x: x * 1.5),
    ("floordiv_f", lambda m, x: x // 2.5), ("pow_f", lambda m, x: x ** 0.5),
    ("lshift_s", lambda m, x: x << 2), ("rshift_s", lambda m, x: x >> 1),
    ("where_ss", lambda m, x: m.where(x > 2, 1, 2.5)),
    ("where_si", lambda m, x: m.where(x > 2, x, 0.5)),
    ("where_ii", lambda m, x: m.where(x > 2, 1, 2)), ("clamp_f", lambda m, x: m.clamp(x, 0.5, 3)),
    ("xlogy_s", lambda m, x: m.xlogy(2, x)), ("copysign_s", lambda m, x: m.copysign(x, -1)),
    ("float_power", lambda m, x: m.float_power(x, 2)), ("square", lambda m, x: m.square(x)),
    ("true_div_s", lambda m, x: m.true_divide(x, 2)),
    ("rsub_f", lambda m, x: m.rsub(x, 1, alpha=2)),
]


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool", "float32", "float64"])
@pytest.mark.parametrize("name,f", SCALAR_FORMS, ids=[s[0] for s in SCALAR_FORMS])
def test_scalar_operands(name, f, dtype):
    v = np.array([1, 2, 3, 5]).astype(dtype)
    same_behaviour(*both(f), v)


def test_zero_dim_tensor_promotion():
    # a 0-d float64 tensor does not raise a float32 tensor's dtype; an int tensor becomes float
    x = ember.ones(3)
    assert (x + ember.tensor(2.0, dtype=ember.float64)).dtype is ember.float32
    assert (ember.ones(3, dtype=ember.int64) * ember.tensor(2.5)).dtype is ember.float32
    assert (ember.ones(3, dtype=ember.int32) + 2).dtype is ember.int32
    assert (2 ** ember.tensor([1, 2])).dtype is ember.int64
    assert (ember.tensor([1, 2]) / ember.tensor([2, 2])).dtype is ember.float32
    assert (ember.tensor([1, 2]) // 2).dtype is ember.int64


def test_int_pow_negative_tensor_exponent():
    check_op(*both(lambda m, a, b: a ** b),
             [ember.tensor([1, -1, 2, -2, 0]), ember.tensor([-1, -3, -1, -2, 2])], grad=False)


# ---------------------------------------------------------------------------------------
# comparisons and logic
CMP = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
       "not_equal"]


@pytest.mark.parametrize("name", CMP)
def test_comparisons(name):
    a = make((2, 3), "frac", requires_grad=True)
    b = ember.tensor(np.round(a.detach().numpy()[0]))     # some equal elements
    r = getattr(ember, name)(a, b)
    assert r.dtype is ember.bool and not r.requires_grad
    check_op(*both(lambda m, x, y: getattr(m, name)(x, y)), [a, b], grad=False)
    check_op(*both(lambda m, x: getattr(m, name)(x, 1.0)), [a], grad=False)
    check_op(*both(lambda m, x: getattr(x, name)(0.35)), [a], grad=False)


def test_comparison_nan_and_mixed_dtypes():
    a = ember.tensor([math.nan, 1.0, 2.0])
    check_op(*both(lambda m, x: x == x), [a], grad=False)
    check_op(*both(lambda m, x: x != x), [a], grad=False)
    check_op(*both(lambda m, x, y: x < y), [ember.tensor([1, 2, 3]), ember.tensor([1.5, 2.0, 2.5])],
             grad=False)
    check_op(*both(lambda m, x: x == 1.5), [ember.tensor([1, 2])], grad=False)


def test_equal_allclose_isclose():
    a = ember.tensor([1.0, 2.0, math.inf, math.nan])
    b = ember.tensor([1.0 + 1e-9, 2.1, math.inf, math.nan])
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.1}, {"atol": 0.2, "rtol": 0}):
        check_op(*both(lambda m, x, y: m.isclose(x, y, **kw)), [a, b], grad=False)
        assert ember.allclose(a[:2], b[:2], **kw) == torch.allclose(
            torch.tensor(a[:2].numpy()), torch.tensor(b[:2].numpy()), **kw)
    assert ember.allclose(a, a, equal_nan=True) and not ember.allclose(a, a)
    i = ember.tensor([100, 200])
    check_op(*both(lambda m, x, y: m.isclose(x, y, rtol=0.01)), [i, ember.tensor([101, 203])],
             grad=False)
    assert ember.equal(ember.tensor([1, 2]), ember.tensor([1.0, 2.0]))
    assert not ember.equal(ember.tensor([1, 2]), ember.tensor([1, 2, 3]))
    assert not ember.equal(a, a)
    assert a.equal(ember.tensor([1.0, 2.0, math.inf, math.nan])) is False
    assert isinstance(ember.equal(i, i), bool)


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
def test_logical(name):
    a = ember.tensor([0.0, 1.5, -2.0, 0.0])
    b = ember.tensor([[0], [3]])
    check_op(*both(lambda m, x, y: getattr(m, name)(x, y)), [a, b], grad=False)
    check_op(*both(lambda m, x: m.logical_not(x)), [a], grad=False)


def test_shifts_out_of_range():
    a = np.array([1, -2, 3, -128, 127], np.int8)
    for s in (0, 1, 7, 8, 9, -1, 70):
        for f in (lambda m, x: x << s, lambda m, x: x >> s):
            check_op(*both(f), [ember.tensor(a)], grad=False)
    u = np.array([1, 200, 3], np.uint8)
    for s in (1, 7, 8, 9):
        check_op(*both(lambda m, x: m.bitwise_right_shift(x, s)), [ember.tensor(u)], grad=False)
        check_op(*both(lambda m, x: m.bitwise_left_shift(x, s)), [ember.tensor(u)], grad=False)
    check_op(*both(lambda m, x: m.bitwise_left_shift(1, x)), [ember.tensor([1, 2, 3])],
             grad=False)


# ---------------------------------------------------------------------------------------
# in-place forms
INPLACE = [
    ("add_", lambda x: x.add_(0.5)), ("add_alpha_", lambda x: x.add_(x * 2, alpha=0.5)),
    ("sub_", lambda x: x.sub_(1.5, alpha=2)), ("mul_", lambda x: x.mul_(2)),
    ("div_", lambda x: x.div_(3)), ("div_mode_", lambda x: x.div_(0.3, rounding_mode="floor")),
    ("pow_", lambda x: x.pow_(2)), ("float_power_", lambda x: x.float_power_(2)),
    ("exp_", lambda x: x.exp_()), ("log_", lambda x: x.abs_().log_()),
    ("sqrt_", lambda x: x.abs_().sqrt_()), ("sigmoid_", lambda x: x.sigmoid_()),
    ("tanh_", lambda x: x.tanh_()), ("neg_", lambda x: x.neg_()),
    ("clamp_", lambda x: x.clamp_(-0.3, 0.4)), ("clip_", lambda x: x.clip_(max=0.1)),
    ("clamp_min_", lambda x: x.clamp_min_(0.0)), ("lerp_", lambda x: x.lerp_(x * 3, 0.25)),
    ("addcmul_", lambda x: x.addcmul_(x + 1, x * 3, value=0.5)),
    ("addcdiv_", lambda x: x.addcdiv_(x * 2, x * 3 + 4, value=2)),
    ("round_", lambda x: x.round_(decimals=1)), ("floor_", lambda x: x.floor_()),
    ("frac_", lambda x: x.frac_()), ("sign_", lambda x: x.sign_()),
    ("remainder_", lambda x: x.remainder_(0.3)), ("fmod_", lambda x: x.fmod_(0.3)),
    ("floor_divide_", lambda x: x.floor_divide_(0.3)),
    ("arcsin_", lambda x: x.arcsin_()), ("arctan2_", lambda x: x.arctan2_(x * 0 + 1)),
    ("hypot_", lambda x: x.hypot_(x + 1)), ("xlogy_", lambda x: x.xlogy_(2.0)),
    ("copysign_", lambda x: x.copysign_(-1.0)), ("nan_to_num_", lambda x: x.nan_to_num_()),
    ("erfinv_", lambda x: x.erfinv_()), ("i0_", lambda x: x.i0_()),
    ("logit_", lambda x: x.mul_(0.5).add_(0.5).logit_()), ("rad2deg_", lambda x: x.rad2deg_()),
    ("reciprocal_", lambda x: x.reciprocal_()), ("square_", lambda x: x.square_()),
    ("eq_", lambda x: x.eq_(x * 0)), ("lt_", lambda x: x.lt_(0.2)),
    ("logical_not_", lambda x: x.logical_not_()), ("heaviside_", lambda x: x.heaviside_(x * 0)),
    ("fix_", lambda x: x.fix_()), ("absolute_", lambda x: x.absolute_()),
    ("subtract_", lambda x: x.subtract_(x * 3)), ("multiply_", lambda x: x.multiply_(x + 1)),
    ("true_divide_", lambda x: x.true_divide_(2)), ("negative_", lambda x: x.negative_()),
    ("ipow", lambda x: x.__ipow__(3)), ("iadd", lambda x: x.__iadd__(1)),
    ("imod", lambda x: x.__imod__(0.3)), ("ifloordiv", lambda x: x.__ifloordiv__(0.3)),
]
_NOGRAD_INPLACE = {"floor_divide_", "ifloordiv", "heaviside_"}


@pytest.mark.parametrize("name,f", INPLACE, ids=[i[0] for i in INPLACE])
def test_inplace(name, f):
    x = make((2, 3), "unit", seed=9)
    # values and dtype match PyTorch; the gradient flows through the in-place op
    grad = name not in _NOGRAD_INPLACE
    check_op(lambda t: f(t * 1), lambda t: f(t * 1), [x], grad=grad)
    # the tensor itself is modified and its version bumped
    y = x.detach().clone() if hasattr(x, "clone") else ember.tensor(x.detach().numpy().copy())
    v0 = y._version
    r = f(y)
    assert r is y and y._version > v0
    # a leaf that requires grad refuses in-place changes
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        f(make((2, 3), "unit"))


def test_inplace_dtype_and_shape_rules():
    i = ember.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        i.exp_()
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        i.add_(0.5)
    i.add_(2)
    assert i.tolist() == [3, 4, 5] and i.dtype is ember.int64
    f = ember.zeros(3)
    f.add_(ember.ones(3, dtype=ember.float64))
    assert f.dtype is ember.float32 and f.tolist() == [1, 1, 1]
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the "
                                           r"broadcast shape \[2, 3\]"):
        ember.zeros(3).add_(ember.ones(2, 3))
    with pytest.raises(RuntimeError, match="float_power_ has dtype Float"):
        ember.ones(3).float_power_(2)
    b = ember.tensor([True, False])
    b &= ember.tensor([True, True])
    b |= True
    assert b.tolist() == [True, True]


def test_inplace_on_saved_tensor_detected():
    x = make((3,), "real")
    y = x * 1
    z = y.sin()                     # sin saved its input
    y.mul_(2)
    z2 = ember.sigmoid(x * 1)
    z2.add_(1)                      # sigmoid saved its output: changing it must be detected
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (z.sum() + 0).backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z2.sum().backward()


def test_out_argument():
    a, b = ember.tensor([1.0, 2.0]), ember.tensor([3.0, 4.0])
    out = ember.empty(2)
    r = ember.add(a, b, out=out)
    assert r is out and out.tolist() == [4.0, 6.0]
    out = ember.empty(0)
    ember.exp(a, out=out)
    assert out.shape == (2,)
    out = ember.empty(2, dtype=ember.bool)
    ember.lt(a, b, out=out)
    assert out.tolist() == [True, True]
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        ember.mul(make((2,)), b, out=ember.empty(2))


# ---------------------------------------------------------------------------------------
# API surface
NAMES = """add sub subtract rsub mul multiply div divide true_divide floor_divide remainder fmod
pow float_power neg negative abs absolute reciprocal addcmul addcdiv lerp square positive exp exp2
expm1 log log2 log10 log1p sqrt rsqrt sin cos tan asin arcsin acos arccos atan arctan atan2 arctan2
sinh cosh tanh asinh arcsinh acosh arccosh atanh arctanh sigmoid logit erf erfc erfinv sign sgn
floor ceil round trunc fix frac clamp clip clamp_min clamp_max where maximum minimum fmax fmin
nan_to_num isnan isinf isposinf isneginf isfinite isreal heaviside hypot logaddexp logaddexp2 xlogy
copysign deg2rad rad2deg signbit sinc i0 real imag conj conj_physical resolve_conj resolve_neg
is_conj angle eq ne lt le gt ge greater greater_equal less less_equal not_equal equal allclose
isclose logical_and logical_or logical_not logical_xor bitwise_and bitwise_or bitwise_xor
bitwise_not bitwise_left_shift bitwise_right_shift""".split()


def test_api_surface_matches_torch():
    for n in NAMES:
        assert hasattr(ember, n), n
        assert hasattr(ember.Tensor, n) == hasattr(torch.Tensor, n), n
        assert hasattr(ember.Tensor, n + "_") == hasattr(torch.Tensor, n + "_"), n + "_"


def test_grad_fn_names():
    x = make((3,), "pos")
    for f, name in [(lambda t: t + 1, "AddBackward0"), (lambda t: t * t, "MulBackward0"),
                    (lambda t: t ** 2, "PowBackward0"), (lambda t: t ** t, "PowBackward1"),
                    (lambda t: 2 ** t, "PowBackward2"), (lambda t: t.clamp(0, 1), "ClampBackward1"),
                    (lambda t: t.clamp(min=t), "ClampBackward0"),
                    (lambda t: t.clamp_min(0.2), "ClampMinBackward0"),
                    (lambda t: ember.maximum(t, t), "MaximumBackward0"),
                    (lambda t: ember.where(t > 1, t, 0.0), "WhereBackward0"),
                    (lambda t: t.sub(t, alpha=2), "SubBackward0"),
                    (lambda t: t.lerp(t, 0.5), "LerpBackward0"),
                    (lambda t: t.sigmoid(), "SigmoidBackward0")]:
        assert f(x).grad_fn.name() == name


def test_comparisons_with_inference_mode():
    with ember.inference_mode():
        r = ember.ones(2) > 0
    assert r.is_inference()


DIRECT = [
    ("add_", lambda x, y: x.add_(y)), ("add_alpha", lambda x, y: x.add_(y, alpha=-0.5)),
    ("add_scalar", lambda x, y: x.add_(3)), ("sub_", lambda x, y: x.sub_(y, alpha=2)),
    ("mul_", lambda x, y: x.mul_(y)), ("mul_scalar", lambda x, y: x.mul_(0.9)),
    ("div_", lambda x, y: x.div_(y + 3)),
    ("div_floor", lambda x, y: x.div_(y + 3, rounding_mode="floor")),
    ("addcmul_", lambda x, y: x.addcmul_(y, y, value=0.1)),
    ("addcdiv_", lambda x, y: x.addcdiv_(y, y * y + 1, value=-0.5)),
    ("lerp_lo", lambda x, y: x.lerp_(y, 0.1)), ("lerp_hi", lambda x, y: x.lerp_(y, 0.9)),
    ("lerp_t", lambda x, y: x.lerp_(y, y * 0 + 0.3)),
    ("clamp_", lambda x, y: x.clamp_(-0.2, 0.3)), ("clamp_t", lambda x, y: x.clamp_(min=y)),
    ("clamp_nan", lambda x, y: x.clamp_(min=math.nan)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,f", DIRECT, ids=[d[0] for d in DIRECT])
def test_inplace_without_graph(name, f, dtype):
    """The optimizers' in-place forms (written straight into memory when nothing is
    recorded) agree with PyTorch, also for a leaf requiring grad under no_grad."""
    x, y = make((2, 3), "real", dtype, seed=1), make((3,), "real", dtype, seed=2)
    tx, ty = torch.from_numpy(x.detach().numpy().copy()), torch.from_numpy(y.detach().numpy())
    view = x[0]
    with ember.no_grad():
        v0 = x._version
        assert f(x, y) is x and x._version == v0 + 1
    with torch.no_grad():
        f(tx, ty)
    assert_close(x.detach(), tx)
    assert_close(view.detach(), tx[0])                 # views see the write
    if name not in ("add_scalar", "mul_scalar", "clamp_", "clamp_nan"):   # these ignore y
        with pytest.raises(RuntimeError, match=r"doesn't match the broadcast shape"):
            with ember.no_grad():
                f(ember.zeros(3, dtype=x.dtype), ember.ones(2, 3, dtype=x.dtype))


def test_inplace_saved_tensor_semantics():
    """As in PyTorch: the in-place op's own use of the original self is kept; the same tensor
    in another role (x.mul_(x)), or a saved output changed afterwards, is detected."""
    for L in (ember, torch):
        t = L.tensor([0.5, 1.5], dtype=L.float64, requires_grad=True)
        y = t * 1
        y.sin_()                                   # backward needs the original y
        y.sum().backward()
        assert np.allclose(t.grad.numpy(), np.cos([0.5, 1.5]))
        y = t * 1
        y.mul_(y)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
        y = t * 1
        y.exp_()                                   # saves its result: y itself
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
        y = t * 1
        y.float_power_(2)
        y.sum().backward()


def test_inplace_on_inference_tensor_outside_inference_mode():
    for L in (ember, torch):
        with L.inference_mode():
            y = L.ones(2) * 2
        for f in (lambda: y.add_(1), lambda: y.mul_(2), lambda: y.addcdiv_(y, y),
                  lambda: y.exp_(), lambda: y.clamp_(0, 1)):
            with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside "
                                                   "InferenceMode is not allowed"):
                f()
