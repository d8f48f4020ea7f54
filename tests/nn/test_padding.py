"""Padding: ``nn.functional.pad`` in every mode, ``constant_pad_nd`` and the padding layers,
against PyTorch (values, gradients, dtypes, errors, reprs), with numerical gradient checks."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close, check_op, rand, requires_torch, torch

import ember
from ember.ops import padding as _padding

enn = ember.nn
F = enn.functional
gradcheck, gradgradcheck = ember.autograd.gradcheck, ember.autograd.gradgradcheck

DTYPES = [np.float32, np.float64]
MODES = ["constant", "reflect", "replicate", "circular"]


def outcome(fn):
    try:
        r = fn()
        return "ok", tuple(r.shape)
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch", "ember")


# (shape, pad) cases valid for every mode; negative amounts crop
CASES = [
    ((2, 5), (1, 2)), ((2, 5), (0, 3)), ((1, 2, 5), (2, 1)), ((2, 5), (-1, 3)),
    ((2, 5), (3, -2)), ((1, 2, 5), (2, -1)), ((2, 5), (-2, -1)), ((2, 5), (0, 0)),
    ((2, 3, 4), (1, 2, 2, 1)), ((1, 2, 3, 4), (1, 0, 2, 1)), ((2, 3, 4), (-1, 2, 1, -1)),
    ((1, 2, 3, 4), (1, 0, 2, 1, 2, 0)), ((2, 3, 4, 5), (-1, 2, 1, -1, 2, 0)),
    ((1, 1, 2, 3, 4), (1, 1, 0, 2, 1, 1)), ((0, 2, 5), (1, 2)),
]


@requires_torch
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,pad", CASES)
def test_pad_matches_torch(mode, shape, pad):
    z = np.zeros(shape)
    ours = outcome(lambda: F.pad(ember.tensor(z), pad, mode=mode))
    theirs = outcome(lambda: torch.nn.functional.pad(torch.tensor(z), pad, mode=mode))
    assert ours == theirs
    if ours[0] != "ok":
        return
    for dtype in DTYPES:
        x = rand(*shape, dtype=dtype)
        check_op(lambda t: F.pad(t, pad, mode=mode),
                 lambda t: torch.nn.functional.pad(t, pad, mode=mode), [x])


@requires_torch
@pytest.mark.parametrize("shape,pad", [
    ((3,), (1, 2)), ((), ()), ((3,), ()), ((2, 3), (1, 1, 0, 2)), ((2, 3, 4), (1, 1, 1, 1, 1, 1)),
    ((2, 0, 3), (1, 1, 1, 1)), ((2, 4), (-4, 1)), ((2, 4), (-2, -2)), ((4,), (-1, -1)),
    ((2, 3), (2, 2, -1, 0))])
@pytest.mark.parametrize("value", [None, 2.5, -1])
def test_constant_pad_any_rank_matches_torch(shape, pad, value):
    x = rand(*shape, dtype=np.float64)
    check_op(lambda t: F.pad(t, pad, value=value),
             lambda t: torch.nn.functional.pad(t, pad, value=value), [x])
    check_op(lambda t: _padding.constant_pad_nd(t, pad, 0 if value is None else value),
             lambda t: torch.constant_pad_nd(t, pad, 0 if value is None else value), [x])


@requires_torch
@pytest.mark.parametrize("dtype,value", [
    ("int64", 2.7), ("int64", -2.7), ("int32", 7), ("uint8", 255), ("int8", -3), ("bool", 2.7),
    ("bool", 0), ("float16", 1.5), ("float32", float("nan")), ("float64", float("-inf")),
    ("complex64", 2), ("int64", 2 ** 40), ("int64", True)])
def test_constant_pad_dtypes_and_values_match_torch(dtype, value):
    a = np.arange(6).reshape(2, 3)
    e = ember.tensor(a).to(getattr(ember, dtype))
    t = torch.tensor(a).to(getattr(torch, dtype))
    assert_close(F.pad(e, (1, 2), value=value), torch.nn.functional.pad(t, (1, 2), value=value))


@requires_torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("dtype", ["int64", "float16", "complex128", "bool"])
def test_mode_pad_dtypes_match_torch(mode, dtype):
    a = np.arange(12).reshape(1, 3, 4)
    e = ember.tensor(a).to(getattr(ember, dtype))
    t = torch.tensor(a).to(getattr(torch, dtype))
    ours = outcome(lambda: F.pad(e, (2, 1, 1, 2), mode=mode))
    theirs = outcome(lambda: torch.nn.functional.pad(t, (2, 1, 1, 2), mode=mode))
    assert ours == theirs
    if ours[0] == "ok":
        assert_close(F.pad(e, (2, 1, 1, 2), mode=mode),
                     torch.nn.functional.pad(t, (2, 1, 1, 2), mode=mode))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,pad", [((1, 4), (2, 1)), ((1, 3, 4), (1, 2, 2, -1)),
                                       ((1, 2, 2, 3), (1, 1, 1, 0, 1, 1))])
def test_pad_gradcheck(mode, shape, pad):
    x = rand(*shape)
    value = 1.5 if mode == "constant" else None

    def fn(t):
        return F.pad(t, pad, mode=mode, value=value)

    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def test_pad_returns_new_tensor_and_graph_names():
    x = rand(2, 3)
    for mode, name in [("constant", "ConstantPadNdBackward0"),
                       ("reflect", "ReflectionPad1DBackward0"),
                       ("replicate", "ReplicationPad1DBackward0")]:
        y = F.pad(x, (0, 0), mode=mode)
        assert y is not x and y.data_ptr() != x.data_ptr()
        assert y.grad_fn.name() == name
    assert F.pad(rand(1, 3, 3), (1, 1, 1, 1), mode="reflect").grad_fn.name() == \
        "ReflectionPad2DBackward0"


@requires_torch
def test_pad_errors_match_torch():
    def cases(L):
        f, z = L.nn.functional.pad, L.zeros
        return [
            lambda: f(z(2, 3), (1,)),
            lambda: f(z(2, 3), (1, 1, 1, 1, 1, 1)),
            lambda: f(z(()), (1, 1)),
            lambda: f(z(2, 3), (1, 1), mode="foo"),
            lambda: f(z(3), (1, 1), mode="reflect"),
            lambda: f(z(2, 3), (1, 1, 1, 1), mode="replicate"),
            lambda: f(z(1, 2, 3, 4, 5, 6), (1, 1), mode="circular"),
            lambda: f(z(2, 3, 4), (4, 1), mode="reflect"),
            lambda: f(z(1, 3, 3), (0, 0, 4, 0), mode="reflect"),
            lambda: f(z(1, 3, 3, 3), (0, 0, 0, 0, 4, 0), mode="reflect"),
            lambda: f(z(2, 3, 4), (5, 1), mode="circular"),
            lambda: f(z(2, 3), (-2, -2), mode="circular"),
            lambda: f(z(2, 0, 4), (1, 1, 1, 1), mode="replicate"),
            lambda: f(z(0, 4), (1, 1), mode="reflect"),
            lambda: f(z(0, 2, 3, 3), (1, 1, 1, 1, 1, 1), mode="replicate"),
            lambda: f(z(2, 3), (-2, -2), mode="reflect"),
            lambda: f(z(2, 3), (-3, 0), mode="replicate"),
            lambda: f(z(2, 4), (-5, 1)),
            lambda: f(z(2, 3, 4), (1, 1), mode="reflect", value=2),
            lambda: f(z(2, 3, 4), (1, 1), mode="replicate", value=0.0),
            lambda: f(z(2, 3, 4, dtype=L.bool), (1, 1), mode="reflect"),
            lambda: f(z(2, 3, 4, dtype=L.bool), (1, 1), mode="replicate"),
            lambda: f(z(2, 3, 4, dtype=L.uint8), (1, 1), value=-1),
            lambda: f(z(2, 3, 4, dtype=L.int8), (1, 1), value=200),
            lambda: f(z(2, 3, 4, dtype=L.float16), (1, 1), value=1e10),
            lambda: f(z(2, 3, 4, dtype=L.int64), (1, 1), value=float("nan")),
            lambda: f(z(2, 3, 4), (1, 1), value=1 + 2j),
            lambda: f(z(2, 3, 4), (1.5, 1)),
            lambda: f(z(2, 3, 4), (True, 1)),
            lambda: f(z(2, 3, 4), 1),
            lambda: f(z(2, 3, 4), (1, 1), None),
            lambda: f([1.0], (1, 1)),
        ]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


# ------------------------------------------------------------------ modules
MODULES = [(f"{kind}Pad{n}d", n) for kind in ("Zero", "Reflection", "Replication", "Circular")
           for n in (1, 2, 3)]


@requires_torch
@pytest.mark.parametrize("name,n", MODULES)
@pytest.mark.parametrize("padding", [1, "tuple"])
def test_padding_modules_match_torch(name, n, padding):
    pad = (1, 0, 2, 1, 0, 1)[:2 * n] if padding == "tuple" else padding
    em, tm = getattr(enn, name)(pad), getattr(torch.nn, name)(pad)
    assert repr(em) == repr(tm) and em.padding == tm.padding
    for batched in (True, False):
        shape = ((2,) if batched else ()) + (2,) + (3,) * n
        x = rand(*shape, dtype=np.float32)
        check_op(em, tm, [x])


@requires_torch
@pytest.mark.parametrize("n", [1, 2, 3])
def test_constant_pad_modules_match_torch(n):
    for pad, value in [(1, 2), ((1, 2, 0, 1, 2, 0)[:2 * n], -1.5)]:
        em = getattr(enn, f"ConstantPad{n}d")(pad, value)
        tm = getattr(torch.nn, f"ConstantPad{n}d")(pad, value)
        assert repr(em) == repr(tm) and em.value == tm.value
        check_op(em, tm, [rand(2, *(3,) * n)])
    assert enn.ZeroPad2d(1).value == 0.0 and repr(enn.ZeroPad2d([1, 2, 3, 4])) == \
        repr(torch.nn.ZeroPad2d([1, 2, 3, 4]))


@requires_torch
def test_padding_module_errors_match_torch():
    def cases(L):
        n, z = L.nn, L.zeros
        return [lambda: n.CircularPad1d(1)(z(3)), lambda: n.CircularPad2d(1)(z(3, 3)),
                lambda: n.CircularPad3d(1)(z(3, 3, 3)), lambda: n.ReflectionPad1d(1)(z(3)),
                lambda: n.ZeroPad2d(1)(z(3)), lambda: n.ZeroPad1d(1)(z(3)),
                lambda: n.ReflectionPad2d(3)(z(1, 3, 3))]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


def test_take_adjoint_sums_repeated_positions():
    g = np.arange(8.0).reshape(1, 8)
    idx = np.array([2, 1, 0, 1, 2, 2, 2, 1])         # reflect + replicate-like repeats
    out = _padding._take_adjoint(g, idx, 3, 1)
    expected = np.zeros((1, 3))
    np.add.at(expected, (0, idx), g[0])
    np.testing.assert_array_equal(out, expected)
