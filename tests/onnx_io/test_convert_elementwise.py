"""Export of the elementwise ops (ember/onnx/converters/elementwise.py): each op in a tiny
module, exported at opset 13 and at the default opset, run with onnxruntime and compared
with ember (float32, and int64/bool where the op takes them; broadcasting operands; a
dynamic batch axis). Also: the ops that used to wrap NumPy results directly (comparisons,
predicates, integer rounding copies) are now traced, and the functions whose output shape
depends on the values refuse to be traced."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.onnx.errors import OnnxExporterError, TracingError
from onnx_io.onnx_check import Fn, OPSETS, check_export, op_types, requires_onnx

pytestmark = requires_onnx


def _rng(seed=0):
    return np.random.default_rng(seed)


def f32(*shape, lo=-2.0, hi=2.0, seed=0):
    return ember.tensor(_rng(seed).uniform(lo, hi, size=shape).astype(np.float32))


def i64(*shape, lo=-5, hi=6, seed=0, nonzero=False):
    a = _rng(seed).integers(lo, hi, size=shape).astype(np.int64)
    if nonzero:
        a[a == 0] = 1
    return ember.tensor(a)


def bools(*shape, seed=0):
    return ember.tensor(_rng(seed).random(shape) < 0.5)


def pos(*shape, seed=0):
    return f32(*shape, lo=0.1, hi=3.0, seed=seed)


def unit(*shape, seed=0):
    return f32(*shape, lo=-0.95, hi=0.95, seed=seed)


X, Y = f32(3, 4), f32(4, seed=1)       # Y broadcasts against X
NZ = f32(3, 4, seed=2)
NZ = ember.where(NZ.abs() < 0.1, NZ + 0.5, NZ)    # divisors away from 0

# (id, function, inputs)
FLOAT_CASES = [
    ("add", lambda a, b: a + b, (X, Y)),
    ("add_scalar", lambda a: a + 1.5, (X,)),
    ("radd_int", lambda a: 2 + a, (X,)),
    ("add_alpha", lambda a, b: ember.add(a, b, alpha=0.5), (X, Y)),
    ("sub", lambda a, b: a - b, (X, Y)),
    ("sub_alpha", lambda a, b: ember.sub(a, b, alpha=2.0), (X, Y)),
    ("rsub", lambda a: 1.0 - a, (X,)),
    ("mul", lambda a, b: a * b, (X, Y)),
    ("mul_scalar", lambda a: a * 3.0, (X,)),
    ("div", lambda a, b: a / b, (X, NZ)),
    ("div_scalar", lambda a: a / 4.0, (X,)),
    ("rdiv", lambda a: 2.0 / a, (NZ,)),
    ("div_trunc", lambda a, b: ember.div(a, b, rounding_mode="trunc"), (X * 3, NZ)),
    ("div_floor", lambda a, b: ember.div(a, b, rounding_mode="floor"), (X * 3, NZ)),
    ("floor_divide", lambda a, b: ember.floor_divide(a, b), (X * 3, NZ)),
    ("floor_divide_tenth", lambda a: ember.floor_divide(a, 0.1), (ember.ones(2, 3),)),
    ("remainder", lambda a, b: ember.remainder(a, b), (X * 3, NZ)),
    ("remainder_scalar", lambda a: a % 0.7, (X,)),
    ("rremainder", lambda a: ember.remainder(2.5, a), (NZ,)),
    ("fmod", lambda a, b: ember.fmod(a, b), (X * 3, NZ)),
    ("neg", lambda a: -a, (X,)),
    ("abs", lambda a: a.abs(), (X,)),
    ("pow2", lambda a: a ** 2, (X,)),
    ("pow3", lambda a: a ** 3, (X,)),
    ("pow_half", lambda a: a ** 0.5, (pos(3, 4),)),
    ("pow_m1", lambda a: a ** -1, (NZ,)),
    ("pow_1_7", lambda a: a ** 1.7, (pos(3, 4),)),
    ("pow_tensor", lambda a, b: a ** b, (pos(3, 4), Y)),
    ("rpow", lambda a: 2.0 ** a, (X,)),
    ("square", lambda a: ember.square(a), (X,)),
    ("exp", ember.exp, (X,)),
    ("exp2", ember.exp2, (X,)),
    ("expm1", ember.expm1, (X,)),
    ("log", ember.log, (pos(3, 4),)),
    ("log2", ember.log2, (pos(3, 4),)),
    ("log10", ember.log10, (pos(3, 4),)),
    ("log1p", ember.log1p, (pos(3, 4),)),
    ("sqrt", ember.sqrt, (pos(3, 4),)),
    ("rsqrt", ember.rsqrt, (pos(3, 4),)),
    ("reciprocal", ember.reciprocal, (NZ,)),
    ("sin", ember.sin, (X,)), ("cos", ember.cos, (X,)), ("tan", ember.tan, (unit(3, 4),)),
    ("asin", ember.asin, (unit(3, 4),)), ("acos", ember.acos, (unit(3, 4),)),
    ("atan", ember.atan, (X,)), ("sinh", ember.sinh, (X,)), ("cosh", ember.cosh, (X,)),
    ("tanh", ember.tanh, (X,)), ("asinh", ember.asinh, (X,)),
    ("acosh", ember.acosh, (pos(3, 4) + 1,)), ("atanh", ember.atanh, (unit(3, 4),)),
    ("sigmoid", ember.sigmoid, (X,)),
    ("erf", ember.erf, (X,)), ("erfc", ember.erfc, (X,)),
    ("deg2rad", ember.deg2rad, (X * 90,)), ("rad2deg", ember.rad2deg, (X,)),
    ("sinc", ember.sinc, (ember.cat([X.reshape(-1), ember.zeros(1)]),)),
    ("logit", lambda a: ember.logit(a), (f32(3, 4, lo=0.05, hi=0.95),)),
    ("logit_eps", lambda a: ember.logit(a, eps=0.1), (f32(3, 4, lo=0.0, hi=1.0),)),
    ("floor", ember.floor, (X * 3,)), ("ceil", ember.ceil, (X * 3,)),
    ("trunc", ember.trunc, (X * 3,)), ("frac", ember.frac, (X * 3,)),
    ("round", ember.round, (X * 3,)),
    ("round_half_even", ember.round, (ember.tensor([0.5, 1.5, 2.5, -0.5, -1.5]),)),
    ("round_decimals", lambda a: ember.round(a, decimals=2), (X * 3,)),
    ("round_neg_decimals", lambda a: ember.round(a, decimals=-1), (X * 300,)),
    ("sign", ember.sign, (ember.cat([X.reshape(-1), ember.zeros(2)]),)),
    ("clamp", lambda a: a.clamp(-0.5, 0.75), (X,)),
    ("clamp_min", lambda a: a.clamp(min=0.0), (X,)),
    ("clamp_max", lambda a: a.clamp(max=0.3), (X,)),
    ("clamp_tensor", lambda a, b: ember.clamp(a, min=b), (X, Y)),
    ("clamp_tensor_both", lambda a, b: ember.clamp(a, min=b, max=b + 0.5), (X, Y)),
    ("where", lambda a, b: ember.where(a > 0, a, b), (X, Y)),
    ("where_scalar", lambda a: ember.where(a > 0, a, 0.0), (X,)),
    ("maximum", ember.maximum, (X, Y)), ("minimum", ember.minimum, (X, Y)),
    ("fmax", ember.fmax, (ember.tensor([1.0, float("nan"), 3.0, float("nan")]),
                          ember.tensor([2.0, 1.0, float("nan"), float("nan")]))),
    ("fmin", ember.fmin, (ember.tensor([1.0, float("nan"), 3.0, float("nan")]),
                          ember.tensor([2.0, 1.0, float("nan"), float("nan")]))),
    ("atan2", ember.atan2, (ember.tensor([1.0, -1.0, 1.0, -1.0, 0.0, 2.0, -2.0, 0.5]),
                            ember.tensor([1.0, 1.0, -1.0, -1.0, 1.0, 0.0, 0.0, -3.0]))),
    ("hypot", ember.hypot, (X, Y)),
    ("logaddexp", ember.logaddexp, (X * 10, Y * 10)),
    ("logaddexp2", ember.logaddexp2, (X * 10, Y * 10)),
    ("xlogy", ember.xlogy, (ember.tensor([0.0, 1.0, 2.0, 0.0]),
                            ember.tensor([0.0, 2.0, 0.5, 3.0]))),
    ("copysign", ember.copysign, (X, ember.tensor([1.0, -1.0, 0.0, -0.0]))),
    ("heaviside", ember.heaviside, (ember.tensor([-1.0, 0.0, 2.0, 0.0]),
                                    ember.tensor([0.5, 0.25, 0.5, 0.75]))),
    ("angle", ember.angle, (X,)),
    ("lerp", lambda a, b, w: ember.lerp(a, b, w), (X, Y.expand(3, 4).contiguous(),
                                                    f32(3, 4, lo=0, hi=1, seed=5))),
    ("lerp_scalar_small", lambda a, b: ember.lerp(a, b, 0.25), (X, f32(3, 4, seed=4))),
    ("lerp_scalar_large", lambda a, b: ember.lerp(a, b, 0.75), (X, f32(3, 4, seed=4))),
    ("addcmul", lambda a, b, c: ember.addcmul(a, b, c, value=0.5), (X, Y, X)),
    ("addcdiv", lambda a, b, c: ember.addcdiv(a, b, c, value=2.0), (X, Y, NZ)),
    ("nan_to_num", lambda a: ember.nan_to_num(a),
     (ember.tensor([1.0, float("nan"), float("inf"), -float("inf")]),)),
    ("nan_to_num_values", lambda a: ember.nan_to_num(a, nan=1.0, posinf=9.0, neginf=-9.0),
     (ember.tensor([1.0, float("nan"), float("inf"), -float("inf")]),)),
    ("cast_int", lambda a: (a * 3).long(), (X,)),
    ("cast_bool", lambda a: a.bool(), (ember.tensor([0.0, 1.5, -2.0, 0.0]),)),
    ("int_to_float", lambda a: ember.exp(a), (i64(3, 4, lo=-2, hi=3),)),
]

SPECIAL = ember.tensor([1.0, float("nan"), float("inf"), -float("inf"), -0.0, 0.0, -2.5])

PREDICATE_CASES = [
    ("eq", lambda a, b: a == b, (X.round(), Y.round())),
    ("ne", lambda a, b: a != b, (X.round(), Y.round())),
    ("lt", lambda a, b: a < b, (X, Y)),
    ("le", lambda a, b: a <= b, (X.round(), Y.round())),
    ("gt", lambda a, b: a > b, (X, Y)),
    ("ge", lambda a, b: a >= b, (X.round(), Y.round())),
    ("gt_scalar", lambda a: a > 0.25, (X,)),
    ("rlt_scalar", lambda a: ember.lt(0.25, a), (X,)),
    ("eq_int", lambda a, b: a == b, (i64(3, 4, lo=0, hi=3), i64(4, lo=0, hi=3, seed=1))),
    ("lt_int_scalar", lambda a: a < 2, (i64(3, 4),)),
    ("ge_bool", lambda a, b: a >= b, (bools(3, 4), bools(4, seed=1))),
    ("isnan", ember.isnan, (SPECIAL,)), ("isinf", ember.isinf, (SPECIAL,)),
    ("isposinf", ember.isposinf, (SPECIAL,)), ("isneginf", ember.isneginf, (SPECIAL,)),
    ("isfinite", ember.isfinite, (SPECIAL,)), ("isreal", ember.isreal, (SPECIAL,)),
    ("signbit", ember.signbit, (SPECIAL.nan_to_num(),)),
    ("isnan_int", ember.isnan, (i64(3, 4),)), ("isfinite_int", ember.isfinite, (i64(3, 4),)),
    ("signbit_int", ember.signbit, (i64(3, 4),)),
    ("isclose", lambda a, b: ember.isclose(a, b, rtol=1e-2, atol=1e-3),
     (ember.tensor([1.0, 2.0, float("nan"), float("inf"), 3.0]),
      ember.tensor([1.005, 2.1, float("nan"), float("inf"), -3.0]))),
    ("isclose_equal_nan", lambda a, b: ember.isclose(a, b, equal_nan=True),
     (ember.tensor([1.0, float("nan"), 3.0]), ember.tensor([1.0, float("nan"), 3.5]))),
    ("isclose_int", lambda a, b: ember.isclose(a, b, atol=1),
     (i64(3, 4), i64(3, 4, seed=1))),
    ("logical_and", ember.logical_and, (X, Y.round())),
    ("logical_or", ember.logical_or, (bools(3, 4), bools(4, seed=1))),
    ("logical_xor", ember.logical_xor, (i64(3, 4, lo=0, hi=2), X)),
    ("logical_not", ember.logical_not, (X.round(),)),
    ("and_bool", lambda a, b: a & b, (bools(3, 4), bools(4, seed=1))),
    ("or_bool", lambda a, b: a | b, (bools(3, 4), bools(4, seed=1))),
    ("xor_bool", lambda a, b: a ^ b, (bools(3, 4), bools(4, seed=1))),
    ("not_bool", lambda a: ~a, (bools(3, 4),)),
    ("floor_int_copy", ember.floor, (i64(3, 4),)),
    ("round_int_copy", ember.round, (i64(3, 4),)),
    ("sign_bool_copy", ember.sign, (bools(3, 4),)),
    ("bucketize", lambda a: ember.bucketize(a, ember.tensor([-1.0, 0.0, 0.5, 1.5])), (X,)),
    ("bucketize_right",
     lambda a: ember.bucketize(a, ember.tensor([-1.0, 0.0, 0.5, 1.5]), right=True,
                               out_int32=True), (X.round(),)),
    ("searchsorted_batched",
     lambda s, v: ember.searchsorted(s, v, side="right"),
     (ember.sort(f32(3, 5, seed=3), dim=-1).values, f32(3, 4, seed=4))),
    ("one_hot", lambda a: nn.functional.one_hot(a, 6), (i64(3, 4, lo=0, hi=6),)),
]

INT_CASES = [
    ("add_int", lambda a, b: a + b, (i64(3, 4), i64(4, seed=1))),
    ("add_alpha_int", lambda a, b: ember.add(a, b, alpha=3), (i64(3, 4), i64(4, seed=1))),
    ("sub_int", lambda a, b: a - b, (i64(3, 4), i64(4, seed=1))),
    ("mul_int_scalar", lambda a: a * 7, (i64(3, 4),)),
    ("neg_int", lambda a: -a, (i64(3, 4),)),
    ("abs_int", lambda a: a.abs(), (i64(3, 4),)),
    ("div_trunc_int", lambda a, b: ember.div(a, b, rounding_mode="trunc"),
     (i64(3, 4, lo=-20, hi=20), i64(3, 4, seed=1, nonzero=True))),
    ("floor_divide_int", lambda a, b: a // b,
     (i64(3, 4, lo=-20, hi=20), i64(3, 4, seed=1, nonzero=True))),
    ("remainder_int", lambda a, b: a % b,
     (i64(3, 4, lo=-20, hi=20), i64(3, 4, seed=1, nonzero=True))),
    ("fmod_int", lambda a, b: ember.fmod(a, b),
     (i64(3, 4, lo=-20, hi=20), i64(3, 4, seed=1, nonzero=True))),
    ("pow_int", lambda a: a ** 3, (i64(3, 4),)),
    ("pow_int_tensor", lambda a, b: a ** b, (i64(3, 4), i64(3, 4, lo=0, hi=4, seed=1))),
    ("sign_int", ember.sign, (i64(3, 4),)),
    ("clamp_int", lambda a: a.clamp(-2, 3), (i64(3, 4),)),
    ("maximum_int", ember.maximum, (i64(3, 4), i64(4, seed=1))),
    ("where_int", lambda a, b: ember.where(a > b, a, b), (i64(3, 4), i64(4, seed=1))),
    ("add_bool", lambda a, b: a + b, (bools(3, 4), bools(4, seed=1))),
    ("mul_bool", lambda a, b: a * b, (bools(3, 4), bools(4, seed=1))),
    ("int_plus_float", lambda a: a + 0.5, (i64(3, 4),)),
    ("int32_ops", lambda a, b: (a * 3 - b) % 4 + ember.abs(b), (i64(3, 4).int(),
                                                             i64(4, seed=1).int())),
    ("float64_ops", lambda a, b: ember.sin(a) * ember.exp(b) / (b.abs() + 1) // 0.3,
     (X.double(), Y.double())),
    ("float64_compare", lambda a, b: (a > b) & ember.isfinite(a), (X.double(), Y.double())),
    ("mixed_promotion", lambda a, b: a * b + (a > 0), (i64(3, 4).int(), X)),
    ("scalar_results", lambda a: (a.sum() > 0) | (a.mean() * 2.0 + 1 < 0), (X,)),
    ("bool_times_float", lambda a, b: a * b, (bools(3, 4), X)),
]

BITWISE_CASES = [
    ("bitwise_and", lambda a, b: a & b, (i64(3, 4, lo=0, hi=64), i64(4, lo=0, hi=64, seed=1))),
    ("bitwise_or", lambda a, b: a | b, (i64(3, 4, lo=-9, hi=64), i64(4, lo=0, hi=64, seed=1))),
    ("bitwise_xor", lambda a, b: a ^ b, (i64(3, 4), i64(4, seed=1))),
    ("bitwise_not", lambda a: ~a, (i64(3, 4),)),
]

SHIFT_CASES = [
    ("left_shift", lambda a: a << 3, (i64(3, 4, lo=-100, hi=100),)),
    ("right_shift", lambda a: a >> 2, (i64(3, 4, lo=-100, hi=100),)),
    ("right_shift_sign", lambda a: a >> 63, (i64(3, 4, lo=-100, hi=100),)),
]


def _case_params(cases):
    return [pytest.param(fn, args, id=name) for name, fn, args in cases]


def flipped(args):
    """The same inputs with their elements reversed: other values from the same domain, to
    check that the graph computes its outputs (a result frozen into a constant differs)."""
    return tuple(ember.tensor(np.flip(a.numpy()).copy()) for a in args)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("fn, args", _case_params(FLOAT_CASES + INT_CASES + PREDICATE_CASES
                                                    + SHIFT_CASES))
def test_elementwise_op(fn, args, opset, tmp_path):
    check_export(Fn(fn), args, tmp_path, opset=opset, other=flipped(args))


@pytest.mark.parametrize("fn, args", _case_params(BITWISE_CASES))
def test_bitwise_integers(fn, args, tmp_path):
    """Integer bitwise ops need opset 18 (BitwiseAnd, ...); at 13 they are refused clearly."""
    proto = check_export(Fn(fn), args, tmp_path, other=flipped(args))
    assert any(t.startswith("Bitwise") for t in op_types(proto))
    with pytest.raises(OnnxExporterError, match="opset 18"):
        ember.onnx.export(Fn(fn), args, str(tmp_path / "m13.onnx"), opset_version=13)


@pytest.mark.parametrize("opset", OPSETS)
def test_dynamic_batch(opset, tmp_path):
    """A chain of elementwise ops, comparisons and predicates on a dynamic batch axis."""
    def fn(x, y):
        z = ember.where(ember.isfinite(x) & (x > y), ember.exp(x) - y, x * 0.5) + 1
        c = ember.isnan(x).long() + (x.abs() <= 1.0).long()
        return ember.clamp(z, -3.0, 3.0), c, ember.floor_divide(x * 4, y + 3)

    x = f32(2, 4)
    y = f32(4, seed=1)
    check_export(Fn(fn), (x, y), tmp_path, opset=opset, other=(f32(5, 4, seed=3), y),
                 dynamic_axes={"xs_0": {0: "batch"}}, input_names=["xs_0", "xs_1"])


def test_isnan_of_integers_follows_dynamic_batch(tmp_path):
    """Constant answers (isnan of integers) take the run-time shape of the input."""
    check_export(Fn(lambda a: ember.isnan(a) | ember.isreal(a)), i64(2, 3), tmp_path,
                 other=i64(5, 3, seed=2), dynamic_axes={"xs_0": {0: "n"}},
                 input_names=["xs_0"])


def test_comparison_is_traced_not_constant(tmp_path):
    """A comparison used to wrap a NumPy result directly; now it is an op: the exported
    graph computes it (a second trace with other values would refuse a frozen constant)."""
    proto = check_export(Fn(lambda a: (a > 0).float() * a), X, tmp_path)
    assert "Greater" in op_types(proto)


def test_unique_and_nonzero_refuse(tmp_path):
    for fn in (lambda a: ember.unique(a), lambda a: ember.nonzero(a > 0),
               lambda a: ember.bincount(a), lambda a: a.repeat_interleave(a)):
        with pytest.raises(TracingError, match="depends on the values|decide its output"):
            ember.onnx.export(Fn(fn), i64(6, lo=0, hi=4), str(tmp_path / "m.onnx"))


def test_equal_refuses_traced(tmp_path):
    with pytest.raises(TracingError, match="ember.equal"):
        ember.onnx.export(Fn(lambda a: a * float(ember.equal(a, a))), X,
                          str(tmp_path / "m.onnx"))


def test_predicates_match_numpy_and_carry_no_grad():
    x = ember.tensor([1.0, float("nan"), -0.0, float("inf")], requires_grad=True)
    for fn, ref in ((ember.isnan, np.isnan), (ember.signbit, np.signbit),
                    (lambda t: t > 0, lambda a: a > 0)):
        r = fn(x)
        assert r.grad_fn is None and not r.requires_grad
        np.testing.assert_array_equal(r.numpy(), ref(x.detach().numpy()))
