"""In-place operations and autograd, against PyTorch: the version counter, the "modified by
an inplace operation" check, in-place changes to leaves (refused with grad mode on, allowed
under no_grad), in-place arithmetic on non-leaf tensors, writes through views of non-leaf
tensors (basic, chained, transposed views), ``x[idx] = v`` (the gradient goes to ``v``, not
to the overwritten elements), ``copy_``, and the in-place error messages.

Every gradient case runs one function on both libraries (``L`` is ``ember`` or ``torch``)
and compares outputs and the gradients of all inputs.
"""
from __future__ import annotations

import numpy as np
import pytest

import ember
from oracle import assert_close, requires_torch, torch

pytestmark = requires_torch

RNG = np.random.default_rng(11)
X, W, V = RNG.uniform(-1, 1, (3, 4)), RNG.uniform(-1, 1, (3, 4)), RNG.uniform(-1, 1, (4,))


def _then(op, result):
    """Run ``op()`` (an in-place call) for its effect, return ``result()``."""
    op()
    return result()


def _ip(make, op, out=None):
    """A case: ``a = make(L, x, w, v)``, then ``op(L, a, x, w, v)`` in place, then the
    output ``out(L, a, x, w, v)`` (default: ``a``)."""
    def case(L, x, w, v):
        a = make(L, x, w, v)
        op(L, a, x, w, v)
        return a if out is None else out(L, a, x, w, v)
    return case


def times1(L, x, w, v):
    return x * 1


def zeros(L, x, w, v):
    return L.zeros(3, 4, dtype=L.float64)


CASES = {
    # in-place arithmetic on a non-leaf (some need the old value of `a` for backward)
    "add_": _ip(times1, lambda L, a, x, w, v: a.add_(w, alpha=2)),
    "mul_tensor": _ip(times1, lambda L, a, x, w, v: a.mul_(w)),
    "div_": _ip(times1, lambda L, a, x, w, v: a.div_(w * w + 1)),
    "pow_": _ip(times1, lambda L, a, x, w, v: a.pow_(2)),
    "exp_": _ip(times1, lambda L, a, x, w, v: a.exp_()),
    "tanh_": _ip(times1, lambda L, a, x, w, v: a.tanh_()),
    "sigmoid_": _ip(times1, lambda L, a, x, w, v: a.sigmoid_()),
    "sqrt_": _ip(lambda L, x, w, v: x * x + 1, lambda L, a, x, w, v: a.sqrt_()),
    "clamp_": _ip(lambda L, x, w, v: x * w, lambda L, a, x, w, v: a.clamp_(-0.3, 0.3)),
    "addcmul_": _ip(times1, lambda L, a, x, w, v: a.addcmul_(w, w, value=0.5)),
    "lerp_": _ip(times1, lambda L, a, x, w, v: a.lerp_(w, 0.3)),
    "iadd_broadcast": _ip(times1, lambda L, a, x, w, v: a.__iadd__(v)),
    "chain_of_inplace": _ip(times1, lambda L, a, x, w, v: a.mul_(w).add_(v).div_(2).exp_()),
    "masked_fill_": _ip(times1, lambda L, a, x, w, v: a.masked_fill_(w > 0, 1.0)),
    "index_add_": _ip(times1, lambda L, a, x, w, v: a.index_add_(0, L.tensor([0, 0]),
                                                                 w[:2])),
    # writes through views of a non-leaf
    "row_mul_": _ip(times1, lambda L, a, x, w, v: a[1].mul_(v)),
    "cols_add_": _ip(times1, lambda L, a, x, w, v: a[:, 1:3].add_(w[:, :2])),
    "transposed_mul_": _ip(times1, lambda L, a, x, w, v: a.t().mul_(w.t())),
    "view_of_view": _ip(times1, lambda L, a, x, w, v: a.view(4, 3)[1:][0].mul_(w[0, :3])),
    "transpose_reshape": _ip(times1, lambda L, a, x, w, v: a.t().reshape(12)[2:5].mul_(3)),
    "strided_slice": _ip(times1, lambda L, a, x, w, v: a[::2, 1::2].sub_(v[:2])),
    "view_iadd": _ip(times1, lambda L, a, x, w, v: a[1:].__iadd__(w[1:])),
    "view_zero_": _ip(times1, lambda L, a, x, w, v: a[0].zero_(), lambda L, a, x, w, v: a * w),
    "view_fill_": _ip(times1, lambda L, a, x, w, v: a[:, 0].fill_(2.0),
                      lambda L, a, x, w, v: a * w),
    "use_the_view_after": _ip(times1, lambda L, a, x, w, v: None,
                              lambda L, a, x, w, v: _then(lambda: a[0].mul_(w[0]),
                                                          lambda: a[0] * a[0])),
    "view_then_base_used": _ip(times1, lambda L, a, x, w, v: a.view(12)[3:7].mul_(v),
                               lambda L, a, x, w, v: (a * a).sum(1)),
    "disjoint_view_made_before": _ip(
        times1, lambda L, a, x, w, v: None,
        lambda L, a, x, w, v: (lambda r0, r1: _then(lambda: r0.mul_(2),
                                                    lambda: r1 * r1 + a))(a[0], a[1])),
    # x[idx] = value: the value gets the region's gradient, the overwritten elements none
    "setitem_row": _ip(times1, lambda L, a, x, w, v: a.__setitem__(0, v * 2)),
    "setitem_scalar": _ip(times1, lambda L, a, x, w, v: a.__setitem__((1, 2), 5.0)),
    "setitem_broadcast": _ip(times1, lambda L, a, x, w, v: a.__setitem__(
        (slice(None), slice(1, 3)), w[0, :2])),
    "setitem_advanced": _ip(times1, lambda L, a, x, w, v: a.__setitem__(([0, 2], [1, 3]),
                                                                        v[:2] * 2)),
    "setitem_mask_scalar": _ip(times1, lambda L, a, x, w, v: a.__setitem__(w > 0, 0.0)),
    "setitem_mask_tensor": _ip(times1, lambda L, a, x, w, v: a.__setitem__(
        w > 0, (v * 3).expand(3, 4)[w > 0])),
    "setitem_into_constant": _ip(zeros, lambda L, a, x, w, v: a.__setitem__(1, v * x[0])),
    "setitem_view_of_view": _ip(times1, lambda L, a, x, w, v: a.t()[1:].__setitem__(0, v[:3])),
    "setitem_then_setitem": _ip(times1, lambda L, a, x, w, v: (a.__setitem__(0, v),
                                                               a.__setitem__((0, 1), w[2, 2]))),
    # copy_
    "copy_from_leaf": _ip(zeros, lambda L, a, x, w, v: a.copy_(v)),
    "copy_from_nonleaf": _ip(times1, lambda L, a, x, w, v: a.copy_(w * 2)),
    "copy_into_view": _ip(times1, lambda L, a, x, w, v: a[2].copy_(v)),
    "add_into_constant": _ip(zeros, lambda L, a, x, w, v: a.add_(w)),
    # in-place view ops (metadata only)
    "unsqueeze_": _ip(times1, lambda L, a, x, w, v: a.unsqueeze_(0),
                      lambda L, a, x, w, v: a * 2),
    "t_": _ip(times1, lambda L, a, x, w, v: a.t_(), lambda L, a, x, w, v: a * w.t()),
}


