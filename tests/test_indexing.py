"""Indexing against PyTorch: gather/scatter, index_*, masked_*, take/put, nonzero,
searchsorted/bucketize, one_hot, and tensor[index] / tensor[index] = value (forward,
gradients, views and in-place writes through them)."""
import warnings

import numpy as np
import pytest

import ember
from oracle import assert_close, check_op, rand, requires_torch, torch

pytestmark = requires_torch


def T(m, data, dtype=None):
    return m.tensor(data) if dtype is None else m.tensor(data, dtype=getattr(m, dtype))


def _gradchecks(f, xs):
    """gradcheck, then gradgradcheck (double backward). The latter is skipped when an output
    is empty: ember's gradcheck refuses empty grad_outputs (NumPy gives them zero strides),
    and there is no second derivative to check for them anyway."""
    assert ember.autograd.gradcheck(f, xs)
    outs = f(*xs)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    if all(o.numel() for o in outs):
        assert ember.autograd.gradgradcheck(f, xs)


def _inputs(shapes, dtype=np.float64):
    return [rand(*s, dtype=dtype, seed=i) for i, s in enumerate(shapes)]


# (id, fn(mod, *tensors), input shapes)
CASES = [
    ("gather_0", lambda m, x: m.gather(x, 0, T(m, [[0, 1, 1, 0], [1, 1, 0, 0]])), [(2, 4)]),
    ("gather_1", lambda m, x: x.gather(1, T(m, [[0, 0], [2, 1]])), [(2, 3)]),
    ("gather_neg", lambda m, x: m.gather(x, -1, T(m, [[[1], [0], [1]]])), [(2, 3, 2)]),
    ("gather_small", lambda m, x: m.gather(x, 0, T(m, [[2]])), [(3, 4)]),
    ("gather_wide", lambda m, x: m.gather(x, 1, T(m, [[0] * 5, [2] * 5])), [(2, 3)]),
    ("gather_1d", lambda m, x: m.gather(x, 0, T(m, [3, 3, 0])), [(4,)]),
    ("gather_empty", lambda m, x: m.gather(x, 0, T(m, [[]], "int64")), [(2, 3)]),
    ("scatter_src", lambda m, x, s: m.scatter(x, 0, T(m, [[1, 0, 2]]), s), [(3, 3), (1, 3)]),
    ("scatter_value", lambda m, x: m.scatter(x, 1, T(m, [[0], [2]]), 2.5), [(2, 3)]),
    ("scatter_value_kw", lambda m, x: x.scatter(1, T(m, [[0], [2]]), value=-1.0), [(2, 3)]),
    ("scatter_add", lambda m, x, s: m.scatter_add(x, 0, T(m, [[1, 1, 0], [1, 0, 0]]), s),
     [(2, 3), (2, 3)]),
    ("scatter_add_dim1", lambda m, x, s: x.scatter_add(1, T(m, [[2, 2], [0, 2]]), s),
     [(2, 3), (2, 2)]),
    ("index_select_0", lambda m, x: m.index_select(x, 0, T(m, [2, 0, 2])), [(3, 2)]),
    ("index_select_1", lambda m, x: x.index_select(1, T(m, [1, 1], "int32")), [(2, 3)]),
    ("index_select_0d", lambda m, x: m.index_select(x, -1, T(m, 1)), [(2, 3)]),
    ("index_select_scalar", lambda m, x: m.index_select(x, 0, T(m, [0])), [()]),
    ("index_add", lambda m, x, s: m.index_add(x, 0, T(m, [0, 2, 0]), s), [(3, 2), (3, 2)]),
    ("index_add_alpha", lambda m, x, s: x.index_add(1, T(m, [2, 0]), s, alpha=-2.0),
     [(2, 3), (2, 2)]),
    ("index_copy", lambda m, x, s: m.index_copy(x, 1, T(m, [2, 0]), s), [(2, 3), (2, 2)]),
    ("index_fill", lambda m, x: m.index_fill(x, 1, T(m, [0, 2]), -1.5), [(2, 3)]),
    ("index_fill_tensor", lambda m, x, v: x.index_fill(0, T(m, [1]), v), [(2, 3), ()]),
    ("index_put", lambda m, x, v: m.index_put(x, (T(m, [0, 1]), T(m, [2, 0])), v),
     [(2, 3), (2,)]),
    ("index_put_bcast", lambda m, x, v: x.index_put((T(m, [1, 0]),), v), [(2, 3), (3,)]),
    ("index_put_acc", lambda m, x, v: m.index_put(x, (T(m, [0, 0, 1]),), v, accumulate=True),
     [(2, 3), (3, 3)]),
    ("index_put_mask", lambda m, x, v: x.index_put((T(m, [True, False]),), v), [(2, 3), (3,)]),
    ("masked_fill", lambda m, x: m.masked_fill(x, T(m, [[True, False, True]]), 2.0), [(2, 3)]),
    ("masked_fill_tensor", lambda m, x, v: x.masked_fill(T(m, [True, False, True]), v),
     [(2, 3), ()]),
    ("masked_fill_bcast", lambda m, x: m.masked_fill(x, T(m, [[True], [False]]), 0.0),
     [(1, 3)]),
    ("masked_select", lambda m, x: m.masked_select(x, T(m, [[True, False, True],
                                                            [False, False, True]])), [(2, 3)]),
    ("masked_select_bcast", lambda m, x: x.masked_select(T(m, [[True], [False]])), [(3,)]),
    ("masked_scatter", lambda m, x, s: m.masked_scatter(x, T(m, [True, False, True]), s),
     [(2, 3), (2, 3)]),
    ("masked_scatter_bcast", lambda m, x, s: x.masked_scatter(T(m, [[True], [False]]), s),
     [(3,), (5,)]),
    ("take", lambda m, x: m.take(x, T(m, [[0, 5], [-1, 5]])), [(2, 3)]),
    ("take_0d", lambda m, x: x.take(T(m, 2)), [(2, 3)]),
    ("take_along_dim", lambda m, x: m.take_along_dim(x, T(m, [[0], [2]]), 1), [(2, 3)]),
    ("take_along_dim_bcast", lambda m, x: m.take_along_dim(x, T(m, [[[1, 0]]]), dim=2),
     [(2, 3, 2)]),
    ("take_along_dim_flat", lambda m, x: m.take_along_dim(x, T(m, [5, 0, 5])), [(2, 3)]),
    ("put", lambda m, x, s: m.put(x, T(m, [0, -1]), s), [(2, 3), (2,)]),
    ("put_acc", lambda m, x, s: x.put(T(m, [1, 1, 4]), s, accumulate=True), [(2, 3), (3,)]),
    ("repeat_interleave_grad", lambda m, x: m.repeat_interleave(x, T(m, [2, 0, 1]), dim=0),
     [(3, 2)]),
]

