"""Errors of the elementwise operations: PyTorch's exception types, with messages that name
the argument, the dtypes or the shapes. Each case also runs on PyTorch, which must raise the
same type (and, where the message is PyTorch's own, match it too)."""
import numpy as np
import pytest

import ember
from oracle import requires_torch, torch

pytestmark = requires_torch

f32 = np.array([1.0, 2.0], np.float32)
f64 = np.array([1.0, 2.0])
i64 = np.array([1, 2])
b = np.array([True, False])
c64 = np.array([1 + 1j, 2j], np.complex64)
m23 = np.ones((2, 3), np.float32)
m3 = np.ones(3, np.float32)
m2 = np.ones(2, np.float32)

# (id, f(lib, *tensors), arrays, exception, message regex, torch's message matches too)
CASES = [
    ("bitwise_and_float", lambda m, x: m.bitwise_and(x, x), [f32], NotImplementedError,
     r'"bitwise_and_cpu" not implemented for \'Float\'', True),
    ("and_float_scalar", lambda m, x: x & 1, [f32], NotImplementedError,
     r'"bitwise_and_cpu" not implemented for \'Float\'', True),
    ("bitwise_or_double", lambda m, x: x | x, [f64], NotImplementedError,
     r"\"bitwise_or_cpu\" not implemented for 'Double'", True),
    ("xor_float", lambda m, x: m.bitwise_xor(x, x), [f32], NotImplementedError,
     "bitwise_xor_cpu", True),
    ("bitwise_not_float", lambda m, x: m.bitwise_not(x), [f32], NotImplementedError,
     r'"bitwise_not_cpu" not implemented for \'Float\'', True),
    ("lshift_float", lambda m, x: x << 1, [f32], NotImplementedError, "lshift_cpu", True),
    ("rshift_float", lambda m, x: m.bitwise_right_shift(x, 1), [f32], NotImplementedError,
     "rshift_cpu", True),
    ("sub_bools", lambda m, x: x - x, [b], RuntimeError,
     r"Subtraction, the `-` operator, with two bool tensors is not supported", True),
    ("sub_bool_scalar", lambda m, x: x - True, [b], RuntimeError, "two bool tensors", True),
    ("sub_float_bool", lambda m, x, y: x - y, [f32, b], RuntimeError,
     r"with a bool tensor is not supported. If you are trying to invert a mask", True),
    ("rsub_bool", lambda m, x: 1 - x, [b], RuntimeError, "with a bool tensor", True),
    ("neg_bool", lambda m, x: -x, [b], RuntimeError,
     r"Negation, the `-` operator, on a bool tensor is not supported", True),
    ("positive_bool", lambda m, x: m.positive(x), [b], RuntimeError,
     r"The `\+` operator, on a bool tensor is not supported", True),
    ("abs_bool", lambda m, x: m.abs(x), [b], NotImplementedError,
     r"\"abs_cpu\" not implemented for 'Bool'", True),
    ("clamp_no_bounds", lambda m, x: m.clamp(x), [f32], RuntimeError,
     r"torch.clamp: At least one of 'min' or 'max' must not be None", True),
    ("clip_no_bounds", lambda m, x: x.clip(), [f32], RuntimeError, "At least one of 'min'", True),
    ("clamp_complex", lambda m, x: m.clamp(x, 0, 1), [c64], NotImplementedError,
     "clamp is not supported for complex types", True),
    ("int_pow_negative", lambda m, x: x ** -1, [i64], RuntimeError,
     "Integers to negative integer powers are not allowed", True),
    ("int_pow_negative_fn", lambda m, x: m.pow(x, -2), [i64], RuntimeError,
     "Integers to negative integer powers", True),
    ("pow_bools", lambda m, x: x ** x, [b], NotImplementedError, "not implemented for 'Bool'",
     True),
    ("lerp_end_dtype", lambda m, x, y: m.lerp(x, y, 0.5), [f32, f64], RuntimeError,
     "expected dtype float for `end` but got dtype double", True),
    ("lerp_weight_dtype", lambda m, x, w: m.lerp(x, x, w), [f32, f64], RuntimeError,
     "expected dtype float for `weight` but got dtype double", True),
    ("lerp_int", lambda m, x: m.lerp(x, x, 0.5), [i64], NotImplementedError,
     r"\"lerp_kernel_scalar\" not implemented for 'Long'", True),
    ("isclose_dtypes", lambda m, x, y: m.isclose(x, y), [f32, f64], RuntimeError,
     "Float did not match Double", True),
    ("allclose_dtypes", lambda m, x, y: m.allclose(x, y), [i64, f32], RuntimeError,
     "Long did not match Float", True),
    ("isclose_rtol", lambda m, x: m.isclose(x, x, rtol=-1), [f32], RuntimeError,
     "rtol must be greater than or equal to zero, but got -1", True),
    ("isclose_atol", lambda m, x: m.isclose(x, x, atol=-0.5), [f32], RuntimeError,
     "atol must be greater than or equal to zero, but got -0.5", True),
    ("where_float_cond", lambda m, c, x: m.where(c, x, x), [f32, f32], RuntimeError,
     "where expected condition to be a boolean tensor, but got a tensor with dtype Float", True),
    ("broadcast_add", lambda m, x, y: x + y, [m2, m3], RuntimeError,
     r"The size of tensor a \(2\) must match the size of tensor b \(3\) at non-singleton "
     r"dimension 0", True),
    ("broadcast_mul_3d", lambda m, x, y: x * y, [m23, np.ones((4, 1, 2), np.float32)],
     RuntimeError, r"tensor a \(3\) must match the size of tensor b \(2\) at non-singleton "
     r"dimension 2", True),
    ("broadcast_maximum", lambda m, x, y: m.maximum(x, y), [m2, m3], RuntimeError,
     "must match the size of tensor b", True),
    ("broadcast_lt", lambda m, x, y: x < y, [m2, m3], RuntimeError,
     "must match the size of tensor b", True),
    ("broadcast_atan2", lambda m, x, y: m.atan2(x, y), [m2, m3], RuntimeError,
     "must match the size", True),
    ("maximum_scalar", lambda m, x: m.maximum(x, 2), [f32], TypeError,
     r"maximum\(\): argument 'other' \(position 2\) must be Tensor, not int", True),
    ("fmin_scalar", lambda m, x: m.fmin(x, 2.0), [f32], TypeError,
     r"fmin\(\): argument 'other' \(position 2\) must be Tensor, not float", True),
    ("hypot_scalar_first", lambda m, x: m.hypot(2, x), [f32], TypeError,
     r"hypot\(\): argument 'input' \(position 1\) must be Tensor, not int", True),
    ("atan2_scalar", lambda m, x: m.atan2(x, 2), [f32], TypeError, "atan2", True),
    ("logaddexp_scalar", lambda m, x: m.logaddexp(x, 2), [f32], TypeError, "logaddexp", True),
    ("heaviside_scalar", lambda m, x: m.heaviside(x, 2), [f32], TypeError,
     r"heaviside\(\): argument 'values' \(position 2\) must be Tensor, not int", True),
    ("heaviside_dtypes", lambda m, x, y: m.heaviside(x, y), [f32, f64], RuntimeError,
     "heaviside is not yet implemented for tensors with different dtypes", True),
    ("logical_xor_scalar", lambda m, x: m.logical_xor(x, 0), [f32], TypeError,
     "logical_xor", True),
    ("exp_of_float", lambda m: m.exp(2.0), [], TypeError,
     r"exp\(\): argument 'input' \(position 1\) must be Tensor, not float", True),
    ("fmod_scalar_first", lambda m, x: m.fmod(2.0, x), [f32], TypeError, "fmod", False),
    ("div_bad_mode", lambda m, x: m.div(x, 2, rounding_mode="round"), [f32], RuntimeError,
     "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found 'round'",
     True),
    ("int_floordiv_zero", lambda m, x: x // 0, [i64], RuntimeError, "ZeroDivisionError", True),
    ("int_remainder_zero", lambda m, x, y: x % (y - y), [i64, i64], RuntimeError,
     "ZeroDivisionError", True),
    ("int_fmod_zero", lambda m, x: m.fmod(x, 0), [i64], RuntimeError, "ZeroDivisionError", True),
    ("int_div_trunc_zero", lambda m, x: m.div(x, 0, rounding_mode="trunc"), [i64],
     RuntimeError, "ZeroDivisionError", True),
    ("floordiv_bool", lambda m, x: x // x, [b], NotImplementedError, "div_floor_cpu", True),
    ("remainder_complex", lambda m, x: x % 2, [c64], NotImplementedError, "remainder_cpu",
     True),
    ("addcdiv_ints", lambda m, x: m.addcdiv(x, x, x), [i64], RuntimeError,
     "Integer division with addcdiv is no longer supported", True),
    ("addcmul_bool", lambda m, x: m.addcmul(x, x, x), [b], NotImplementedError,
     "not implemented for 'Bool'", True),
    ("alpha_float_int", lambda m, x: m.add(x, x, alpha=0.5), [i64], RuntimeError,
     "For integral input tensors, argument alpha must not be a floating point number", True),
    ("alpha_bool", lambda m, x: m.add(x, x, alpha=True), [f32], RuntimeError,
     "Boolean alpha only supported for Boolean results", True),
    ("imag_of_real", lambda m, x: x.imag, [f32], RuntimeError,
     "imag is not implemented for tensors with non-complex dtypes", True),
    ("sign_complex", lambda m, x: m.sign(x), [c64], NotImplementedError,
     "torch.sign is not intended to support complex numbers. Please use torch.sgn", False),
    ("floor_complex", lambda m, x: m.floor(x), [c64], NotImplementedError,
     "floor is not supported for complex inputs", True),
    ("floor_bool", lambda m, x: m.floor(x), [b], NotImplementedError,
     "not implemented for 'Bool'", True),
    ("round_decimals_int", lambda m, x: m.round(x, decimals=1), [i64], NotImplementedError,
     r"\"round_cpu\" not implemented for 'Long'", True),
    ("frac_int", lambda m, x: m.frac(x), [i64], NotImplementedError,
     r"\"frac_cpu\" not implemented for 'Long'", True),
    ("hypot_int", lambda m, x: m.hypot(x, x), [i64], NotImplementedError,
     r"\"hypot_cpu\" not implemented for 'Long'", True),
    ("logaddexp_int", lambda m, x: m.logaddexp(x, x), [i64], NotImplementedError,
     r"\"logaddexp_cpu\" not implemented for 'Long'", True),
    ("maximum_complex", lambda m, x: m.maximum(x, x), [c64], RuntimeError,
     "maximum not implemented for complex tensors", True),
    ("lt_complex", lambda m, x: x < x, [c64], NotImplementedError, "not implemented for "
     "'ComplexFloat'", True),
    ("erf_complex", lambda m, x: m.erf(x), [c64], NotImplementedError,
     "not implemented for 'ComplexFloat'", True),
    ("atan2_complex", lambda m, x: m.atan2(x, x), [c64], NotImplementedError,
     r"\"atan2_cpu\" not implemented for 'ComplexFloat'", True),
    ("eq_none", lambda m, x: m.eq(x, None), [f32], TypeError, "NoneType", True),
    ("inplace_int_exp", lambda m, x: x.exp_(), [i64], RuntimeError,
     "result type Float can't be cast to the desired output type Long", True),
    ("inplace_int_div", lambda m, x: x.div_(2), [i64], RuntimeError,
     "result type Float can't be cast to the desired output type Long", True),
    ("inplace_broadcast", lambda m, x, y: x.mul_(y), [m3, m23], RuntimeError,
     r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]", True),
    ("inplace_bool_add", lambda m, x: x.add_(1), [b], RuntimeError,
     "result type Long can't be cast to the desired output type Bool", True),
    ("float_power_inplace", lambda m, x: x.float_power_(2), [f32], RuntimeError,
     "the base given to float_power_ has dtype Float but the operation's result requires "
     "dtype Double", True),
]


@pytest.mark.parametrize("name,f,arrays,exc,msg,torch_msg", CASES, ids=[c[0] for c in CASES])
def test_error(name, f, arrays, exc, msg, torch_msg):
    with pytest.raises(exc, match=msg if torch_msg else None):
        f(torch, *[torch.from_numpy(a.copy()) for a in arrays])
    with pytest.raises(exc, match=msg):
        f(ember, *[ember.tensor(a.copy()) for a in arrays])


def test_leaf_inplace_refused():
    for f in (lambda x: x.add_(1), lambda x: x.exp_(), lambda x: x.clamp_(0, 1),
              lambda x: x.mul_(2), lambda x: x.addcmul_(x, x)):
        x = ember.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being "
                                               "used in an in-place operation"):
            f(x)
        with ember.no_grad():                 # allowed without grad mode
            f(x)


def test_non_differentiable_backward_raises():
    x = ember.tensor([1.5, 2.5], requires_grad=True)
    for f, what in [(lambda t: t // 2, "floor_divide"), (lambda t: ember.heaviside(t, t),
                                                         "heaviside"),
                    (lambda t: 3.0 % t, "remainder")]:
        y = f(x)
        assert y.requires_grad
        with pytest.raises(RuntimeError, match=f"derivative for aten::{what} is not "
                                               "implemented"):
            y.sum().backward()


def test_uint8_condition_warns():
    c = ember.tensor([1, 0], dtype=ember.uint8)
    with pytest.warns(UserWarning, match="where received a uint8 condition tensor"):
        r = ember.where(c, ember.ones(2), ember.zeros(2))
    assert r.tolist() == [1.0, 0.0]


def test_out_errors():
    with pytest.raises(RuntimeError, match="out=... arguments don't support automatic "
                                           "differentiation"):
        ember.exp(ember.ones(2, requires_grad=True), out=ember.empty(2))
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the "
                                           r"broadcast shape \[2\]"):
        ember.add(ember.ones(2), 1, out=ember.empty(3))


def test_no_numpy_warnings():
    """PyTorch never warns about floating-point exceptions; neither does ember."""
    import warnings
    x = ember.tensor([0.0, -1.0, 1e30, float("inf"), float("nan")], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ys = [ember.log(x), ember.sqrt(x), 1 / x, x * x * x, x - x, ember.exp(x * 100),
              ember.acos(x), ember.atanh(x), x ** -1.5, ember.logit(x), ember.erfinv(x),
              ember.xlogy(x, x), ember.remainder(x, 0.0), ember.fmod(x, 0.0),
              ember.sigmoid(-x * 1e10), ember.rsqrt(x), ember.reciprocal(x), ember.erf(x),
              ember.i0(x), ember.sinc(x), ember.atan2(x, x), ember.hypot(x, x),
              ember.logaddexp(x, -x), ember.angle(x), ember.copysign(x, -x)]
        x.detach() // 0.0
        for y in ys:
            ember.autograd.grad(y, x, ember.ones_like(y), retain_graph=True)