@pytest.mark.parametrize("name", list(CASES))
def test_inplace_gradients_match_torch(name):
    case = CASES[name]
    res = {}
    for L in (ember, torch):
        x, w, v = (L.tensor(a.copy(), requires_grad=True) for a in (X, W, V))
        out = case(L, x, w, v)
        g_out = L.tensor(np.linspace(0.5, 2.0, out.numel()).reshape(tuple(out.shape)))
        grads = L.autograd.grad(out, [x, w, v], g_out, allow_unused=True)
        res[L] = (out, grads)
    assert_close(res[ember], res[torch])


def test_overlapping_view_made_before_inplace_sees_the_change():
    res = {}
    for L in (ember, torch):
        x = L.tensor(X.copy(), requires_grad=True)
        a = x * 1
        row, col = a[0], a[:, 0]              # overlap at a[0, 0]
        row.mul_(2)
        res[L] = L.autograd.grad((col * col).sum(), x)
    assert_close(res[ember], res[torch])


def test_version_counter():
    for L in (ember, torch):
        x = L.ones(3, 4)
        assert x._version == 0
        v = x[0]
        d = x.detach()
        x.add_(1)
        assert x._version == v._version == d._version == 1
        v.mul_(2)
        x[1] = 3.0
        assert x._version == 3 and d._version == 3
        y = x * 2                             # out of place: a new counter
        assert y._version == 0
        x.zero_()
        assert y._version == 0 and x._version == 4


