"""Reductions, scans and order statistics against PyTorch (tests/oracle.py), plus
gradcheck/gradgradcheck in float64 and the error cases."""
from __future__ import annotations

import math

import numpy as np
import pytest
from oracle import assert_close, check_op, requires_torch, torch

import ember

pytestmark = requires_torch

FLOATS = [np.float32, np.float64]
SHAPE = (2, 3, 4)
DIMS = [None, 0, -1, (0, 2)]          # None = all dims
ONE_DIMS = [0, -1, 1]


def _call(lib, name, *args, **kw):
    """``lib.name(x, *args, **kw)`` for lib = ember or torch."""

    def fn(*xs):
        mod = ember if lib == "ember" else torch
        return getattr(mod, name)(*xs, *args, **kw)
    return fn


def both(name, *args, **kw):
    return _call("ember", name, *args, **kw), _call("torch", name, *args, **kw)


def distinct(*shape, dtype=np.float64, seed=0, requires_grad=True):
    """Values with no ties (for min/max/sort/median style ops)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    arr = (rng.permutation(n) - n / 2).reshape(shape) / n + rng.uniform(0, 1e-3, shape)
    return ember.tensor(arr.astype(dtype), requires_grad=requires_grad)


# =======================================================================================
# sum / mean / nansum / nanmean / var / std / logsumexp / amax / amin / norm (dim tuples)

MULTI_DIM_OPS = [
    ("sum", {}), ("mean", {}), ("nansum", {}), ("nanmean", {}), ("var", {}), ("std", {}),
    ("var", {"correction": 0}), ("std", {"unbiased": False}), ("amax", {}), ("amin", {}),
    ("logsumexp", {}), ("norm", {}), ("norm", {"p": 1}), ("norm", {"p": 3}),
    ("norm", {"p": math.inf}), ("norm", {"p": -math.inf}), ("norm", {"p": 0.5}),
]


@pytest.mark.parametrize("name,kw", MULTI_DIM_OPS, ids=lambda v: str(v))
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_multi_dim_reductions(name, kw, dim, keepdim, dtype):
    if name == "logsumexp" and dim is None:
        dim = (0, 1, 2)                     # logsumexp requires dim
    x = distinct(*SHAPE, dtype=dtype)
    check_op(*both(name, dim=dim, keepdim=keepdim, **kw), [x])


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "amax", "amin", "logsumexp",
                                  "nansum", "nanmean", "prod", "norm"])
@pytest.mark.parametrize("dim", [0, -1])
def test_zero_dim_input(name, dim):
    x = ember.tensor(np.float64(1.7), requires_grad=True)
    e, t = both(name, dim, keepdim=True) if name != "norm" else both(name, dim=dim,
                                                                      keepdim=True)
    with np.errstate(all="ignore"), pytest.warns(UserWarning) if name in ("var", "std") \
            else _nullctx():
        check_op(e, t, [x])


class _nullctx:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_full_reductions_0d():
    x = ember.tensor(2.5, requires_grad=True)
    for name in ["sum", "mean", "prod", "amax", "amin", "max", "min", "median", "logsumexp"]:
        e, t = both(name) if name != "logsumexp" else both(name, 0)
        check_op(e, t, [x])


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_, np.int8])
@pytest.mark.parametrize("name", ["sum", "prod", "nansum", "cumsum", "cumprod"])
def test_integer_results(name, dtype):
    arr = np.array([[1, 0, 3], [2, 2, 1]]).astype(dtype)
    x = ember.tensor(arr)
    args = (1,) if name.startswith("cum") else ()
    check_op(*both(name, *args), [x])
    if not name.startswith("cum"):
        check_op(*both(name, 0, keepdim=True), [x])


@pytest.mark.parametrize("name", ["sum", "prod", "cumsum", "mean"])
def test_dtype_argument_casts_first(name):
    x = distinct(2, 3, dtype=np.float32)
    args = (1,) if name.startswith("cum") else ()
    e, t = _call("ember", name, *args, dtype=ember.float64), \
        _call("torch", name, *args, dtype=torch.float64)
    check_op(e, t, [x])
    xi = ember.tensor([[1, 2, 3], [4, 5, 6]])
    e, t = _call("ember", name, *args, dtype=ember.float32), \
        _call("torch", name, *args, dtype=torch.float32)
    check_op(e, t, [xi])


def test_float16_sum_mean():
    arr = np.linspace(-1, 1, 24).astype(np.float16).reshape(4, 6)
    for name in ["sum", "mean", "cumsum", "var", "prod"]:
        args = (1,) if name == "cumsum" else ()
        check_op(*both(name, *args), [ember.tensor(arr)], rtol=1e-3, atol=1e-3)


def test_sum_empty_and_list_dims():
    x = ember.zeros(0, 3)
    check_op(*both("sum"), [x])
    check_op(*both("sum", 0), [x])
    check_op(*both("prod", 0), [x])
    y = distinct(2, 3)
    check_op(*both("sum", [0, 1]), [y])
    check_op(*both("sum", dim=()), [y])          # an empty dim list reduces everything


def test_mean_empty_is_nan():
    check_op(*both("mean", 0), [ember.zeros(0, 3)])
    check_op(*both("mean"), [ember.zeros(0)])


def test_nan_ops():
    arr = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]])
    for name in ["nansum", "nanmean"]:
        for dim in [None, 0, 1]:
            check_op(*both(name, dim=dim), [ember.tensor(arr, requires_grad=True)])
    check_op(*both("nanmedian"), [ember.tensor(arr, requires_grad=True)])
    check_op(*both("nanmedian", 1), [ember.tensor(arr, requires_grad=True)])
    check_op(*both("median", 1), [ember.tensor(arr, requires_grad=True)])
    check_op(*both("median"), [ember.tensor(arr, requires_grad=True)])


# =======================================================================================
# prod / cumsum / cumprod: values and gradients, including zeros

PROD_INPUTS = {
    "nozero": [[1.5, -2.0, 0.5], [2.0, 3.0, -1.0]],
    "one_zero": [[1.5, 0.0, 0.5], [2.0, 3.0, -1.0]],
    "two_zeros": [[0.0, 0.0, 0.5], [2.0, 0.0, -1.0]],
    "all_zero": [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
}


@pytest.mark.parametrize("case", list(PROD_INPUTS))
@pytest.mark.parametrize("dim", [None, 0, 1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_prod(case, dim, keepdim):
    x = ember.tensor(PROD_INPUTS[case], dtype=ember.float64, requires_grad=True)
    check_op(*both("prod", *(() if dim is None else (dim, keepdim))), [x])
    ember.autograd.gradcheck(lambda t: ember.prod(t, *(() if dim is None else (dim,))), (x,))


@pytest.mark.parametrize("case", list(PROD_INPUTS) + ["late_zero"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumprod(case, dim):
    data = PROD_INPUTS.get(case, [[1.5, 2.0, 0.0], [0.5, 3.0, 0.0]])
    x = ember.tensor(data, dtype=ember.float64, requires_grad=True)
    check_op(*both("cumprod", dim), [x])
    ember.autograd.gradcheck(lambda t: ember.cumprod(t, dim), (x,))


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_cumsum(dim, dtype):
    check_op(*both("cumsum", dim), [distinct(*SHAPE, dtype=dtype)])


def test_cumsum_cumprod_inplace_and_methods():
    a = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    a.cumsum_(1)
    np.testing.assert_allclose(a.numpy(), [[1, 3], [3, 7]])
    a.cumprod_(0)
    np.testing.assert_allclose(a.numpy(), [[1, 3], [3, 21]])
    x = distinct(2, 3)
    assert_close(x.cumsum(dim=1), torch.from_numpy(x.detach().numpy()).cumsum(dim=1))


# =======================================================================================
# max / min / argmax / argmin / aminmax

@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", ONE_DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_max_min_dim(name, dim, keepdim, dtype):
    out = check_op(*both(name, dim, keepdim), [distinct(*SHAPE, dtype=dtype)])
    assert out.values is out[0] and out.indices is out[1]
    assert out.indices.dtype is ember.int64
    assert type(out).__name__ == name


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin", "amax", "amin"])
def test_full_max_min(name):
    check_op(*both(name), [distinct(*SHAPE)])


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("dim", [None, 0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_argmax_argmin(name, dim, keepdim):
    check_op(*both(name, dim=dim, keepdim=keepdim), [distinct(*SHAPE)])
    # ties and NaN: first occurrence, NaN counts as the extreme
    t = ember.tensor([[1.0, 5.0, 5.0, 0.0], [2.0, np.nan, 7.0, np.nan]])
    check_op(*both(name, dim=dim, keepdim=keepdim), [t])


def test_max_ties_and_nan():
    x = ember.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    for args in [(), (1,), (0,)]:
        check_op(*both("max", *args), [x])
        check_op(*both("min", *args), [x])
    n = ember.tensor([1.0, np.nan, 5.0, np.nan], requires_grad=True)
    check_op(*both("max", 0), [n])
    check_op(*both("max"), [n])


@pytest.mark.parametrize("name", ["amax", "amin"])
def test_amax_ties_split_gradient(name):
    x = ember.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    if name == "amin":
        x = ember.tensor([[1.0, 3.0, 1.0], [2.0, 2.0, 2.0]], requires_grad=True)
    for dim in [None, 0, 1, (0, 1)]:
        check_op(*both(name, *(() if dim is None else (dim,))), [x])
    y = x.detach().requires_grad_()
    getattr(ember, name)(y, 1).sum().backward()
    assert np.all(y.grad.numpy() != 1.0)            # the gradient is split, not copied


def test_max_binary_form():
    a, b = distinct(2, 3, seed=1), distinct(2, 3, seed=2)
    check_op(lambda x, y: ember.max(x, y), lambda x, y: torch.max(x, y), [a, b])
    check_op(lambda x, y: ember.min(x, y), lambda x, y: torch.min(x, y), [a, b])
    check_op(lambda x, y: x.max(y), lambda x, y: x.max(y), [a, b])
    t = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    u = ember.tensor([1.0, 1.0, 4.0], requires_grad=True)
    check_op(lambda x, y: ember.max(x, other=y), lambda x, y: torch.max(x, other=y), [t, u])


@pytest.mark.parametrize("dim", [None, 0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_aminmax(dim, keepdim):
    x = distinct(*SHAPE)
    out = check_op(*both("aminmax", dim=dim, keepdim=keepdim), [x])
    assert out.min is out[0] and out.max is out[1]
    y = ember.tensor([[1.0, 3.0, 3.0], [0.0, 0.0, 2.0]], requires_grad=True)
    check_op(*both("aminmax", dim=dim, keepdim=keepdim), [y])


def test_integer_max_min_argmax():
    x = ember.tensor([[3, 1, 4], [1, 5, 9]], dtype=ember.int32)
    for name, args in [("max", ()), ("max", (1,)), ("min", (0, True)), ("amax", (1,)),
                       ("argmax", (1,)), ("argmin", ()), ("aminmax", ())]:
        check_op(*both(name, *args), [x])


# =======================================================================================
# sort / argsort / msort / topk / kthvalue / median / nanmedian / mode

@pytest.mark.parametrize("dim", ONE_DIMS)
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_sort_argsort(dim, descending, dtype):
    x = distinct(*SHAPE, dtype=dtype)
    out = check_op(*both("sort", dim, descending), [x])
    assert out.values is out[0] and type(out).__name__ == "sort"
    check_op(*both("argsort", dim, descending), [x])


def test_sort_stable_ties_and_nan():
    x = ember.tensor([3.0, 1.0, 3.0, 2.0, 1.0, np.nan, 2.0], requires_grad=True)
    for descending in [False, True]:
        check_op(*both("sort", stable=True, descending=descending), [x])
        check_op(*both("argsort", stable=True, descending=descending), [x])
    b = ember.tensor([True, False, True, False])
    check_op(*both("sort", stable=True), [b])
    check_op(*both("msort"), [distinct(4, 3)])


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_topk(k, dim, largest, dtype):
    x = distinct(3, 4, dtype=dtype)
    out = check_op(*both("topk", k, dim, largest), [x])
    assert out.indices is out[1]


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_kthvalue(k, dim, keepdim):
    check_op(*both("kthvalue", k, dim, keepdim), [distinct(3, 4)])


@pytest.mark.parametrize("name", ["median", "nanmedian"])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_median(name, dim, keepdim, dtype):
    x = distinct(4, 3, 2, dtype=dtype)           # even and odd counts: the lower median
    if dim is None:
        check_op(*both(name), [x])
    else:
        out = check_op(*both(name, dim, keepdim), [x])
        assert out.values is out[0]


def test_median_ties_gradient_full():
    x = ember.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    check_op(*both("median"), [x])
    check_op(*both("median"), [ember.tensor([3, 1, 2, 2], dtype=ember.int64)])


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_mode(dim, keepdim):
    x = ember.tensor([[1.0, 3.0, 3.0, 1.0, 2.0, 2.0],
                      [5.0, 4.0, 5.0, 4.0, 4.0, 0.0],
                      [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]], requires_grad=True)
    out = check_op(*both("mode", dim, keepdim), [x])
    assert out.values is out[0] and type(out).__name__ == "mode"
    check_op(*both("mode", dim, keepdim), [ember.tensor([[2, 2, 7], [7, 1, 1], [7, 3, 3]])])


# =======================================================================================
# cummax / cummin

@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cummax_cummin(name, dim):
    out = check_op(*both(name, dim), [distinct(3, 4)])
    assert out.values is out[0] and type(out).__name__ == name
    # ties move the index forward; NaN propagates; the gradient accumulates at the index
    t = ember.tensor([[2.0, 1.0, 2.0, 3.0, 3.0], [2.0, np.nan, 1.0, 5.0, np.nan]],
                     requires_grad=True)
    check_op(*both(name, dim if dim != 1 else -1), [t])
    check_op(*both(name, 0), [ember.tensor([1, 1, 2, 0, 2])])


# =======================================================================================
# norm

@pytest.mark.parametrize("p", [2, 1, 3, 0.5, -1, math.inf, -math.inf, 0, "fro"])
@pytest.mark.parametrize("dim", [None, 1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_norm(p, dim, keepdim):
    x = ember.tensor([[1.0, -3.0, 3.0], [0.0, 2.0, -1.0]], requires_grad=True)
    check_op(*both("norm", p=p, dim=dim, keepdim=keepdim), [x])
    check_op(lambda t: t.norm(p, dim, keepdim), lambda t: t.norm(p, dim, keepdim),
             [distinct(2, 3)])


def test_norm_zero_vector_gradient_is_zero():
    check_op(*both("norm"), [ember.zeros(3, requires_grad=True)])
    check_op(*both("norm", dim=1), [ember.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)])


@pytest.mark.parametrize("dim", [None, (0, 1), (1, 2)])
def test_norm_nuclear(dim):
    x = distinct(3, 4) if dim is None else distinct(2, 3, 4)
    check_op(*both("norm", p="nuc", dim=dim), [x], rtol=1e-8, atol=1e-8)


def test_norm_dtype_argument():
    x = distinct(2, 3, dtype=np.float32)
    check_op(lambda t: ember.norm(t, dtype=ember.float64),
             lambda t: torch.norm(t, dtype=torch.float64), [x])


# =======================================================================================
# all / any / count_nonzero

@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dtype", [np.bool_, np.float32, np.int64, np.uint8])
def test_all_any(name, dim, keepdim, dtype):
    arr = np.array([[[1, 0], [1, 1]], [[0, 0], [1, 1]]]).astype(dtype)
    check_op(*both(name, dim=dim, keepdim=keepdim), [ember.tensor(arr)])


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_count_nonzero(dim):
    x = ember.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])
    check_op(*both("count_nonzero", dim=dim), [x])


# =======================================================================================
# unique / unique_consecutive / bincount / histc / diff

@pytest.mark.parametrize("inv", [False, True])
@pytest.mark.parametrize("counts", [False, True])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_unique(inv, counts, dim):
    x = ember.tensor([[3, 1, 3], [2, 1, 2], [3, 1, 3]])
    check_op(*both("unique", return_inverse=inv, return_counts=counts, dim=dim), [x])
    check_op(*both("unique_consecutive", return_inverse=inv, return_counts=counts, dim=dim),
             [x])
    f = ember.tensor([1.5, 1.5, -2.0, 1.5, 0.0, 0.0])
    check_op(*both("unique", return_inverse=inv, return_counts=counts), [f])
    check_op(*both("unique_consecutive", return_inverse=inv, return_counts=counts), [f])


def test_bincount():
    x = ember.tensor([1, 3, 1, 0, 7])
    check_op(*both("bincount"), [x])
    check_op(*both("bincount", minlength=10), [x])
    for w in [np.float32, np.float64, np.int64]:
        ws = ember.tensor(np.array([0.5, 1, 2, 3, 1]).astype(w))
        check_op(lambda a, b: ember.bincount(a, b), lambda a, b: torch.bincount(a, b), [x, ws])
    check_op(*both("bincount"), [ember.tensor(np.zeros(0, np.int64))])


@pytest.mark.parametrize("bins,lo,hi", [(4, 0, 0), (4, 0, 3), (7, -1, 10), (1, 0, 0)])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_histc(bins, lo, hi, dtype):
    x = ember.tensor(np.array([1.0, 2, 1, 5, 7, 3, -0.5, 10]).astype(dtype))
    check_op(*both("histc", bins=bins, min=lo, max=hi), [x])
    check_op(*both("histc", bins=bins), [ember.tensor(np.array([2.0, 2.0], dtype=dtype))])


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("dim", [0, -1])
def test_diff(n, dim):
    x = distinct(4, 5)
    check_op(*both("diff", n, dim), [x])
    pre, app = distinct(4, 5, seed=3)[:2], distinct(4, 5, seed=4)[:1]
    if dim == -1:
        pre, app = distinct(4, 2, seed=3), distinct(4, 1, seed=4)
    check_op(lambda a, p, q: ember.diff(a, n, dim, prepend=p, append=q),
             lambda a, p, q: torch.diff(a, n, dim, prepend=p, append=q), [x, pre, app])
    check_op(*both("diff"), [ember.tensor([True, False, False, True])])
    check_op(*both("diff"), [ember.tensor([1, 4, 2])])


# =======================================================================================
# gradcheck / gradgradcheck in float64

def _g(*shape, seed=0):
    return distinct(*shape, seed=seed)


GRAD_FNS = {
    "sum": lambda t: t.sum(1),
    "sum_all": lambda t: t.sum(),
    "mean": lambda t: t.mean((0, 1), keepdim=True),
    "nansum": lambda t: ember.nansum(t, 0),
    "nanmean": lambda t: ember.nanmean(t, 1),
    "var": lambda t: t.var(1),
    "var_c0": lambda t: t.var(correction=0),
    "std": lambda t: t.std(0),
    "std_all": lambda t: t.std(),
    "var_mean": lambda t: ember.var_mean(t, 1),
    "std_mean": lambda t: ember.std_mean(t, 0),
    "prod": lambda t: t.prod(1),
    "prod_all": lambda t: t.prod(),
    "logsumexp": lambda t: t.logsumexp(1),
    "cumsum": lambda t: t.cumsum(1),
    "cumprod": lambda t: t.cumprod(1),
    "amax": lambda t: t.amax(1),
    "amin": lambda t: t.amin(),
    "max": lambda t: t.max(),
    "max_dim": lambda t: t.max(1).values,
    "min_dim": lambda t: t.min(0, keepdim=True).values,
    "norm": lambda t: t.norm(),
    "norm_dim": lambda t: t.norm(dim=1),
    "norm_p1": lambda t: t.norm(p=1),
    "norm_p3": lambda t: t.norm(p=3, dim=0),
    "norm_inf": lambda t: t.norm(p=math.inf),
    "norm_nuc": lambda t: t.norm(p="nuc"),
    "median": lambda t: t.median(),
    "median_dim": lambda t: t.median(1).values,
    "kthvalue": lambda t: t.kthvalue(2, 1).values,
    "topk": lambda t: t.topk(2, 1).values,
    "sort": lambda t: t.sort(1, descending=True).values,
    "cummax": lambda t: t.cummax(1).values,
    "cummin": lambda t: t.cummin(0).values,
    "mode": lambda t: t.mode(1).values,
    "diff": lambda t: t.diff(2),
}

GRADGRAD = ["sum", "sum_all", "mean", "var", "var_c0", "std", "std_all", "prod", "prod_all",
            "logsumexp", "cumsum", "cumprod", "norm", "norm_dim", "norm_p1", "norm_p3",
            "norm_inf", "amax", "max_dim", "median", "sort", "cummax", "diff", "nanmean"]


@pytest.mark.parametrize("name", list(GRAD_FNS))
def test_gradcheck(name):
    assert ember.autograd.gradcheck(GRAD_FNS[name], (_g(2, 3),))


@pytest.mark.parametrize("name", GRADGRAD)
def test_gradgradcheck(name):
    assert ember.autograd.gradgradcheck(GRAD_FNS[name], (_g(2, 3),))


def test_gradgradcheck_prod_cumprod_with_zero():
    x = ember.tensor([[1.5, 0.0, 0.5], [2.0, 3.0, -1.0]], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda t: t.prod(1), (x,))
    assert ember.autograd.gradgradcheck(lambda t: t.cumprod(1), (x,))


# =======================================================================================
# Named tuples, grad_fn names, errors

def test_named_tuple_fields_and_repr():
    x = distinct(2, 3)
    r = x.max(1)
    values, indices = r
    assert values is r.values and indices is r.indices
    assert r._fields == ("values", "indices")
    assert "values=" in repr(r) and "indices=" in repr(r)
    assert x.aminmax()._fields == ("min", "max")
    assert r.values.grad_fn.name() == "MaxBackward0"
    assert x.sum().grad_fn.name() == "SumBackward0"
    assert x.sort().values.grad_fn.name() == "SortBackward0"


ERRORS = [
    (lambda: ember.sum(distinct(2, 3), 5), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 5)"),
    (lambda: distinct(2, 3).mean(-3), IndexError, "but got -3"),
    (lambda: ember.tensor(1.0).sum(1), IndexError, "[-1, 0]"),
    (lambda: ember.sum(distinct(2, 3), (0, 0)), RuntimeError, "dim 0 appears multiple times"),
    (lambda: ember.tensor([1, 2]).mean(), RuntimeError,
     ("mean(): could not infer output dtype. Input dtype must be either a floating point or "
      "complex dtype. Got: Long")),
    (lambda: ember.tensor([1.0]).mean(dtype=ember.int64), RuntimeError, "Optional dtype"),
    (lambda: ember.tensor([1, 2]).var(), RuntimeError, "std and var only support floating"),
    (lambda: ember.tensor([1, 2]).nanmean(), RuntimeError, "nanmean(): expected input"),
    (lambda: ember.zeros(0, 3).max(), RuntimeError, "Expected reduction dim to be specified"),
    (lambda: ember.zeros(0, 3).max(0), IndexError,
     "max(): Expected reduction dim 0 to have non-zero size"),
    (lambda: ember.zeros(0, 3).amin(), RuntimeError, "amin(): Expected reduction dim"),
    (lambda: ember.zeros(0, 3).amax(0), IndexError, "dim 0 to have non-zero size"),
    (lambda: ember.zeros(0, 3).argmax(), IndexError, "argmax(): Expected reduction dim"),
    (lambda: ember.zeros(0, 3).aminmax(), RuntimeError, "no identity"),
    (lambda: ember.zeros(0, 3).median(0), IndexError, "median(): Expected reduction dim 0"),
    (lambda: ember.zeros(0, 3).kthvalue(1, 0), IndexError, "kthvalue()"),
    (lambda: distinct(2, 3).kthvalue(4), RuntimeError, "selected number k out of range"),
    (lambda: distinct(2, 3).topk(4), RuntimeError, "selected index k out of range"),
    (lambda: ember.tensor([1, 2]).norm(), RuntimeError, "Expected a floating point"),
    (lambda: distinct(2, 3).norm(p="abc"), RuntimeError, "Order abc not supported"),
    (lambda: distinct(2, 3, 4).norm(p="fro", dim=(0, 1, 2)), RuntimeError,
     "dim must be a 2-tuple"),
    (lambda: distinct(2, 3).norm(p="nuc", dim=1), RuntimeError, "dim must be a 2-tuple"),
    (lambda: ember.zeros(0, 3).norm(p=math.inf), RuntimeError, "inf norm on an empty"),
    (lambda: ember.bincount(ember.tensor([-1, 2])), RuntimeError, "non-negative"),
    (lambda: ember.bincount(ember.tensor([1.0])), NotImplementedError, "bincount_cpu"),
    (lambda: ember.histc(ember.tensor([1, 2])), NotImplementedError, "histogram_cpu"),
    (lambda: ember.histc(ember.tensor([1.0]), bins=0), RuntimeError, "bins must be > 0"),
    (lambda: ember.histc(ember.tensor([1.0]), min=3, max=1), RuntimeError,
     "max must be larger than min"),
    (lambda: ember.diff(ember.tensor(1.0)), RuntimeError, "at least one-dimensional"),
    (lambda: ember.prod(distinct(2, 3), (0, 1)), TypeError, "'dim' must be int"),
    (lambda: ember.sum(distinct(2, 3), 1.5), TypeError, "dim"),
    (lambda: ember.cumsum(distinct(2, 3), 2), IndexError, "Dimension out of range"),
]


@pytest.mark.parametrize("fn,exc,msg", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors(fn, exc, msg):
    with pytest.raises(exc) as info:
        fn()
    assert msg in str(info.value)


def test_var_degrees_of_freedom_warning():
    with pytest.warns(UserWarning, match="degrees of freedom"):
        r = ember.tensor([1.0]).var()
    assert np.isnan(r.item())


def test_var_legacy_signatures():
    x = distinct(3, 4)
    tx = torch.from_numpy(x.detach().numpy())
    assert_close(x.var(0, True, True), tx.var(0, True, True))
    assert_close(x.var(False), tx.var(False))
    assert_close(x.std(1, correction=2), tx.std(1, correction=2))
    assert_close(ember.var_mean(x, 1, keepdim=True), torch.var_mean(tx, 1, keepdim=True))
    assert_close(ember.std_mean(x, unbiased=False), torch.std_mean(tx, unbiased=False))
    with pytest.raises(TypeError):
        x.var(unbiased=False, correction=0)


def test_out_argument():
    x = distinct(2, 3, requires_grad=False)
    o = ember.empty(0)
    r = ember.sum(x, 1, out=o)
    assert r is o
    np.testing.assert_allclose(o.numpy(), x.numpy().sum(1))
    v, i = ember.empty(0), ember.empty(0, dtype=ember.int64)
    ember.max(x, 1, out=(v, i))
    np.testing.assert_array_equal(i.numpy(), x.numpy().argmax(1))


def test_empty_results_match_torch():
    e = ember.zeros(0, 3)
    for name, args in [("sum", (0,)), ("prod", ()), ("logsumexp", (0,)), ("max", (1,)),
                       ("sort", (0,)), ("cummax", (0,)), ("cumprod", (0,)), ("topk", (0, 0)),
                       ("median", ()), ("mode", ()), ("norm", ()), ("amax", (1,))]:
        with np.errstate(all="ignore"):
            check_op(*both(name, *args), [e])


def test_std_of_constant_has_zero_gradient():
    x = ember.tensor([[1.0, 1.0, 1.0], [2.0, 3.0, 4.0]], dtype=ember.float64,
                     requires_grad=True)
    check_op(*both("std", 1), [x])
    check_op(*both("std"), [ember.ones(4, requires_grad=True)])


def test_logsumexp_infinities():
    x = ember.tensor([[-np.inf, -np.inf], [np.inf, 1.0], [0.0, 1000.0]], requires_grad=True)
    check_op(*both("logsumexp", 1), [x], grad=False)
    y = ember.tensor([[1000.0, 1000.0], [-1000.0, -999.0]], requires_grad=True)
    check_op(*both("logsumexp", 1), [y])
    check_op(*both("logsumexp", 0), [ember.tensor([[1, 2], [3, 4]])])   # int -> float32


@pytest.mark.parametrize("name,args", [
    ("max", (0,)), ("min", (-1, True)), ("argmax", (0,)), ("sort", (0,)), ("argsort", ()),
    ("topk", (1,)), ("kthvalue", (1, 0)), ("median", (0,)), ("nanmedian", (-1,)),
    ("mode", (0,)), ("cummax", (0,)), ("cummin", (-1,)), ("cumsum", (0,)),
    ("cumprod", (0,)), ("aminmax", ()), ("count_nonzero", (0,)), ("all", (0,)),
])
def test_zero_dim_order_ops(name, args):
    check_op(*both(name, *args), [ember.tensor(1.5, requires_grad=True)])