for _red in ("sum", "prod", "mean", "amax", "amin"):
    for _inc in (True, False):
        CASES.append((f"scatter_reduce_{_red}_{_inc}",
                      (lambda r, i: lambda m, x, s: m.scatter_reduce(
                          x, 0, T(m, [[0, 1, 0], [0, 2, 2]]), s, r, include_self=i))(_red, _inc),
                      [(3, 3), (2, 3)]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_against_torch(name, fn, shapes, dtype):
    check_op(lambda *a: fn(ember, *a), lambda *a: fn(torch, *a), _inputs(shapes, dtype))


# src larger than index: PyTorch's own backward rejects the gradient shape here, so only
# the forward is compared; the gradient is checked numerically below
LARGER_SRC = [
    ("scatter_big_src", lambda m, x, s: x.scatter(1, T(m, [[0, 2], [1, 0]]), s),
     [(2, 3), (3, 4)]),
    ("scatter_add_big_src", lambda m, x, s: x.scatter_add(1, T(m, [[2, 2], [0, 2]]), s),
     [(2, 3), (2, 4)]),
    ("scatter_reduce_big_src", lambda m, x, s: x.scatter_reduce(0, T(m, [[1], [0]]), s, "sum"),
     [(2, 3), (3, 2)]),
]


@pytest.mark.parametrize("name,fn,shapes", LARGER_SRC, ids=[c[0] for c in LARGER_SRC])
def test_larger_src_forward(name, fn, shapes):
    check_op(lambda *a: fn(ember, *a), lambda *a: fn(torch, *a), _inputs(shapes), grad=False)


GRADCHECK = [c for c in CASES + LARGER_SRC if c[0] not in ("gather_empty",)]


@pytest.mark.parametrize("name,fn,shapes", GRADCHECK, ids=[c[0] for c in GRADCHECK])
def test_gradcheck(name, fn, shapes):
    xs = _inputs(shapes)

    def f(*a):
        return fn(ember, *a)
    _gradchecks(f, xs)


def _tie_inputs(m):
    # values with ties (for amax/amin) and zeros (for prod)
    x = m.tensor([[1.0, 0.0, 2.0], [3.0, 5.0, -1.0], [2.0, 2.0, 0.0]], dtype=m.float64,
                 requires_grad=True)
    s = m.tensor([[3.0, 5.0, 0.0], [1.0, 2.0, 0.0]], dtype=m.float64, requires_grad=True)
    return x, s


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_ties_and_zeros(reduce, include_self):
    def run(m):
        x, s = _tie_inputs(m)
        idx = m.tensor([[0, 1, 2], [0, 1, 2]])
        y = m.scatter_reduce(x, 0, idx, s, reduce, include_self=include_self)
        y.backward(m.tensor(np.arange(9.0).reshape(3, 3) + 1))
        return y, x.grad, s.grad
    assert_close(run(ember), run(torch))


# ------------------------------------------------------------------ integer dtypes, no grad
INT_CASES = [
    ("gather_int", lambda m: m.gather(m.arange(6).reshape(2, 3), 1, T(m, [[2, 0], [1, 1]]))),
    ("scatter_reduce_int_mean", lambda m: m.scatter_reduce(
        m.arange(4), 0, T(m, [0, 0, 1]), T(m, [3, 4, 5]), "mean")),
    ("scatter_reduce_int_mean_excl", lambda m: m.scatter_reduce(
        m.arange(4), 0, T(m, [0, 0, 1]), T(m, [3, 4, 5]), "mean", include_self=False)),
    ("scatter_reduce_int_amax_excl", lambda m: m.scatter_reduce(
        m.arange(4), 0, T(m, [0, 0, 1]), T(m, [-3, -4, 5]), "amax", include_self=False)),
    ("scatter_reduce_int_prod", lambda m: m.scatter_reduce(
        m.arange(1, 5), 0, T(m, [0, 0, 3]), T(m, [3, 4, 5]), "prod")),
    ("scatter_add_int", lambda m: m.scatter_add(m.zeros(3, dtype=m.int64), 0,
                                                T(m, [0, 0, 2]), T(m, [1, 2, 3]))),
    ("scatter_reduce_add", lambda m: m.zeros(2, 3).scatter(
        1, T(m, [[0, 0], [2, 2]]), m.ones(2, 2), reduce="add")),
    ("scatter_reduce_mul", lambda m: m.full((2, 3), 2.0).scatter(
        1, T(m, [[0, 0], [2, 2]]), 3.0, reduce="multiply")),
    ("index_add_int", lambda m: m.index_add(m.zeros(3, dtype=m.int32), 0, T(m, [0, 0]),
                                            T(m, [5, 6], "int32"), alpha=2)),
    ("index_fill_bool", lambda m: m.index_fill(m.zeros(2, 2, dtype=m.bool), 0, T(m, [1]), True)),
    ("masked_fill_int_float", lambda m: m.zeros(2, dtype=m.int64).masked_fill(
        T(m, [True, False]), 0.5)),
    ("masked_fill_int_tensor", lambda m: m.zeros(2, dtype=m.int64).masked_fill(
        T(m, [True, False]), T(m, 2.5))),
    ("masked_fill_double_value", lambda m: m.zeros(2).masked_fill(
        T(m, [True, False]), T(m, 2.0, "float64"))),
    ("take_int", lambda m: m.take(m.arange(6), T(m, [5, -6]))),
    ("nonzero", lambda m: m.nonzero(T(m, [[0, 1, 2], [3, 0, 0]]))),
    ("nonzero_tuple", lambda m: m.nonzero(T(m, [[0, 1, 2], [3, 0, 0]]), as_tuple=True)),
    ("nonzero_method", lambda m: T(m, [0.0, 1.5, -2.0]).nonzero()),
    ("nonzero_0d", lambda m: m.nonzero(T(m, 1.0))),
    ("nonzero_0d_tuple", lambda m: m.nonzero(T(m, 1.0), as_tuple=True)),
    ("nonzero_0d_zero", lambda m: m.nonzero(T(m, 0), as_tuple=True)),
    ("nonzero_empty", lambda m: m.nonzero(m.zeros(0, 3))),
    ("argwhere", lambda m: m.argwhere(T(m, [[True, False], [True, True]]))),
    ("where_one_arg", lambda m: m.where(T(m, [[0.0, 1.5], [2.0, 0.0]]) != 0)),
    ("where_one_arg_0d", lambda m: m.where(T(m, True))),
    ("searchsorted", lambda m: m.searchsorted(T(m, [1.0, 2, 2, 3]), T(m, [[2.0, 0], [3, 9]]))),
    ("searchsorted_right", lambda m: m.searchsorted(T(m, [1, 2, 2, 3]), T(m, [2, 0, 3, 9]),
                                                    right=True)),
    ("searchsorted_side", lambda m: m.searchsorted(T(m, [1, 2, 2, 3]), T(m, [2, 3]),
                                                   side="right")),
    ("searchsorted_scalar", lambda m: m.searchsorted(T(m, [1.0, 2.0]), 1.5)),
    ("searchsorted_int32", lambda m: m.searchsorted(T(m, [1, 3]), T(m, [2]), out_int32=True)),
    ("searchsorted_sorter", lambda m: m.searchsorted(T(m, [3.0, 1, 2]), T(m, [2.0, 0.5]),
                                                     sorter=T(m, [1, 2, 0]))),
    ("searchsorted_batched", lambda m: m.searchsorted(
        T(m, [[1.0, 3, 5], [2, 2, 8]]), T(m, [[3.0, 0, 6, 5], [2, 9, 1, 2]]))),
    ("searchsorted_batched_right", lambda m: m.searchsorted(
        T(m, [[[1.0, 3, 5], [2, 2, 8]]]), T(m, [[[3.0, 0], [2, 2]]]), side="right")),
    ("searchsorted_batched_sorter", lambda m: m.searchsorted(
        T(m, [[5.0, 1, 3], [8, 2, 2]]), T(m, [[3.0, 6], [2, 9]]),
        sorter=T(m, [[1, 2, 0], [1, 2, 0]]))),
    ("bucketize", lambda m: m.bucketize(T(m, [[0.5, 1.0], [2.5, 3.0]]), T(m, [1.0, 2, 3]))),
    ("bucketize_right", lambda m: m.bucketize(T(m, [1, 2, 5]), T(m, [1, 2, 3]), right=True)),
    ("bucketize_scalar", lambda m: m.bucketize(2.0, T(m, [1.0, 3]))),
    ("one_hot", lambda m: (m.nn.functional.one_hot if m is torch else m.one_hot)(
        T(m, [[0, 2], [1, 1]]))),
    ("one_hot_classes", lambda m: (m.nn.functional.one_hot if m is torch else m.one_hot)(
        T(m, [0, 2]), 5)),
    ("one_hot_empty", lambda m: (m.nn.functional.one_hot if m is torch else m.one_hot)(
        m.zeros(0, dtype=m.int64), 3)),
]


@pytest.mark.parametrize("name,fn", INT_CASES, ids=[c[0] for c in INT_CASES])
def test_int_and_nondiff(name, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_close(fn(ember), fn(torch))


def test_batched_searchsorted_random():
    rng = np.random.default_rng(0)
    seq = np.sort(rng.integers(0, 10, (4, 3, 6)).astype(np.float64), axis=-1)
    vals = rng.integers(-1, 11, (4, 3, 5)).astype(np.float64)
    for side in ("left", "right"):
        ours = ember.searchsorted(ember.tensor(seq), ember.tensor(vals), side=side)
        theirs = torch.searchsorted(torch.tensor(seq), torch.tensor(vals), side=side)
        assert_close(ours, theirs)


# ------------------------------------------------------------------ in-place forms
INPLACE = [
    ("scatter_", lambda m, x, s: x.scatter_(0, T(m, [[1, 0, 1]]), s[:1])),
    ("scatter_value_", lambda m, x, s: x.scatter_(1, T(m, [[2], [0]]), 4.0)),
    ("scatter_add_", lambda m, x, s: x.scatter_add_(0, T(m, [[1, 1, 0], [0, 0, 0]]), s)),
    ("scatter_reduce_", lambda m, x, s: x.scatter_reduce_(0, T(m, [[1, 1, 0], [0, 0, 0]]), s,
                                                          "amax")),
    ("index_add_", lambda m, x, s: x.index_add_(0, T(m, [1, 1]), s, alpha=3)),
    ("index_copy_", lambda m, x, s: x.index_copy_(0, T(m, [1, 0]), s)),
    ("index_fill_", lambda m, x, s: x.index_fill_(1, T(m, [1]), 7.0)),
    ("masked_fill_", lambda m, x, s: x.masked_fill_(T(m, [True, False, True]), -3.0)),
    ("masked_fill_tensor_", lambda m, x, s: x.masked_fill_(T(m, [[True], [False]]), s[0, 0])),
    ("masked_scatter_", lambda m, x, s: x.masked_scatter_(T(m, [False, True, True]), s)),
    ("index_put_", lambda m, x, s: x.index_put_((T(m, [0, 1]), T(m, [2, 2])), s[0, :2])),
    ("index_put_acc_", lambda m, x, s: x.index_put_((T(m, [1, 1]),), s, accumulate=True)),
    ("put_", lambda m, x, s: x.put_(T(m, [0, 4]), s[1, 1:])),
    ("put_acc_", lambda m, x, s: x.put_(T(m, [3, 3]), s[0, :2], accumulate=True)),
]


@pytest.mark.parametrize("name,fn", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace(name, fn):
    def run(m, a, b):
        y = a * 2
        r = fn(m, y, b)
        assert r is y
        y.backward(m.tensor(np.arange(6.0).reshape(2, 3) + 1))
        return y, a.grad, b.grad
    a, b = _inputs([(2, 3), (2, 3)])
    ta = torch.tensor(a.detach().numpy(), requires_grad=True)
    tb = torch.tensor(b.detach().numpy(), requires_grad=True)
    assert_close(run(ember, a, b), run(torch, ta, tb))


def test_masked_fill_inplace_cannot_broadcast_self():
    with pytest.raises(RuntimeError, match=r"output with shape \[1, 3\] doesn't match the "
                                           r"broadcast shape \[2, 3\]"):
        ember.zeros(1, 3).masked_fill_(ember.ones(2, 3, dtype=ember.bool), 1.0)


# ------------------------------------------------------------------ errors
ERRORS = [
    (lambda x, i: ember.gather(x, 0, ember.tensor([[0, 5, 1]])), RuntimeError,
     "index 5 is out of bounds for dimension 0 with size 2"),
    (lambda x, i: ember.gather(x, 1, ember.tensor([[-1]])), RuntimeError,
     "index -1 is out of bounds for dimension 1 with size 3"),
    (lambda x, i: ember.gather(x, 1, i.int()), RuntimeError, "Expected dtype int64 for index"),
    (lambda x, i: ember.gather(x, 1, ember.tensor([0.0])), RuntimeError, "int64"),
    (lambda x, i: ember.gather(x, 1, ember.zeros(2, dtype=ember.int64)), RuntimeError,
     "same number of dimensions"),
    (lambda x, i: ember.gather(x, 1, ember.zeros(3, 1, dtype=ember.int64)), RuntimeError,
     "Size does not match at dimension 0"),
    (lambda x, i: ember.gather(x, 2, i), IndexError, "Dimension out of range"),
    (lambda x, i: ember.scatter(x, 0, ember.zeros(3, 3, dtype=ember.int64), ember.ones(2, 2)),
     RuntimeError, "Expected index [3, 3] to be no larger than self [2, 3] apart from "
                   "dimension 0 and to be no larger size than src [2, 2]"),
    (lambda x, i: ember.scatter(x, 0, i, ember.ones(2, 3, dtype=ember.float64)), RuntimeError,
     "scatter(): Expected self.dtype to be equal to src.dtype"),
    (lambda x, i: ember.scatter(x, 0, ember.tensor([[0, 1, 5]]), 1.0), RuntimeError,
     "index 5 is out of bounds for dimension 0 with size 2"),
    (lambda x, i: ember.scatter(x, 0, i, ember.ones(2, 3), reduce="foo"), RuntimeError,
     "reduce argument must be either add or multiply."),
    (lambda x, i: ember.scatter_reduce(x, 0, i, ember.ones(2, 3), "foo"), RuntimeError,
     "reduce argument must be either sum, prod, mean, amax or amin, got foo"),
    (lambda x, i: ember.index_select(x, 0, ember.tensor([[0]])), IndexError,
     "Index is supposed to be a vector"),
    (lambda x, i: ember.index_select(x, 0, ember.tensor([0.0])), RuntimeError,
     "Expected dtype int32 or int64 for index"),
    (lambda x, i: ember.index_select(x, 0, ember.tensor([3])), IndexError,
     "index out of range in self"),
    (lambda x, i: ember.index_add(x, 0, ember.tensor([0]), ember.ones(1, 3,
                                                                      dtype=ember.float64)),
     RuntimeError, "self (Float) and source (Double) must have the same scalar type"),
    (lambda x, i: ember.index_add(x, 0, ember.tensor([0]), ember.ones(1, 4)), RuntimeError,
     "Got self.shape = [2, 3] source.shape = [1, 4]"),
    (lambda x, i: ember.index_add(x, 0, ember.tensor([0, 1]), ember.ones(3, 3)), RuntimeError,
     "Number of indices (2) should be equal to source.size(dim): (3), for dim: 0"),
    (lambda x, i: ember.index_add(x, 0, ember.tensor([5]), ember.ones(1, 3)), RuntimeError,
     "index 5 is out of bounds for dimension 0 with size 2"),
    (lambda x, i: ember.index_add(x, 0, ember.tensor([0.0]), ember.ones(1, 3)), RuntimeError,
     "Expected dtype int32/int64 for index but got: Float"),
    (lambda x, i: ember.index_copy(x, 0, ember.tensor([5]), ember.ones(1, 3)), IndexError,
     "index_copy_(): index 5 is out of bounds for dimension 0 with size 2"),
    (lambda x, i: ember.index_fill(x, 0, ember.tensor([5]), 1.0), IndexError,
     "index 5 is out of bounds for dimension 0 with size 2"),
    (lambda x, i: ember.index_put(x, (ember.tensor([0]),), ember.ones(3, dtype=ember.float64)),
     RuntimeError, "Index put requires the source and destination dtypes match, got Float for "
                   "the destination and Double for the source."),
    (lambda x, i: ember.take(x, ember.tensor([10])), IndexError,
     "out of range: tried to access index 10 on a tensor of 6 elements."),
    (lambda x, i: ember.take(x, ember.tensor([1], dtype=ember.int32)), RuntimeError,
     "take(): Expected a long tensor for index, but got Int"),
    (lambda x, i: x.masked_fill(ember.ones(2, 3), 0.0), RuntimeError,
     "masked_fill_ only supports boolean masks, but got mask with dtype float"),
    (lambda x, i: x.masked_fill(ember.ones(2, 3, dtype=ember.int64), 0.0), RuntimeError,
     "but got mask with dtype long int"),
    (lambda x, i: x.masked_fill(ember.ones(2, 3, dtype=ember.bool), ember.ones(2)),
     RuntimeError, "only supports a 0-dimensional value tensor, but got tensor with 1 "
                   "dimension(s)."),
    (lambda x, i: ember.masked_select(x, ember.ones(2, 3)), RuntimeError,
     "masked_select: expected BoolTensor for mask"),
    (lambda x, i: ember.masked_select(x, ember.ones(4, dtype=ember.bool)), RuntimeError,
     "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"),
    (lambda x, i: ember.masked_scatter(x, ember.ones(2, 3, dtype=ember.bool), ember.ones(2)),
     RuntimeError, "Number of elements of source < number of ones in mask"),
    (lambda x, i: ember.masked_scatter(x, ember.ones(2, 3, dtype=ember.bool),
                                       ember.ones(6, dtype=ember.float64)), RuntimeError,
     "masked_scatter: expected self and source to have same dtypes"),
    (lambda x, i: ember.put(x, ember.tensor([0, 9]), ember.ones(2)), IndexError,
     "out of range: tried to access index 9 on a tensor of 6 elements."),
    (lambda x, i: ember.put(x, ember.tensor([0]), ember.ones(2)), IndexError,
     "Expected source and index to have the same number of elements"),
    (lambda x, i: ember.searchsorted(ember.tensor([[1, 2], [3, 4]]), ember.tensor([1, 2, 3])),
     RuntimeError, "boundaries tensor should be 1 dimension or the first N-1 dimensions"),
    (lambda x, i: ember.searchsorted(ember.tensor([1.0]), ember.tensor([1.0]), side="left",
                                     right=True), RuntimeError, "can't be set to opposites"),
    (lambda x, i: ember.searchsorted(ember.tensor([1.0]), ember.tensor([1.0]), side="foo"),
     RuntimeError, "side can only be 'left' or 'right' but got foo"),
    (lambda x, i: ember.bucketize(ember.tensor([1.0]), ember.tensor([[1.0]])), RuntimeError,
     "boundaries tensor must be 1 dimension, but got dim(2)"),
    (lambda x, i: ember.one_hot(ember.tensor([1.0])), RuntimeError,
     "one_hot is only applicable to index tensor of type LongTensor."),
    (lambda x, i: ember.one_hot(ember.tensor([-1])), RuntimeError,
     "Class values must be non-negative."),
    (lambda x, i: ember.one_hot(ember.tensor([3]), 3), RuntimeError,
     "Class values must be smaller than num_classes."),
]


@pytest.mark.parametrize("fn,exc,msg", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors(fn, exc, msg):
    x = ember.zeros(2, 3)
    i = ember.tensor([[0, 1, 1]])
    with pytest.raises(exc) as info:
        fn(x, i)
    assert msg in str(info.value)


def test_scatter_reduce_arg_has_no_gradient_like_torch():
    x = rand(2, 3)
    y = x.scatter(0, ember.tensor([[0, 1, 1]]), ember.ones(1, 3, dtype=ember.float64),
                  reduce="add")
    with pytest.raises(RuntimeError, match="derivative for aten::scatter is not implemented"):
        y.backward(ember.ones(2, 3, dtype=ember.float64))


# =========================================================================================
# tensor[index]

def _x(m, shape=(3, 4, 5), requires_grad=True):
    data = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) / 7.0 - 3.0
    return m.tensor(data, requires_grad=requires_grad)


# index builders: fn(m) -> index (ints, slices, None, Ellipsis, lists, tensors, masks)
GETITEM = [
    ("int", lambda m: 1),
    ("neg_int", lambda m: -1),
    ("ints", lambda m: (0, 2)),
    ("neg_ints", lambda m: (-1, -2, -3)),
    ("slice", lambda m: slice(1, None)),
    ("slice_step", lambda m: slice(None, None, 2)),
    ("slice_neg", lambda m: (slice(-2, None), slice(-4, -1, 2))),
    ("slice_out_of_range", lambda m: slice(5, 10)),
    ("slice_big_stop", lambda m: (slice(None), slice(1, 100, 3))),
    ("int_slice", lambda m: (1, slice(None), slice(1, 4, 2))),
    ("ellipsis", lambda m: (Ellipsis, 0)),
    ("ellipsis_mid", lambda m: (0, Ellipsis, slice(None, 2))),
    ("ellipsis_only", lambda m: Ellipsis),
    ("none", lambda m: None),
    ("none_mid", lambda m: (slice(None), None, 1)),
    ("none_ellipsis", lambda m: (None, Ellipsis, None)),
    ("bool_true", lambda m: True),
    ("bool_false", lambda m: False),
    ("bool_in_tuple", lambda m: (1, True, slice(None, 2))),
    ("list", lambda m: [0, 2]),
    ("list_repeat", lambda m: [2, 0, 2, 2]),
    ("list_neg", lambda m: [-1, 0]),
    ("list_2d", lambda m: [[0, 1], [1, 0]]),
    ("list_empty", lambda m: []),
    ("tensor", lambda m: m.tensor([2, 0, 2])),
    ("tensor_int32", lambda m: m.tensor([1, 1], dtype=m.int32)),
    ("tensor_2d", lambda m: m.tensor([[0, 1], [2, 2]])),
    ("tensor_0d", lambda m: m.tensor(1)),
    ("tensor_0d_tuple", lambda m: (m.tensor(1), slice(None), m.tensor(-1))),
    ("tensor_empty", lambda m: m.tensor([], dtype=m.int64)),
    ("two_tensors", lambda m: (m.tensor([0, 2]), m.tensor([1, 3]))),
    ("broadcast_tensors", lambda m: (m.tensor([[0], [2]]), m.tensor([1, 3, 3]))),
    ("adjacent_after_slice", lambda m: (slice(None), m.tensor([0, 1]), m.tensor([4, 0]))),
    ("separated_by_slice", lambda m: (m.tensor([0, 2]), slice(None), m.tensor([4, 0]))),
    ("separated_broadcast", lambda m: (m.tensor([[0], [1]]), slice(1, 3), m.tensor([4, 0, 2]))),
    ("int_and_tensor_separated", lambda m: (1, slice(None), m.tensor([0, 1]))),
    ("int_and_tensor_adjacent", lambda m: (slice(None), 1, m.tensor([0, 1]))),
    ("int_none_tensor", lambda m: (1, None, m.tensor([0, 1]))),
    ("tensor0d_and_tensor", lambda m: (m.tensor(1), slice(None), m.tensor([0, 1]))),
    ("tensor_then_int", lambda m: (m.tensor([[0, 1]]), slice(None), 1)),
    ("list_of_tensors", lambda m: [m.tensor(0), m.tensor(1)]),
    ("list_of_int_and_list", lambda m: [0, [1, 2]]),
    ("tensor_ellipsis", lambda m: (m.tensor([1, 0]), Ellipsis, 2)),
    ("tensor_none", lambda m: (None, m.tensor([1, 0]), None)),
    ("mask_full", lambda m: m.tensor(np.arange(60).reshape(3, 4, 5) % 3 == 0)),
    ("mask_first", lambda m: m.tensor([True, False, True])),
    ("mask_2d", lambda m: m.tensor(np.arange(12).reshape(3, 4) % 5 < 2)),
    ("mask_after_slice", lambda m: (slice(None), m.tensor([True, False, False, True]))),
    ("mask_and_tensor", lambda m: (m.tensor([True, False, True]), slice(None), m.tensor([0, 4]))),
    ("mask_all_false", lambda m: m.tensor([False, False, False])),
    ("mask_uint8", lambda m: m.tensor([1, 0, 1], dtype=m.uint8)),
    ("list_of_bools", lambda m: [True, False, True]),
    ("list_with_slice", lambda m: [slice(None), 1]),
    ("tuple_of_lists", lambda m: ([0, 1], [1, 2])),
    ("numpy_int", lambda m: (np.int64(1), slice(None))),
    ("tensor_slice_bounds", lambda m: slice(m.tensor(1), m.tensor(3))),
]


@pytest.mark.parametrize("name,idx", GETITEM, ids=[c[0] for c in GETITEM])
def test_getitem(name, idx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # uint8 masks are deprecated in torch
        check_op(lambda x: x[idx(ember)], lambda x: x[idx(torch)], [_x(ember)])


@pytest.mark.parametrize("name,idx", GETITEM, ids=[c[0] for c in GETITEM])
def test_getitem_gradcheck(name, idx):
    x = rand(3, 4, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _gradchecks(lambda x: x[idx(ember)], (x,))


def test_getitem_on_0d_and_1d():
    for idx in (Ellipsis, None, (None, None), True, (Ellipsis, None)):
        check_op(lambda x, i=idx: x[i], lambda x, i=idx: x[i], [rand()])
    check_op(lambda x: x[-1], lambda x: x[-1], [rand(4)])
    check_op(lambda x: x[[3, 3, 0]], lambda x: x[[3, 3, 0]], [rand(4)])


def test_getitem_basic_is_view_advanced_is_copy():
    x = ember.tensor(np.arange(12.0).reshape(3, 4))
    for idx in (0, (slice(None), 1), (Ellipsis, slice(1, 3)), (None, 1), slice(None, None, 2)):
        v = x[idx]
        assert v._base is x and np.shares_memory(v.numpy(), x.numpy())
    for idx in ([0, 1], ember.tensor([1]), ember.tensor([True, False, True]), ember.tensor(1)):
        c = x[idx]
        assert not np.shares_memory(c.numpy(), x.numpy())


def test_gradient_accumulates_over_repeated_indices():
    def run(m):
        x = m.tensor([1.0, 2.0, 3.0], dtype=m.float64, requires_grad=True)
        y = x[m.tensor([0, 0, 2, 0])]
        y.backward(m.tensor([1.0, 10.0, 100.0, 1000.0], dtype=m.float64))
        return x.grad
    assert_close(run(ember), run(torch))


GETITEM_ERRORS = [
    (lambda x: x[torch_like_float(x)], IndexError,
     "tensors used as indices must be long, int, byte or bool tensors"),
    (lambda x: x[1.5], IndexError, "only integers, slices"),
    (lambda x: x[5], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda x: x[:, -5], IndexError, "index -5 is out of bounds for dimension 1 with size 4"),
    (lambda x: x[0, 0, 0, 0], IndexError, "too many indices for tensor of dimension 3"),
    (lambda x: x[ember.tensor([5])], IndexError, "index 5 is out of bounds"),
    (lambda x: x[::-1], ValueError, "step must be greater than zero"),
    (lambda x: x[::0], ValueError, "step must be greater than zero"),
    (lambda x: x[ember.tensor([True, False])], IndexError,
     "The shape of the mask [2] at index 0 does not match the shape of the indexed tensor "
     "[3, 4, 5] at index 0"),
    (lambda x: x[:, ember.tensor([True, False])], IndexError,
     "The shape of the mask [2] at index 0 does not match the shape of the indexed tensor "
     "[3, 4, 5] at index 1"),
    (lambda x: x[[0, 1], [1, 2, 0]], IndexError,
     "shape mismatch: indexing tensors could not be broadcast together with shapes [2], [3]"),
]


def torch_like_float(x):
    return ember.tensor([0.0])


@pytest.mark.parametrize("fn,exc,msg", GETITEM_ERRORS,
                         ids=[str(i) for i in range(len(GETITEM_ERRORS))])
def test_getitem_errors(fn, exc, msg):
    with pytest.raises(exc) as info:
        fn(_x(ember, requires_grad=False))
    assert msg in str(info.value)


# =========================================================================================
# tensor[index] = value

SETITEM = [
    # (id, index builder, value shape or a Python number)
    ("int_scalar", lambda m: 1, 2.5),
    ("int_tensor_value", lambda m: 0, (4, 5)),
    ("int_bcast_value", lambda m: 0, (5,)),
    ("int_0d_value", lambda m: 2, ()),
    ("int_lead_ones", lambda m: 0, (1, 1, 4, 5)),
    ("slice_step", lambda m: (slice(None), slice(None, None, 2)), (3, 2, 5)),
    ("slice_bcast", lambda m: (slice(1, None), 1), (1, 5)),
    ("ellipsis", lambda m: (Ellipsis, 1), (3, 4)),
    ("none", lambda m: (None, 0), (4, 5)),
    ("list", lambda m: [2, 0], (2, 4, 5)),
    ("list_bcast", lambda m: [2, 0], (5,)),
    ("repeated", lambda m: m.tensor([1, 1]), (2, 4, 5)),
    ("two_tensors", lambda m: (m.tensor([0, 2]), m.tensor([1, 3])), (2, 5)),
    ("separated", lambda m: (m.tensor([0, 2]), slice(None), m.tensor([4, 0])), (2, 4)),
    ("int_and_tensor", lambda m: (1, slice(None), m.tensor([4, 0])), (4, 2)),
    ("int_and_tensor_scalar", lambda m: (slice(None), m.tensor([[0], [3]]), 2), 5.0),
    ("mask_full", lambda m: m.tensor(np.arange(60).reshape(3, 4, 5) % 4 == 1), 7.0),
    ("mask_full_tensor", lambda m: m.tensor(np.arange(60).reshape(3, 4, 5) % 4 == 1), (15,)),
    ("mask_first", lambda m: m.tensor([False, True, True]), (4, 5)),
    ("mask_partial_scalar", lambda m: (slice(None), m.tensor([True, False, True, False])),
     -1.0),
    ("tensor_0d", lambda m: m.tensor(1), (4, 5)),
    ("everything", lambda m: Ellipsis, (3, 4, 5)),
    ("bool_true", lambda m: True, (3, 4, 5)),
]


def _run_setitem(m, idx, value):
    x = _x(m)
    y = x * 1.0                                # a non-leaf: it can be written in place
    if isinstance(value, tuple):
        v = m.tensor(np.linspace(-1, 1, int(np.prod(value))).reshape(value),
                     requires_grad=True)
    else:
        v = value
    y[idx(m)] = v
    g = np.arange(60, dtype=np.float64).reshape(3, 4, 5) + 1.0
    y.backward(m.tensor(g))
    return y, x.grad, (v.grad if isinstance(value, tuple) else None)


@pytest.mark.parametrize("name,idx,value", SETITEM, ids=[c[0] for c in SETITEM])
def test_setitem(name, idx, value):
    assert_close(_run_setitem(ember, idx, value), _run_setitem(torch, idx, value))


def test_setitem_no_grad_and_dtype_cast():
    x = ember.zeros(3, dtype=ember.int64)
    x[0] = 2.7
    x[1:] = ember.tensor([2.7, -1.5])
    t = torch.zeros(3, dtype=torch.int64)
    t[0] = 2.7
    t[1:] = torch.tensor([2.7, -1.5])
    assert_close(x, t)
    y = ember.zeros(2, 3)
    y[:, 1] = ember.tensor([1.0, 2.0], dtype=ember.float64)
    assert y.dtype == ember.float32 and y[1, 1].item() == 2.0
    z = ember.zeros(4)
    z[[0, 0, 1]] = ember.tensor([1.0, 2.0, 3.0])
    assert z.tolist() == [2.0, 3.0, 0.0, 0.0]   # the last write wins, as on PyTorch's CPU


def test_setitem_leaf_requiring_grad_raises():
    x = ember.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        x[0] = 1.0
    y = ember.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        y[1, ember.tensor([0, 2])] = 1.0
    with ember.no_grad():
        x[0] = 1.0
    assert x[0].item() == 1.0


SETITEM_ERRORS = [
    (lambda x: x.__setitem__(0, ember.ones(4, 3)), RuntimeError,
     "The expanded size of the tensor (5) must match the existing size (3) at non-singleton "
     "dimension 1.  Target sizes: [4, 5].  Tensor sizes: [4, 3]"),
    (lambda x: x.__setitem__(0, ember.ones(2, 4, 5)), RuntimeError,
     "the number of sizes provided (2) must be greater or equal to the number of dimensions "
     "in the tensor (3)"),
    (lambda x: x.__setitem__([0, 1], ember.ones(3, 4, 5)), RuntimeError,
     "shape mismatch: value tensor of shape [3, 4, 5] cannot be broadcast to indexing result "
     "of shape [2, 4, 5]"),
    (lambda x: x.__setitem__(ember.tensor([True, False, True]), ember.ones(3, 4, 5)),
     RuntimeError, "cannot be broadcast to indexing result of shape [2, 4, 5]"),
    (lambda x: x.__setitem__(0, [1.0, 2.0]), TypeError, "can't assign a list to a"),
    (lambda x: x.__setitem__(0, np.ones(5)), TypeError, "can't assign a numpy.ndarray"),
    (lambda x: x.__setitem__(0, 1 + 2j), RuntimeError, "cannot be converted"),
    (lambda x: x.__setitem__(7, 1.0), IndexError, "index 7 is out of bounds for dimension 0"),
    (lambda x: x.__setitem__(ember.tensor([0.5]), 1.0), IndexError,
     "tensors used as indices must be long, int, byte or bool tensors"),
]


@pytest.mark.parametrize("fn,exc,msg", SETITEM_ERRORS,
                         ids=[str(i) for i in range(len(SETITEM_ERRORS))])
def test_setitem_errors(fn, exc, msg):
    with pytest.raises(exc) as info:
        fn(_x(ember, requires_grad=False))
    assert msg in str(info.value)


# ------------------------------------------------------------------ writes through views
def test_chained_getitem_write_changes_base():
    x = ember.zeros(3, 4)
    x[0][1] = 5
    x[1][1:][::2] = 7
    x[2, :][ember.tensor([0, 3])] = 9            # advanced setitem on a basic view
    t = torch.zeros(3, 4)
    t[0][1] = 5
    t[1][1:][::2] = 7
    t[2, :][torch.tensor([0, 3])] = 9
    assert_close(x, t)


def test_inplace_on_view_changes_base_and_version():
    x = ember.tensor(np.arange(12.0).reshape(3, 4))
    v = x[:, 1]
    v0 = x._version
    v.mul_(2)
    assert x[:, 1].tolist() == [2.0, 10.0, 18.0]
    assert x._version == v._version == v0 + 1
    x.add_(1)                                   # and the other way round
    assert v.tolist() == [3.0, 11.0, 19.0]


def _view_chain_run(m):
    a = m.tensor(np.arange(24.0).reshape(2, 3, 4) / 10, requires_grad=True)
    w = m.tensor([0.5, -1.0, 2.0], dtype=m.float64, requires_grad=True)
    b = a * a
    v = b[:, 1]                                 # basic view of a non-leaf
    v.mul_(3)
    b[0, :, 2] = w                              # setitem with a tensor requiring grad
    mask = m.tensor((np.arange(12).reshape(3, 4) % 5) == 1)
    b[1][mask] = 0.0                            # masked write through a view
    u = b.transpose(1, 2)[..., 0]               # a view of a view
    u.add_(b[:, 0, :].clone())
    b[:, :, ::3] *= 2                            # augmented assignment on a strided view
    g = np.linspace(-1, 1, 24).reshape(2, 3, 4)
    b.backward(m.tensor(g))
    return b, a.grad, w.grad


def test_autograd_through_inplace_on_views_of_nonleaf():
    assert_close(_view_chain_run(ember), _view_chain_run(torch))


def test_saved_tensor_modified_through_view_raises():
    for m in (ember, torch):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = a * 1
        c = b * b                               # saves b
        b[0:2].mul_(2)                          # modifies b through a view
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            c.backward(m.ones(3))