@pytest.mark.parametrize("modify", [
    lambda L, a, b: a.add_(1),                # the saved tensor itself
    lambda L, a, b: a[0].mul_(2),             # through a view of it
    lambda L, a, b: a.view(-1)[1].zero_(),
    lambda L, a, b: a.__setitem__(0, 1.0),
    lambda L, a, b: a.detach().add_(1),       # detach() shares the version counter
])
def test_modified_saved_tensor_raises(modify):
    for L in (ember, torch):
        x = L.ones(2, 3, requires_grad=True)
        a = x * 2
        b = L.sin(a)                          # saves a
        modify(L, a, b)
        with pytest.raises(RuntimeError, match="one of the variables needed for gradient "
                                               "computation has been modified by an inplace "
                                               "operation: .* is at version [1-9]; expected "
                                               "version 0 instead"):
            b.sum().backward()


def test_inplace_whose_other_operand_is_itself_raises():
    """x.mul_(x): the operand saved for the gradient is the tensor being overwritten."""
    for L in (ember, torch):
        a = L.ones(3, requires_grad=True) * 2
        a.mul_(a)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            a.sum().backward()


def test_modified_saved_output_raises_and_unrelated_changes_do_not():
    for L in (ember, torch):
        x = L.ones(3, requires_grad=True)
        y = L.exp(x)                          # saves its output
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
        z = x * 3                             # saves nothing that changes below
        w = z + 1
        z.add_(1)                             # z is not saved by Add
        w.sum().backward()
        assert x.grad.tolist() == [3, 3, 3]


@pytest.mark.parametrize("op", [
    lambda L, x: x.add_(1),
    lambda L, x: x.mul_(2),
    lambda L, x: x.zero_(),
    lambda L, x: x.copy_(L.zeros(2, 3)),
    lambda L, x: x.__setitem__(0, 1.0),
    lambda L, x: x[0].add_(1),
    lambda L, x: x.view(6).fill_(0),
])
def test_inplace_on_leaf_requiring_grad(op):
    for L in (ember, torch):
        x = L.ones(2, 3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a (view of a )?leaf Variable that requires grad "
                                               "is being used in an in-place operation"):
            op(L, x)
        with L.no_grad():                     # allowed without grad mode
            op(L, x)
        assert x.requires_grad and x.is_leaf and x.grad_fn is None
        (x * 2).sum().backward()              # and the leaf still works
        assert x.grad.tolist() == [[2, 2, 2], [2, 2, 2]]


def test_leaf_update_under_no_grad_like_an_optimizer_step():
    res = {}
    for L in (ember, torch):
        w = L.tensor(W.copy(), requires_grad=True)
        for _ in range(3):
            loss = ((w * w).sum() - w.sum()) * 0.5
            loss.backward()
            with L.no_grad():
                w -= 0.1 * w.grad
                w.grad.zero_()
        res[L] = (w, w.grad)
    assert_close(res[ember], res[torch])


@pytest.mark.parametrize("op, exc, msg", [
    (lambda L: L.ones(3).add_(L.ones(2, 3)), RuntimeError,
     r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"),
    (lambda L: L.ones(3, dtype=L.int64).add_(1.5), RuntimeError,
     "result type Float can't be cast to the desired output type Long"),
    (lambda L: L.ones(3).expand(2, 3).add_(1), RuntimeError,
     "unsupported operation: more than one element of the written-to tensor refers to a "
     "single memory location"),
    (lambda L: (L.ones(3, requires_grad=True) * 1).expand(2, 3).mul_(2), RuntimeError,
     "more than one element of the written-to tensor refers to a single memory location"),
])
def test_inplace_errors(op, exc, msg):
    for L in (ember, torch):
        with pytest.raises(exc, match=msg):
            op(L)


def test_inplace_result_is_self_and_grad_fn_names():
    def name(node):
        return node.name().split("::")[-1]    # torch: "torch::autograd::CopySlices"
    for L in (ember, torch):
        x = L.ones(3, requires_grad=True)
        a = x * 1
        assert a.add_(1) is a and name(a.grad_fn) == "AddBackward0"
        a[0] = 2.0
        assert name(a.grad_fn) == "CopySlices"
        c = L.zeros(3)
        c.copy_(x)
        assert name(c.grad_fn) == "CopyBackwards" and c.requires_grad


def test_inplace_gradcheck():
    def f(x, w):
        a = x * 1
        a[0].mul_(w[0])
        a[1:, 1] = w[1:, 2] * 3
        return a.exp_() * w
    x = ember.tensor(X[:, :3].copy(), requires_grad=True)
    w = ember.tensor(W[:, :3].copy(), requires_grad=True)
    assert ember.autograd.gradcheck(f, (x, w))
    assert ember.autograd.gradgradcheck(f, (x, w))
