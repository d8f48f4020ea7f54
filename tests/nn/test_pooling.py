"""Pooling (max, average, adaptive, LP, max unpooling): functional forms and layers against
PyTorch (values, indices, input gradients), numerical gradient checks, double backward,
reprs and PyTorch's errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
from oracle import assert_close, requires_torch, torch

import ember

enn = ember.nn
F = enn.functional
gradcheck, gradgradcheck = ember.autograd.gradcheck, ember.autograd.gradgradcheck

DTYPES = [np.float32, np.float64]


def distinct(*shape, dtype=np.float64, seed=0):
    """Values without ties (so the argmax, and with it the gradient, is unambiguous)."""
    rng = np.random.default_rng(seed)
    n = math.prod(shape)
    return (rng.permutation(n).reshape(shape) / max(n, 1) - 0.5).astype(dtype)


def outcome(fn):
    try:
        r = fn()
        return ("ok", tuple(r.shape) if hasattr(r, "shape") else len(r))
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch", "ember")


def compare(e_fn, t_fn, x, grad=True, seed=1, **tol):
    """Run both on the array ``x``; compare all outputs (values and indices) and the input
    gradient for a random output gradient."""
    ex = ember.tensor(x, requires_grad=grad)
    tx = torch.tensor(x, requires_grad=grad)
    eo, to = e_fn(ex), t_fn(tx)
    assert_close(eo, to, msg="forward", **tol)
    if not grad:
        return eo
    ev = eo[0] if isinstance(eo, tuple) else eo
    tv = to[0] if isinstance(to, tuple) else to
    g = np.random.default_rng(seed).standard_normal(tv.shape).astype(x.dtype)
    (eg,) = ember.autograd.grad(ev, ex, ember.tensor(g))
    (tg,) = torch.autograd.grad(tv, tx, torch.tensor(g))
    assert_close(eg, tg, msg="grad", **tol)
    return eo


def fn_pair(name, *args, **kwargs):
    return (lambda x: getattr(F, name)(x, *args, **kwargs),
            lambda x: getattr(torch.nn.functional, name)(x, *args, **kwargs))


# ------------------------------------------------------------------ max pooling
MAX_CASES = [
    (1, (2, 3, 9), dict(kernel_size=2)),
    (1, (2, 3, 9), dict(kernel_size=3, stride=2, padding=1)),
    (1, (2, 3, 10), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (1, (3, 11), dict(kernel_size=3, stride=1, padding=1, dilation=2)),
    (1, (2, 2, 8), dict(kernel_size=4, stride=3, padding=2, dilation=2, ceil_mode=True)),
    (2, (2, 3, 6, 7), dict(kernel_size=2)),
    (2, (2, 3, 7, 7), dict(kernel_size=3, stride=2, padding=1)),
    (2, (2, 3, 7, 8), dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 0))),
    (2, (1, 2, 8, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (2, (1, 2, 5, 5), dict(kernel_size=2, stride=2, ceil_mode=True)),
    # ceil mode: a last window that would start in the right padding is dropped
    (2, (1, 2, 5, 6), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
    (2, (2, 9, 9), dict(kernel_size=3, stride=2, padding=1, dilation=2)),
    (2, (1, 2, 9, 8), dict(kernel_size=(3, 2), stride=(3, 2), dilation=(2, 3), ceil_mode=True)),
    (2, (1, 1, 6, 6), dict(kernel_size=2, stride=1)),
    (2, (1, 2, 4, 4), dict(kernel_size=4, padding=2)),
    (2, (1, 2, 4, 5), dict(kernel_size=1, stride=2)),
    # large kernels: reduced one dimension at a time
    (2, (2, 2, 9, 11), dict(kernel_size=4, stride=2, padding=2, ceil_mode=True)),
    (2, (1, 2, 11, 12), dict(kernel_size=(5, 4), stride=(3, 1), padding=(2, 1),
                             dilation=(2, 1))),
    (3, (1, 2, 4, 5, 6), dict(kernel_size=2)),
    (3, (2, 4, 5, 5), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (3, (1, 1, 5, 6, 7), dict(kernel_size=(2, 3, 2), stride=(1, 2, 3), padding=(1, 1, 0),
                              dilation=(2, 1, 2))),
]


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd,shape,kw", MAX_CASES)
def test_max_pool_matches_torch(nd, shape, kw, dtype):
    x = distinct(*shape, dtype=dtype)
    name = f"max_pool{nd}d"
    # values and input gradient, through the plain and the with-indices paths
    compare(*fn_pair(name, **kw), x)
    compare(*fn_pair(name, return_indices=True, **kw), x)
    compare(*fn_pair(name + "_with_indices", **kw), x)
    compare(*fn_pair(name, **kw), x, grad=False)


@requires_torch
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_ties_nan_and_inf_match_torch(nd):
    # ties: the first maximum in window order; NaN: the last NaN; a window holding only
    # -inf (real or padding): the window's first position inside the input
    rng = np.random.default_rng(0)
    shape = (2, 3) + (6,) * nd
    x = rng.integers(0, 3, size=shape).astype(np.float64)
    x[rng.random(shape) < 0.1] = np.nan
    x[..., :2] = -np.inf
    for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
               dict(kernel_size=2, stride=1, padding=1, dilation=2, ceil_mode=True),
               dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)]:
        compare(*fn_pair(f"max_pool{nd}d", return_indices=True, **kw), x, grad=False)
    y = np.full(shape, -np.inf)
    compare(*fn_pair(f"max_pool{nd}d", 3, 2, 1, return_indices=True), y, grad=False)


@requires_torch
def test_max_pool_window_wholly_in_padding():
    # with dilation and ceil_mode a window can hold no input element: PyTorch gives -inf and
    # the flat index of its first would-be position, which may alias the next row (the
    # gradient goes there, as in PyTorch) or lie past the input (dropped; PyTorch writes
    # out of bounds, so its gradient is not the reference here)
    x = distinct(1, 1, 3, 2)
    args = ((1, 2), (1, 2), (0, 1), (1, 3), True, True)
    e = F.max_pool2d(ember.tensor(x, requires_grad=True), *args)
    t = torch.nn.functional.max_pool2d(torch.tensor(x), *args)
    assert_close(e, t)
    assert e[1].flatten().tolist() == [2, 4, 6]
    ex = ember.tensor(x, requires_grad=True)
    y = F.max_pool2d(ex, *args)[0]
    (g,) = ember.autograd.grad(y, ex, ember.tensor([[[[1.0], [2.0], [3.0]]]]),
                               create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy(), [[[[0, 0], [1, 0], [2, 0]]]])
    assert gradgradcheck(lambda x: F.max_pool2d(x, *args[:-1]), (ex,))


@requires_torch
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_max_pool_integers_match_torch(dtype):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(2, 3, 5, 6)).astype(dtype)
    x[0, 0] = np.iinfo(dtype).min
    for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)]:
        compare(*fn_pair("max_pool2d", return_indices=True, **kw), x, grad=False)
        compare(*fn_pair("max_pool3d", 2, return_indices=True), x[None], grad=False)
        compare(*fn_pair("max_pool1d", 2, return_indices=True), x[0], grad=False)


@requires_torch
def test_max_pool_empty_batch_matches_torch():
    for nd in (1, 2, 3):
        x = np.zeros((0, 2) + (4,) * nd)
        compare(*fn_pair(f"max_pool{nd}d", 2, return_indices=True), x)
        compare(*fn_pair(f"avg_pool{nd}d", 2), x)


@requires_torch
def test_max_pool_grad_fn_names_match_torch():
    x = ember.tensor(distinct(1, 1, 4, 4), requires_grad=True)
    assert F.max_pool2d(x, 2).grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    assert F.max_pool3d(x[None], (1, 2, 2)).grad_fn.name() == "MaxPool3DWithIndicesBackward0"
    assert F.avg_pool2d(x, 2).grad_fn.name() == "AvgPool2DBackward0"
    with ember.no_grad():
        assert F.max_pool2d(x, 2).grad_fn is None
    _, idx = F.max_pool2d(x, 2, return_indices=True)
    assert idx.dtype == ember.int64 and not idx.requires_grad


# ------------------------------------------------------------------ average pooling
AVG_CASES = [
    (1, (2, 3, 9), dict(kernel_size=2)),
    (1, (2, 3, 9), dict(kernel_size=3, stride=2, padding=1)),
    (1, (3, 10), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                      count_include_pad=False)),
    (1, (2, 2, 6), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
    (2, (2, 3, 6, 7), dict(kernel_size=2)),
    (2, (2, 3, 7, 7), dict(kernel_size=3, stride=2, padding=1)),
    (2, (2, 3, 7, 7), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    (2, (1, 2, 8, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (2, (1, 2, 8, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                           count_include_pad=False)),
    (2, (1, 2, 6, 6), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
    (2, (1, 2, 5, 6), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
    (2, (1, 2, 6, 6), dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1),
                           divisor_override=5)),
    (2, (2, 5, 5), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                        divisor_override=-2)),
    (2, (1, 1, 6, 6), dict(kernel_size=3, stride=1)),
    (3, (1, 2, 4, 5, 6), dict(kernel_size=2)),
    (3, (2, 5, 5, 5), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                           count_include_pad=False)),
    (3, (1, 1, 4, 5, 6), dict(kernel_size=(2, 3, 2), stride=(1, 2, 3), padding=(1, 1, 0),
                              divisor_override=3)),
]


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd,shape,kw", AVG_CASES)
def test_avg_pool_matches_torch(nd, shape, kw, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    compare(*fn_pair(f"avg_pool{nd}d", **kw), x)


@requires_torch
@pytest.mark.parametrize("name,args", [
    ("max_pool2d", (3, 2, 1)), ("avg_pool2d", (3, 2, 1)), ("avg_pool1d", (3, 1, 1)),
    ("adaptive_avg_pool2d", ((4, 3),)), ("adaptive_max_pool2d", ((4, 3),)),
])
def test_half_precision_matches_torch(name, args):
    # float16 averages accumulate in float32 (rounded once), as PyTorch's
    x = (distinct(2, 3, 9, 7) * 200).astype(np.float16)
    compare(*fn_pair(name, *args), x if name[-2] == "2" else x[0], rtol=1e-3, atol=1e-3)


@requires_torch
def test_avg_pool_int64_truncates_like_torch():
    x = np.array([[[[-3, 0, 5, 2, -7, 1]]]], dtype=np.int64)
    for kw in [dict(kernel_size=(1, 2)), dict(kernel_size=(1, 3), stride=1, padding=(0, 1)),
               dict(kernel_size=(1, 2), divisor_override=-4)]:
        compare(*fn_pair("avg_pool2d", **kw), x, grad=False)
    compare(*fn_pair("avg_pool1d", 2), x[0], grad=False)
    compare(*fn_pair("avg_pool3d", (1, 1, 2)), x[None], grad=False)


# ------------------------------------------------------------------ adaptive pooling
ADAPTIVE_CASES = [
    (1, (2, 3, 8), 4), (1, (2, 3, 7), 3), (1, (3, 5), 8), (1, (2, 3, 5), 1), (1, (2, 3, 5), 0),
    (2, (2, 3, 6, 8), (3, 4)), (2, (2, 3, 7, 5), (3, 2)), (2, (3, 5, 7), 3),
    (2, (2, 3, 5, 7), (None, 3)), (2, (1, 2, 3, 4), (5, 7)), (2, (2, 3, 5, 6), 1),
    (2, (2, 3, 5, 6), (1, 1)), (2, (1, 2, 4, 6), (2, 1)), (2, (1, 2, 4, 6), (0, 3)),
    (3, (1, 2, 4, 6, 8), (2, 3, 4)), (3, (2, 5, 6, 7), (3, None, 4)), (3, (1, 2, 3, 4, 5), 1),
    (3, (1, 1, 3, 5, 4), (2, 2, 3)),
]


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd,shape,out", ADAPTIVE_CASES)
def test_adaptive_pool_matches_torch(nd, shape, out, dtype):
    x = distinct(*shape, dtype=dtype)
    grad = 0 not in np.atleast_1d(out)      # (PyTorch's backward rejects an empty output)
    compare(*fn_pair(f"adaptive_avg_pool{nd}d", out), x, grad=grad)
    compare(*fn_pair(f"adaptive_max_pool{nd}d", out, return_indices=True), x, grad=grad)
    compare(*fn_pair(f"adaptive_max_pool{nd}d", out), x, grad=grad)


@requires_torch
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_adaptive_max_ties_and_nan_match_torch(nd):
    rng = np.random.default_rng(1)
    shape = (2, 3) + (7,) * nd
    x = rng.integers(0, 3, size=shape).astype(np.float64)
    x[rng.random(shape) < 0.08] = np.nan
    x[..., :2] = -np.inf
    for out in (3, 2, 7):
        compare(*fn_pair(f"adaptive_max_pool{nd}d", out, return_indices=True), x, grad=False)


# ------------------------------------------------------------------ max unpooling
UNPOOL_CASES = [
    (1, (2, 3, 8), dict(kernel_size=2), None),
    (1, (3, 9), dict(kernel_size=3, stride=2, padding=1), (9,)),
    (2, (2, 3, 6, 8), dict(kernel_size=2), None),
    (2, (1, 2, 5, 5), dict(kernel_size=2), (5, 5)),
    (2, (1, 2, 5, 5), dict(kernel_size=2), (1, 2, 5, 5)),
    (2, (2, 7, 7), dict(kernel_size=3, stride=2, padding=1), None),
    (2, (1, 2, 6, 6), dict(kernel_size=3, stride=1), None),     # overlapping windows
    (3, (1, 2, 4, 4, 6), dict(kernel_size=2), None),
    (3, (2, 5, 5, 5), dict(kernel_size=3, stride=2, padding=1), (5, 5, 5)),
]


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd,shape,kw,out", UNPOOL_CASES)
def test_max_unpool_round_trip_matches_torch(nd, shape, kw, out, dtype):
    x = distinct(*shape, dtype=dtype)
    pool, unpool = f"max_pool{nd}d", f"max_unpool{nd}d"

    def run(mod, t):
        y, idx = getattr(mod, pool)(t, return_indices=True, **kw)
        return getattr(mod, unpool)(y * 2, idx, output_size=out, **kw)

    compare(lambda t: run(F, t), lambda t: run(torch.nn.functional, t), x)
    # and through the layers
    em = getattr(enn, f"MaxUnpool{nd}d")(**kw)
    tm = getattr(torch.nn, f"MaxUnpool{nd}d")(**kw)
    ep = getattr(enn, f"MaxPool{nd}d")(return_indices=True, **kw)
    tp = getattr(torch.nn, f"MaxPool{nd}d")(return_indices=True, **kw)
    compare(lambda t: em(*ep(t), output_size=out), lambda t: tm(*tp(t), output_size=out), x)


@requires_torch
def test_max_unpool_gradient_of_values_matches_torch():
    y = distinct(1, 2, 2, 3)
    idx = np.array([[[[0, 3, 5], [12, 9, 23]], [[1, 2, 7], [14, 16, 17]]]])
    e = F.max_unpool2d(ember.tensor(y, requires_grad=True), ember.tensor(idx), 2,
                       output_size=(4, 6))
    t = torch.nn.functional.max_unpool2d(torch.tensor(y, requires_grad=True),
                                         torch.tensor(idx), 2, output_size=(4, 6))
    assert_close(e, t)


# ------------------------------------------------------------------ LP pooling
LP_CASES = [
    (1, (2, 3, 9), 2, 3, None, False), (1, (3, 10), 1.5, 3, 2, True),
    (1, (2, 3, 8), float("inf"), 2, None, False),
    (2, (2, 3, 6, 7), 2, 2, None, False), (2, (1, 2, 7, 7), 3, (3, 2), (2, 1), True),
    (2, (2, 5, 5), 1, 2, 1, False), (2, (1, 2, 6, 6), float("-inf"), 3, 2, False),
    (3, (1, 2, 4, 5, 6), 2, 2, None, True),
]


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd,shape,p,k,s,ceil", LP_CASES)
def test_lp_pool_matches_torch(nd, shape, p, k, s, ceil, dtype):
    x = distinct(*shape, dtype=dtype) + 0.75      # positive: defined for fractional p
    compare(*fn_pair(f"lp_pool{nd}d", p, k, s, ceil), x)
    em = getattr(enn, f"LPPool{nd}d")(p, k, s, ceil)
    tm = getattr(torch.nn, f"LPPool{nd}d")(p, k, s, ceil)
    compare(em, tm, x)


@requires_torch
def test_lp_pool_zero_window_gradient_matches_torch():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 0] = 0.5
    compare(*fn_pair("lp_pool2d", 2, 2), x)


# ------------------------------------------------------------------ layers
REPR_CASES = [
    ("MaxPool2d", (2,), {}), ("MaxPool1d", (3, 1, 1, 2, True, True), {}),
    ("MaxPool2d", ((2, 3),), dict(stride=(1, 2))), ("MaxPool3d", (2,), dict(padding=1)),
    ("AvgPool1d", (2,), {}), ("AvgPool2d", (2,), {}),
    ("AvgPool2d", ((2, 3), 1, 1, True, False, 3), {}), ("AvgPool3d", (2,), {}),
    ("AdaptiveAvgPool1d", (3,), {}), ("AdaptiveAvgPool2d", (1,), {}),
    ("AdaptiveAvgPool2d", ((1, 1),), {}), ("AdaptiveAvgPool2d", ((None, 2),), {}),
    ("AdaptiveAvgPool3d", ((1, 2, 3),), {}), ("AdaptiveMaxPool1d", (3,), {}),
    ("AdaptiveMaxPool2d", (3, True), {}), ("AdaptiveMaxPool3d", ((1, 2, 3),), {}),
    ("LPPool1d", (1.5, 3, 2, True), {}), ("LPPool2d", (2, 3), {}), ("LPPool3d", (2, 2), {}),
    ("MaxUnpool1d", (2,), {}), ("MaxUnpool2d", (2,), {}), ("MaxUnpool3d", (2, 1, 0), {}),
]


@requires_torch
@pytest.mark.parametrize("name,args,kw", REPR_CASES)
def test_layer_repr_and_state_match_torch(name, args, kw):
    em, tm = getattr(enn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(em) == repr(tm)
    assert em.state_dict() == {} and list(em.parameters()) == []
    for attr in ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "output_size",
                 "return_indices", "count_include_pad", "divisor_override", "norm_type"):
        assert getattr(em, attr, None) == getattr(tm, attr, None), attr


LAYER_CASES = [
    ("MaxPool1d", (3, 2, 1), (2, 3, 9)), ("MaxPool1d", (2,), (3, 8)),
    ("MaxPool2d", (2,), (2, 3, 6, 6)), ("MaxPool2d", (3, 2, 1, 1, False, True), (3, 7, 7)),
    ("MaxPool3d", (2,), (1, 2, 4, 4, 4)), ("MaxPool3d", (2, 1), (2, 3, 3, 3)),
    ("AvgPool1d", (3, 2, 1), (2, 3, 9)), ("AvgPool2d", (2,), (2, 3, 6, 6)),
    ("AvgPool2d", (3, 2, 1, True, False), (3, 7, 7)), ("AvgPool3d", (2,), (1, 2, 4, 4, 4)),
    ("AdaptiveAvgPool1d", (4,), (2, 3, 9)), ("AdaptiveAvgPool2d", ((2, 3),), (2, 3, 5, 7)),
    ("AdaptiveAvgPool2d", (1,), (3, 5, 7)), ("AdaptiveAvgPool3d", (2,), (1, 2, 3, 4, 5)),
    ("AdaptiveMaxPool1d", (4, True), (2, 3, 9)), ("AdaptiveMaxPool2d", ((2, 3),), (2, 3, 5, 7)),
    ("AdaptiveMaxPool3d", (2,), (2, 3, 4, 5)),
]


@requires_torch
@pytest.mark.parametrize("name,args,shape", LAYER_CASES)
def test_layer_forward_backward_matches_torch(name, args, shape):
    em, tm = getattr(enn, name)(*args), getattr(torch.nn, name)(*args)
    compare(em, tm, distinct(*shape, dtype=np.float32))


# ------------------------------------------------------------------ numerical gradients
GRAD_FNS = [
    lambda x: F.max_pool2d(x, 2, 1, 1),
    lambda x: F.max_pool1d(x[0], 3, 2, 1, ceil_mode=True),
    lambda x: F.max_pool3d(x[None], (1, 2, 2), dilation=(1, 1, 2)),
    lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: F.avg_pool1d(x[0], 2, 1, 1),
    lambda x: F.avg_pool3d(x[None], (1, 2, 2), divisor_override=3),
    lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
    lambda x: F.adaptive_avg_pool1d(x[0], 3),
    lambda x: F.adaptive_max_pool2d(x, (3, 2)),
    lambda x: F.adaptive_max_pool3d(x[None], (1, 2, 3)),
    lambda x: F.lp_pool2d(x + 1, 2, 2),
    lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2, output_size=(4, 5)),
]


@pytest.mark.parametrize("i", range(len(GRAD_FNS)))
def test_gradcheck(i):
    x = ember.tensor(distinct(1, 2, 4, 5), requires_grad=True)
    assert gradcheck(GRAD_FNS[i], (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("fn", [
    lambda x: F.max_pool2d(x, 2, 1, 1),
    lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: F.avg_pool2d(x, 2, divisor_override=3),
    lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
    lambda x: F.adaptive_max_pool2d(x, (3, 2)),
    lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2, output_size=(4, 5)),
])
def test_gradgradcheck(fn):
    x = ember.tensor(distinct(1, 2, 4, 5), requires_grad=True)
    assert gradgradcheck(fn, (x,), eps=1e-6, atol=1e-5)


@requires_torch
def test_double_backward_matches_torch():
    x = distinct(1, 2, 5, 6)
    for e_fn, t_fn in [fn_pair("max_pool2d", 3, 2, 1), fn_pair("avg_pool2d", 3, 2, 1),
                       fn_pair("adaptive_max_pool2d", (3, 4)),
                       fn_pair("adaptive_avg_pool2d", (3, 4))]:
        ex = ember.tensor(x, requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)
        eg = ember.tensor(distinct(*e_fn(ex).shape, seed=3), requires_grad=True)
        tg = torch.tensor(eg.detach().numpy(), requires_grad=True)
        (egx,) = ember.autograd.grad(e_fn(ex), ex, eg, create_graph=True)
        (tgx,) = torch.autograd.grad(t_fn(tx), tx, tg, create_graph=True)
        w = distinct(*x.shape, seed=4)
        (egg,) = ember.autograd.grad((egx * ember.tensor(w)).sum(), eg)
        (tgg,) = torch.autograd.grad((tgx * torch.tensor(w)).sum(), tg)
        assert_close(egg, tgg)


# ------------------------------------------------------------------ errors
T = np.zeros


def _err_cases():
    x1, x2, x3 = T((1, 1, 5)), T((1, 1, 5, 5)), T((1, 1, 5, 5, 5))
    return [
        # padding more than half the (effective) kernel
        ("max_pool1d", x1, (3,), dict(padding=2)),
        ("max_pool1d", x1, (3,), dict(padding=2, return_indices=True)),
        ("max_pool2d", x2, (3,), dict(padding=2)),
        ("max_pool2d", x2, (3,), dict(padding=2, dilation=2)),
        ("max_pool3d", x3, (3,), dict(padding=2, dilation=2)),
        ("avg_pool1d", x1, (3,), dict(padding=2)),
        ("avg_pool2d", x2, (3,), dict(padding=2)),
        ("avg_pool3d", x3, (3,), dict(padding=2)),
        # output too small
        ("max_pool1d", x1, (6,), {}), ("max_pool1d", x1, (6,), dict(return_indices=True)),
        ("max_pool2d", x2, (6,), {}), ("max_pool3d", x3, (6,), {}),
        ("avg_pool1d", x1, (6,), {}), ("avg_pool2d", x2, (6,), {}),
        ("avg_pool3d", x3, (6,), {}), ("avg_pool3d", T((1, 1, 3, 5, 5)), ((4, 1, 1),),
                                       dict(padding=(2, 0, 0))),
        # bad kernel / stride / padding / dilation values
        ("max_pool1d", x1, (0,), {}), ("max_pool1d", x1, (2,), dict(stride=0)),
        ("max_pool1d", x1, (2,), dict(dilation=0)), ("max_pool1d", x1, (2,), dict(padding=-1)),
        ("max_pool1d", x1, (0,), dict(stride=1, return_indices=True)),
        ("max_pool2d", x2, (0,), {}), ("max_pool2d", x2, (0,), dict(stride=1)),
        ("max_pool2d", x2, (2,), dict(stride=-1)), ("max_pool2d", x2, (2,), dict(padding=-1)),
        ("max_pool2d", x2, (2,), dict(dilation=(1, 0))),
        ("max_pool3d", x3, (0,), dict(stride=1)), ("max_pool3d", x3, (2,), dict(stride=-1)),
        ("max_pool3d", x3, (2,), dict(dilation=(1, 0, 1))),
        ("avg_pool2d", x2, (2,), dict(stride=0)), ("avg_pool2d", x2, (2,), dict(stride=-1)),
        ("avg_pool2d", x2, (2,), dict(divisor_override=0)),
        ("avg_pool3d", x3, (2,), dict(divisor_override=0)),
        ("avg_pool3d", x3, (0,), dict(stride=1)), ("avg_pool1d", x1, (0,), dict(stride=1)),
        # argument arity and types
        ("max_pool1d", x1, ((2, 2),), {}), ("max_pool1d", x1, (2,), dict(stride=(1, 2))),
        ("max_pool1d", x1, (2,), dict(padding=(1, 1))),
        ("max_pool1d", x1, (2,), dict(dilation=(1, 2))),
        ("max_pool1d", x1, ((2, 2),), dict(return_indices=True)),
        ("avg_pool1d", x1, ((2, 2),), {}), ("avg_pool1d", x1, (2,), dict(stride=(1, 2))),
        ("max_pool2d", x2, ((2, 2, 2),), {}), ("max_pool2d", x2, (2,), dict(stride=(1, 2, 3))),
        ("max_pool2d", x2, (2,), dict(padding=(1, 2, 3))),
        ("max_pool2d", x2, (2,), dict(dilation=(1, 2, 3))),
        ("avg_pool2d", x2, ((2, 2, 2),), {}), ("avg_pool2d", x2, (2,), dict(stride=(1, 2, 3))),
        ("max_pool3d", x3, ((2, 2),), {}), ("avg_pool3d", x3, ((2, 2),), {}),
        ("avg_pool3d", x3, (2,), dict(stride=(1, 2))),
        ("avg_pool3d", x3, (2,), dict(padding=(1, 2))),
        ("max_pool2d", x2, (2.0,), {}), ("max_pool2d", x2, (2,), dict(stride=2.5)),
        ("max_pool2d", x2, (True,), {}), ("avg_pool2d", x2, (2,), dict(divisor_override=2.5)),
        ("max_pool1d", x1, (2.5,), {}), ("avg_pool1d", x1, (2.5,), {}),
        # wrong rank or empty non-batch dimensions
        ("max_pool1d", T((5,)), (2,), {}), ("max_pool1d", T((5,)), (2,), dict(return_indices=True)),
        ("max_pool1d", T((1, 1, 1, 5)), (2,), {}), ("max_pool1d", T((1, 0, 5)), (2,), {}),
        ("max_pool1d", T((1, 0, 5)), (2,), dict(return_indices=True)),
        ("avg_pool1d", T((5,)), (2,), {}), ("avg_pool1d", T((1, 1, 0)), (2,), {}),
        ("max_pool2d", T((5, 5)), (2,), {}), ("max_pool2d", T((2, 1, 1, 5, 5)), (2,), {}),
        ("max_pool2d", T((1, 0, 4, 4)), (2,), {}), ("max_pool2d", T((0, 4, 4)), (2,), {}),
        ("avg_pool2d", T((5, 5)), (2,), {}), ("avg_pool2d", T((2, 1, 1, 5, 5)), (2,), {}),
        ("avg_pool2d", T((1, 1, 0, 4)), (2,), {}),
        ("max_pool3d", T((5, 5, 5)), (2,), {}), ("max_pool3d", T((1, 1, 4, 0, 4)), (2,), {}),
        ("avg_pool3d", T((5, 5)), (2,), {}), ("avg_pool3d", T((1, 0, 4, 4, 4)), (2,), {}),
        # adaptive pooling
        ("adaptive_avg_pool2d", T((5, 5)), (2,), {}),
        ("adaptive_avg_pool2d", T((5, 5)), ((2, 2),), {}),
        ("adaptive_avg_pool2d", T((1, 1, 0, 5)), (2,), {}),
        ("adaptive_avg_pool2d", x2, ((2, 2, 2),), {}),
        ("adaptive_avg_pool2d", x2, (-1,), {}),
        ("adaptive_avg_pool2d", T((1, 2, 3)), ((-1, 2),), {}),
        ("adaptive_avg_pool2d", x2, (None,), {}),
        ("adaptive_avg_pool3d", T((2, 3)), (2,), {}),
        ("adaptive_avg_pool3d", T((1, 2, 3, 3)), ((-1, 2, 2),), {}),
        ("adaptive_avg_pool3d", T((1, 0, 2, 2, 2)), ((1, 2, 3),), {}),
        ("adaptive_avg_pool3d", x2, ((1, 2),), {}),
        ("adaptive_avg_pool1d", T((2, 3, 3, 3)), (2,), {}),
        ("adaptive_avg_pool1d", x1, ((3, 4),), {}), ("adaptive_avg_pool1d", x1, (None,), {}),
        ("adaptive_avg_pool1d", x1, (-1,), {}),
        ("adaptive_max_pool2d", T((5, 5)), (2,), {}),
        ("adaptive_max_pool2d", T((1, 1, 0, 5)), (2,), {}),
        ("adaptive_max_pool2d", x2, ((3, 4, 5),), {}), ("adaptive_max_pool2d", x2, (-1,), {}),
        ("adaptive_max_pool3d", T((5, 5, 5)), (2,), {}),
        ("adaptive_max_pool3d", T((1, 1, 4, 0, 4)), (2,), {}),
        ("adaptive_max_pool3d", x2, ((1, 2),), {}),
        ("adaptive_max_pool1d", T((2,)), ((1,),), {}), ("adaptive_max_pool1d", x1, ((3, 4),), {}),
        ("adaptive_max_pool1d", T((1, 2, 0)), (1,), {}), ("adaptive_max_pool1d", x1, (-2,), {}),
    ]


@requires_torch
@pytest.mark.parametrize("name,x,args,kw", _err_cases())
def test_errors_match_torch(name, x, args, kw):
    e = outcome(lambda: getattr(F, name)(ember.tensor(x), *args, **kw))
    t = outcome(lambda: getattr(torch.nn.functional, name)(torch.tensor(x), *args, **kw))
    assert e == t
    assert e[0] != "ok" or name.startswith("adaptive")


@requires_torch
@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "uint8", "bool", "complex64",
                                   "float16"])
@pytest.mark.parametrize("name,args", [
    ("max_pool1d", (2,)), ("max_pool2d", (2,)), ("max_pool3d", (2,)), ("avg_pool1d", (2,)),
    ("avg_pool2d", (2,)), ("avg_pool3d", (2,)), ("adaptive_avg_pool2d", (1,)),
    ("adaptive_avg_pool2d", (2,)), ("adaptive_avg_pool3d", (2,)), ("adaptive_max_pool2d", (2,)),
])
def test_dtype_support_matches_torch(name, args, dtype):
    x = np.ones((1, 2, 4, 4, 4)[-(int(name[-2]) + 2):]).astype(dtype)
    e = outcome(lambda: getattr(F, name)(ember.tensor(x), *args))
    t = outcome(lambda: getattr(torch.nn.functional, name)(torch.tensor(x), *args))
    assert e == t


def _unpool_err_cases():
    y2, i2 = T((1, 1, 2, 2)), np.array([[[[5, 7], [13, 15]]]])
    # (one invalid index per case: with several, PyTorch's threads pick which it reports)
    bump = np.array([[[[0, 100], [0, 0]]]])
    return [
        ("max_unpool2d", y2, i2, (2,), dict(output_size=(6, 6))),
        ("max_unpool2d", y2, i2 - 5, (2,), dict(output_size=(3, 3))),
        ("max_unpool2d", y2, i2, (2,), dict(output_size=(1, 5, 5))),
        ("max_unpool2d", y2, i2, (2,), dict(output_size=[1, 1, 5, 7])),
        ("max_unpool2d", y2, i2, (2,), dict(output_size=5)),
        ("max_unpool2d", y2, i2 + bump, (2,), {}), ("max_unpool2d", y2, i2 - bump, (2,), {}),
        ("max_unpool2d", y2, i2.astype(np.int32), (2,), {}),
        ("max_unpool2d", y2, i2[0], (2,), {}), ("max_unpool2d", y2[0, 0], i2[0, 0], (2,), {}),
        ("max_unpool2d", y2.astype(np.int64), i2, (2,), {}),
        ("max_unpool2d", T((1, 0, 2, 2)), np.zeros((1, 0, 2, 2), np.int64), (2,), {}),
        ("max_unpool1d", y2[0], i2[0, :, 0], (2,), {}),
        ("max_unpool1d", y2[0, :, 0], np.array([[1, 4]]), (2,), {}),
        ("max_unpool1d", T((2,)), np.zeros(2, np.int64), (2,), {}),
        ("max_unpool3d", y2[None], i2[None] + bump, (2,), {}),
        ("max_unpool3d", y2, i2, (2,), {}), ("max_unpool3d", y2[None], i2[None], (2,), {}),
        ("max_unpool3d", y2[None], i2.astype(np.int32)[None], (2,), {}),
        ("max_unpool3d", y2[None], i2, (2,), {}),
        ("max_unpool3d", y2[None], i2[None], (2,), dict(output_size=(0, 0, 0))),
    ]


@requires_torch
@pytest.mark.parametrize("name,y,idx,args,kw", _unpool_err_cases())
def test_unpool_errors_match_torch(name, y, idx, args, kw):
    e = outcome(lambda: getattr(F, name)(ember.tensor(y), ember.tensor(idx), *args, **kw))
    t = outcome(lambda: getattr(torch.nn.functional, name)(torch.tensor(y), torch.tensor(idx),
                                                           *args, **kw))
    assert e == t


def test_input_must_be_tensor():
    with pytest.raises(TypeError, match="argument 'input' .* must be Tensor, not list"):
        F.max_pool2d([1.0, 2.0], 2)
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        F.avg_pool2d([1.0, 2.0], 2)
