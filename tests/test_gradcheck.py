"""ember.autograd.gradcheck / gradgradcheck as tools for users: they pass on correct
gradients (a table of ops, multiple inputs and outputs, non-tensor and non-contiguous
inputs), and fail with GradcheckError and a useful message on wrong first or second
derivatives, on non-reentrant backward, and on gradients that should be zero; plus their
argument errors and warnings, checked against torch.autograd.gradcheck's behaviour.
"""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import GradcheckError, gradcheck, gradgradcheck
from oracle import requires_torch, torch

RNG = np.random.default_rng(3)


def t64(*shape, low=-1.0, high=1.0, requires_grad=True):
    return ember.tensor(RNG.uniform(low, high, size=shape), requires_grad=requires_grad)


# ------------------------------------------------------------------------------ passing
PASSING = {
    "mul_div_broadcast": (lambda a, b: a * b / (b * b + 1), [(2, 3), (3,)]),
    "sub_neg": (lambda a, b: -(a - b), [(2, 3), (2, 1)]),
    "tanh_exp": (lambda a: ember.tanh(a) * ember.exp(a), [(2, 3)]),
    "matmul": (lambda a, b: a @ b, [(2, 3), (3, 2)]),
    "sum_mean": (lambda a: (a.sum(0) * a.mean(1, keepdim=True)), [(2, 3)]),
    "views": (lambda a: a.t().reshape(3, 2).permute(1, 0)[1:, ::2].expand(3, 1, 2) * 2,
              [(2, 3)]),
    "getitem_advanced": (lambda a: a[[0, 1, 1], [2, 0, 2]] * a[:, 1].sum(), [(2, 3)]),
    "zero_dim": (lambda a, b: a * b, [(), (2,)]),
    "two_outputs": (lambda a, b: (a * b, (a * a).sum()), [(2, 2), (2, 2)]),
}


@pytest.mark.parametrize("name", list(PASSING))
def test_gradcheck_and_gradgradcheck_pass(name):
    fn, shapes = PASSING[name]
    inputs = tuple(t64(*s) for s in shapes)
    assert gradcheck(fn, inputs) is True
    assert gradgradcheck(fn, inputs) is True


def test_non_tensor_and_non_differentiable_inputs_pass_through():
    x = t64(2, 3)
    c = t64(2, 3, requires_grad=False)
    assert gradcheck(lambda a, n, k: a * n + k * a, (x, 3, c))
    assert gradgradcheck(lambda a, n, k: a * a * n + k, (x, 2.5, c))


def test_non_contiguous_input():
    x = t64(3, 2).t()                       # a transposed view
    assert not x.is_contiguous()
    assert gradcheck(lambda a: a * a, (x,))


def test_outputs_that_do_not_require_grad():
    x = t64(2)
    assert gradcheck(lambda a: (a * 2, ember.ones(2, dtype=ember.float64)), (x,))


# ------------------------------------------------------------------------------ failing
class WrongGrad(ember.autograd.Function):
    """x * x with a wrong gradient (3 g instead of 2 x g)."""
    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, g):
        return g * 3


class WrongSecond(ember.autograd.Function):
    """x ** 3 with a right first derivative whose own derivative is wrong: backward uses a
    saved value outside the graph (detached), so the second derivative misses a term."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x.detach() * x.detach()


class Noisy(ember.autograd.Function):
    """A right gradient plus tiny random noise: not reentrant."""
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2 + ember.tensor(np.random.default_rng().uniform(0, 1e-9, g.shape))


def test_wrong_gradient_raises_with_useful_message():
    x = t64(2, 3)
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongGrad.apply, (x,))
    msg = str(info.value)
    assert "Jacobian mismatch for output 0 with respect to input 0" in msg
    assert "numerical:" in msg and "analytical:" in msg
    assert "largest difference" in msg
    assert isinstance(info.value, RuntimeError)
    assert gradcheck(WrongGrad.apply, (x,), raise_exception=False) is False


def test_mismatch_names_the_right_output_and_input():
    a, b = t64(2), t64(2)
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 1 with respect to "
                                             "input 1"):
        gradcheck(lambda p, q: (p * q, p + WrongGrad.apply(q)), (a, b))


def test_wrong_second_derivative_fails_only_gradgradcheck():
    x = t64(3)
    assert gradcheck(WrongSecond.apply, (x,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradgradcheck(WrongSecond.apply, (x,))
    assert gradgradcheck(WrongSecond.apply, (x,), raise_exception=False) is False


def test_non_reentrant_backward():
    x = t64(2, 2)
    with pytest.raises(GradcheckError, match="Backward is not reentrant.*The tolerance for "
                                             "nondeterminism was 0.0"):
        gradcheck(Noisy.apply, (x,))
    assert gradcheck(Noisy.apply, (x,), nondet_tol=1e-6)


def test_gradient_expected_to_be_zero():
    x = t64(2, 3)
    with pytest.raises(GradcheckError, match="Numerical gradient for function expected to be "
                                             "zero"):
        gradcheck(lambda a: a.detach() * 2, (x,))


# ------------------------------------------------------------------------------ arguments
def test_argument_errors_and_warnings():
    with pytest.raises(ValueError, match="gradcheck expects at least one input tensor to "
                                         "require gradient, but none of them have "
                                         "requires_grad=True"):
        gradcheck(lambda a: a * 2, (ember.ones(2, dtype=ember.float64),))
    x32 = ember.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="Input #0 requires gradient and is not a double "
                                         "precision floating point"):
        gradcheck(lambda a: a * 2, (x32,), atol=1e-2, rtol=1e-2, eps=1e-3)
    wide = ember.ones(3, dtype=ember.float64).expand(2, 3).requires_grad_()
    with pytest.raises(RuntimeError, match="The 0th input has a dimension with stride 0"):
        gradcheck(lambda a: a * 2, (wide,))
    # a single tensor instead of a tuple is accepted
    assert gradcheck(lambda a: a * a, t64(2))


def test_inputs_are_restored_after_the_check():
    x = t64(2, 3)
    before = x.detach().clone()
    gradcheck(lambda a: ember.exp(a), (x,))
    assert np.array_equal(x.detach().numpy(), before.numpy())
    assert x.grad is None                  # gradcheck does not accumulate into .grad


@requires_torch
def test_agrees_with_torch_gradcheck_verdicts():
    """The same correct and wrong Functions get the same verdict from both libraries."""
    def make(L, wrong):
        class F(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return g * (3 if wrong else 2) * x
        return F

    arr = RNG.uniform(-1, 1, (2, 2))
    for wrong in (False, True):
        verdicts = []
        for L in (ember, torch):
            x = L.tensor(arr, requires_grad=True)
            verdicts.append(L.autograd.gradcheck(make(L, wrong).apply, (x,),
                                                 raise_exception=False))
        assert verdicts == [not wrong, not wrong]
