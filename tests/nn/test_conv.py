"""Convolutions (``conv1d/2d/3d``, ``conv_transpose1d/2d/3d``, ``unfold``, ``fold``) and
their layers (``Conv*d``, ``ConvTranspose*d``, ``LazyConv*``, ``Fold``, ``Unfold``), against
PyTorch, with numerical first and second derivative checks and PyTorch's error messages."""
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


def tF():
    return torch.nn.functional


def copy_params(em, tm):
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


def outcome(fn):
    try:
        fn()
        return "ok"
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch", "ember")


def spatial(nd, sizes):
    """The first ``nd`` of ``sizes``: one table row serves 1-d, 2-d and 3-d."""
    return tuple(sizes[:nd])


def per_dim(value, nd):
    """A tuple argument cut to ``nd`` entries (ints and strings unchanged)."""
    return value[:nd] if isinstance(value, tuple) else value


# ------------------------------------------------------------------ conv1d/2d/3d
# (c_in, c_out, groups, kernel, stride, padding, dilation, bias); tuples are cut per nd
CONV_CASES = [
    (2, 3, 1, 3, 1, 0, 1, True),
    (2, 4, 1, (2, 3, 2), (2, 1, 2), (1, 0, 2), 1, True),
    (4, 6, 2, 3, 1, 1, (2, 1, 2), False),
    (3, 3, 3, (3, 2, 2), 1, "same", 1, True),            # depthwise, even kernel 'same'
    (2, 2, 1, (4, 2, 3), 1, "same", (1, 2, 3), True),    # asymmetric 'same'
    (2, 3, 1, 2, 3, "valid", 1, False),
    (4, 2, 2, (3, 1, 2), (1, 2, 3), (2, 1, 0), (2, 3, 1), True),
]
SIZES = (7, 6, 5)


@requires_torch
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_matches_torch(nd, case, dtype):
    c_in, c_out, groups, k, stride, padding, dilation, bias = case
    ks = (k,) * nd if isinstance(k, int) else k[:nd]
    kw = dict(stride=per_dim(stride, nd), padding=per_dim(padding, nd),
              dilation=per_dim(dilation, nd), groups=groups)
    args = [rand(2, c_in, *spatial(nd, SIZES), dtype=dtype),
            rand(c_out, c_in // groups, *ks, dtype=dtype, seed=1)]
    if bias:
        args.append(rand(c_out, dtype=dtype, seed=2))
    name = f"conv{nd}d"
    check_op(lambda *a: getattr(F, name)(*a, **kw), lambda *a: getattr(tF(), name)(*a, **kw),
             args)


@requires_torch
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("padding", [1, "same"])
def test_conv_unbatched_matches_torch(nd, padding):
    x = rand(2, *spatial(nd, SIZES))
    w = rand(3, 2, *(3,) * nd, seed=1)
    b = rand(3, seed=2)
    name = f"conv{nd}d"
    out = check_op(lambda *a: getattr(F, name)(*a, padding=padding),
                   lambda *a: getattr(tF(), name)(*a, padding=padding), [x, w, b])
    assert out.shape[0] == 3 and out.dim() == nd + 1


@requires_torch
def test_conv_special_inputs_match_torch():
    # a non-contiguous input, a batch of zero
    x = rand(2, 3, 6, 5)
    w = rand(4, 3, 3, 2, seed=1)
    check_op(lambda x, w: F.conv2d(x.transpose(2, 3), w, stride=(2, 1)),
             lambda x, w: tF().conv2d(x.transpose(2, 3), w, stride=(2, 1)), [x, w])
    check_op(F.conv2d, tF().conv2d, [rand(0, 3, 5, 5), w, rand(4, seed=2)])
    # integer convolutions have a forward (no gradient)
    xi = ember.tensor(np.arange(2 * 3 * 4 * 4).reshape(2, 3, 4, 4) % 7)
    wi = ember.tensor(np.arange(4 * 3 * 2 * 2).reshape(4, 3, 2, 2) % 5 - 2)
    check_op(lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: tF().conv2d(x, w, padding=1),
             [xi, wi], grad=False)


@requires_torch
def test_conv_complex_matches_torch():
    rng = np.random.default_rng(3)
    x = ember.tensor(rng.standard_normal((2, 2, 5, 4)) + 1j * rng.standard_normal((2, 2, 5, 4)),
                     requires_grad=True)
    w = ember.tensor(rng.standard_normal((3, 2, 2, 2)) + 1j * rng.standard_normal((3, 2, 2, 2)),
                     requires_grad=True)
    check_op(lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: tF().conv2d(x, w, padding=1),
             [x, w])
    check_op(lambda x, w: F.conv_transpose2d(x, w.transpose(0, 1), stride=2),
             lambda x, w: tF().conv_transpose2d(x, w.transpose(0, 1), stride=2), [x, w])


def test_conv_backward_needs_and_layout():
    x = rand(2, 3, 5, 5, dtype=np.float32)
    m = enn.Conv2d(3, 4, 3, padding=1)
    y = m(x)
    assert y.grad_fn.name() == "ConvolutionBackward0" and y.detach().numpy().flags.c_contiguous
    y.sum().backward()
    assert m.weight.grad.shape == (4, 3, 3, 3) and m.bias.grad.shape == (4,)
    assert x.grad.shape == (2, 3, 5, 5) and x.grad.numpy().flags.c_contiguous
    # only the input requires grad: the weight gets none, and no columns are kept
    w = ember.ones(4, 3, 3, 3)
    y = F.conv2d(x, w)
    assert y.grad_fn.needs_input_grad == (True, False) and y.grad_fn._cols is None
    y.sum().backward()
    assert w.grad is None
    with ember.no_grad():
        assert F.conv2d(x, m.weight).grad_fn is None
    # the kept columns are released with the graph's saved tensors
    y = F.conv2d(x, m.weight)
    assert y.grad_fn._cols is not None
    y.sum().backward()
    assert y.grad_fn._cols is None


# ------------------------------------------------------------------ conv_transpose
# (c_in, c_out, groups, kernel, stride, padding, output_padding, dilation, bias)
TCONV_CASES = [
    (2, 3, 1, 3, 1, 0, 0, 1, True),
    (2, 4, 1, (2, 3, 2), (2, 3, 2), (1, 0, 1), (1, 2, 0), 1, True),
    (4, 6, 2, 3, 2, 1, 1, (2, 1, 2), False),
    (3, 3, 3, (3, 2, 2), (1, 2, 3), (2, 1, 0), 0, (1, 2, 1), True),
    (2, 2, 1, 2, 3, 2, (2, 0, 1), 1, False),
    (4, 2, 2, (1, 3, 2), 2, (0, 1, 1), (0, 1, 1), (3, 1, 2), True),
]


@requires_torch
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("case", TCONV_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_transpose_matches_torch(nd, case, dtype):
    c_in, c_out, groups, k, stride, padding, out_pad, dilation, bias = case
    ks = (k,) * nd if isinstance(k, int) else k[:nd]
    kw = dict(stride=per_dim(stride, nd), padding=per_dim(padding, nd),
              output_padding=per_dim(out_pad, nd), dilation=per_dim(dilation, nd),
              groups=groups)
    args = [rand(2, c_in, *spatial(nd, (5, 4, 3)), dtype=dtype),
            rand(c_in, c_out // groups, *ks, dtype=dtype, seed=1)]
    if bias:
        args.append(rand(c_out, dtype=dtype, seed=2))
    name = f"conv_transpose{nd}d"
    check_op(lambda *a: getattr(F, name)(*a, **kw), lambda *a: getattr(tF(), name)(*a, **kw),
             args)


@requires_torch
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_transpose_unbatched_matches_torch(nd):
    args = [rand(2, *spatial(nd, (4, 3, 3))), rand(2, 3, *(2,) * nd, seed=1), rand(3, seed=2)]
    name = f"conv_transpose{nd}d"
    check_op(lambda *a: getattr(F, name)(*a, stride=2, output_padding=1),
             lambda *a: getattr(tF(), name)(*a, stride=2, output_padding=1), args)


# ------------------------------------------------------------------ unfold / fold
# (input spatial, kernel, dilation, padding, stride)
FOLD_CASES = [
    ((5, 6), 2, 1, 0, 1),
    ((5, 6), (2, 3), (2, 1), 1, (1, 2)),
    ((4, 4), 3, 1, 1, 2),
    ((6, 5), (1, 2), 1, (0, 2), (3, 1)),
]


@requires_torch
@pytest.mark.parametrize("case", FOLD_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_unfold_fold_match_torch(case, dtype):
    size, k, d, p, s = case
    kw = dict(kernel_size=k, dilation=d, padding=p, stride=s)
    cols = check_op(lambda x: F.unfold(x, **kw), lambda x: tF().unfold(x, **kw),
                    [rand(2, 3, *size, dtype=dtype)])
    check_op(lambda c: F.fold(c, size, **kw), lambda c: tF().fold(c, size, **kw),
             [rand(*cols.shape, dtype=dtype, seed=1)])
    # unbatched forms
    check_op(lambda x: F.unfold(x, **kw), lambda x: tF().unfold(x, **kw),
             [rand(3, *size, dtype=dtype)])
    check_op(lambda c: F.fold(c, size, **kw), lambda c: tF().fold(c, size, **kw),
             [rand(*cols.shape[1:], dtype=dtype, seed=1)])


@requires_torch
def test_fold_unfold_modules_match_torch():
    for make in (lambda nn: nn.Unfold((2, 3), padding=1, stride=(1, 2)),
                 lambda nn: nn.Fold((5, 6), (2, 3), padding=1, stride=(1, 2)),
                 lambda nn: nn.Unfold(2)):
        em, tm = make(enn), make(torch.nn)
        assert repr(em) == repr(tm)
    kw = dict(padding=1, stride=(1, 2))
    x = rand(2, 3, 5, 6)
    cols = check_op(enn.Unfold((2, 3), **kw), torch.nn.Unfold((2, 3), **kw), [x])
    check_op(enn.Fold((5, 6), (2, 3), **kw), torch.nn.Fold((5, 6), (2, 3), **kw),
             [rand(*cols.shape, seed=1)])


# ------------------------------------------------------------------ numerical derivatives
GRAD_CASES = [
    ("conv1d", (1, 2, 5), (3, 2, 2), dict(stride=2, padding=1, dilation=1)),
    ("conv2d", (2, 2, 4, 3), (2, 1, 2, 2), dict(padding="same", groups=2)),
    ("conv2d", (1, 2, 5, 4), (3, 2, 2, 2), dict(stride=(2, 1), padding=(1, 0), dilation=2)),
    ("conv3d", (1, 2, 3, 3, 3), (2, 2, 2, 1, 2), dict(padding=(1, 0, 0))),
    ("conv_transpose1d", (1, 2, 3), (2, 3, 2), dict(stride=2, output_padding=1)),
    ("conv_transpose2d", (1, 2, 3, 2), (2, 2, 2, 3),
     dict(stride=(2, 1), padding=(1, 1), groups=2, dilation=(1, 2))),
    ("conv_transpose3d", (1, 2, 2, 2, 2), (2, 1, 2, 2, 1), dict(stride=2, padding=(1, 0, 0))),
]


@pytest.mark.parametrize("name,xs,ws,kw", GRAD_CASES)
def test_conv_gradcheck(name, xs, ws, kw):
    fn = getattr(F, name)
    c_out = ws[0] if not name.startswith("conv_transpose") else ws[1] * kw.get("groups", 1)
    args = [rand(*xs), rand(*ws, seed=1), rand(c_out, seed=2)]
    assert gradcheck(lambda x, w, b: fn(x, w, b, **kw), args)


@pytest.mark.parametrize("name,xs,ws,kw", [c for c in GRAD_CASES if "2d" in c[0]]
                         + [GRAD_CASES[0]])
def test_conv_gradgradcheck(name, xs, ws, kw):
    fn = getattr(F, name)
    c_out = ws[0] if not name.startswith("conv_transpose") else ws[1] * kw.get("groups", 1)
    args = [rand(*xs), rand(*ws, seed=1), rand(c_out, seed=2)]
    assert gradgradcheck(lambda x, w, b: fn(x, w, b, **kw), args)


def test_unfold_fold_gradcheck():
    kw = dict(kernel_size=(2, 2), dilation=(1, 2), padding=1, stride=(2, 1))
    x = rand(1, 2, 3, 4)
    assert gradcheck(lambda x: F.unfold(x, **kw), [x])
    assert gradgradcheck(lambda x: F.unfold(x, **kw) ** 2, [x])
    cols = rand(*F.unfold(x, **kw).shape, seed=1)
    assert gradcheck(lambda c: F.fold(c, (3, 4), **kw), [cols])
    assert gradgradcheck(lambda c: F.fold(c, (3, 4), **kw) ** 2, [cols])


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
@pytest.mark.parametrize("name,shapes,kw", [
    ("conv2d", [(2, 4, 5, 4), (4, 2, 3, 2), (4,)], dict(stride=(2, 1), padding=1, groups=2)),
    ("conv_transpose2d", [(2, 2, 3, 3), (2, 3, 2, 2), (3,)],
     dict(stride=2, padding=(1, 0), output_padding=(1, 0), dilation=(1, 2))),
    ("conv1d", [(2, 2, 6), (3, 2, 3)], dict(padding="same", dilation=2)),
])
def test_double_backward_matches_torch(name, shapes, kw):
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(-1, 1, s) for s in shapes]
    ours = _double_backward(ember, lambda *a: getattr(F, name)(*a, **kw), arrays)
    theirs = _double_backward(torch, lambda *a: getattr(tF(), name)(*a, **kw), arrays)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if b is None:
            assert a is None or np.all(a.detach().numpy() == 0), i
        else:
            assert_close(a, b, msg=f"input {i}")


# ------------------------------------------------------------------ layers
def _module_parity(em, tm, x_shape, dtype=np.float64, forward_kw=None):
    copy_params(em, tm)
    forward_kw = forward_kw or {}
    x = np.random.default_rng(0).standard_normal(x_shape).astype(dtype)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = em(xe, **forward_kw), tm(xt, **forward_kw)
    assert_close(ye, yt)
    g = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(dtype)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    assert_close(xe.grad, xt.grad)
    for (name, p), (_, q) in zip(em.named_parameters(), tm.named_parameters()):
        assert_close(p.grad, q.grad, msg=name)


@requires_torch
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kw", [
    dict(),
    dict(stride=2, padding=1, bias=False),
    dict(padding="same", padding_mode="reflect", dilation=2),
    dict(padding=(2, 1, 1), padding_mode="replicate", groups=2),
    dict(padding=1, padding_mode="circular", stride=(1, 2, 1)),
    dict(padding="valid", padding_mode="circular"),
    dict(padding="same", padding_mode="zeros", groups=2),
])
@pytest.mark.parametrize("batched", [True, False])
def test_conv_module_matches_torch(nd, kw, batched):
    kw = {k: per_dim(v, nd) for k, v in kw.items()}
    name = f"Conv{nd}d"
    dt = dict(dtype=torch.float64)
    tm = getattr(torch.nn, name)(2, 4, 3, **kw, **dt)
    em = getattr(enn, name)(2, 4, 3, **kw, dtype=ember.float64)
    assert repr(em) == repr(tm)
    assert em._reversed_padding_repeated_twice == list(tm._reversed_padding_repeated_twice)
    shape = ((2,) if batched else ()) + (2,) + spatial(nd, (6, 5, 4))
    _module_parity(em, tm, shape)


@requires_torch
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv_module_same_even_kernel_matches_torch(mode):
    # an even kernel with padding='same' pads one more element on the right/bottom
    tm = torch.nn.Conv2d(2, 3, (4, 3), padding="same", dilation=(1, 2), padding_mode=mode,
                         dtype=torch.float64)
    em = enn.Conv2d(2, 3, (4, 3), padding="same", dilation=(1, 2), padding_mode=mode,
                    dtype=ember.float64)
    assert em._reversed_padding_repeated_twice == list(tm._reversed_padding_repeated_twice)
    _module_parity(em, tm, (2, 2, 5, 6))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_mode_gradcheck(mode):
    m = enn.Conv2d(2, 2, (2, 3), padding=(1, 2), padding_mode=mode, dtype=ember.float64)
    x = rand(1, 2, 3, 3)
    assert gradcheck(lambda x: m(x), [x])
    assert gradgradcheck(lambda x: m(x) ** 2, [x])


@requires_torch
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kw", [
    dict(),
    dict(stride=2, padding=1, output_padding=1, bias=False),
    dict(stride=(2, 3, 2), groups=2, dilation=(1, 2, 1)),
])
@pytest.mark.parametrize("batched", [True, False])
def test_conv_transpose_module_matches_torch(nd, kw, batched):
    kw = {k: per_dim(v, nd) for k, v in kw.items()}
    name = f"ConvTranspose{nd}d"
    tm = getattr(torch.nn, name)(2, 4, 3, **kw, dtype=torch.float64)
    em = getattr(enn, name)(2, 4, 3, **kw, dtype=ember.float64)
    assert repr(em) == repr(tm)
    shape = ((2,) if batched else ()) + (2,) + spatial(nd, (4, 3, 3))
    _module_parity(em, tm, shape)


@requires_torch
@pytest.mark.parametrize("output_size", [(9, 10), (10, 9), [2, 4, 10, 10], (4, 9, 9)])
def test_conv_transpose_output_size_matches_torch(output_size):
    tm = torch.nn.ConvTranspose2d(2, 4, 3, stride=2, dtype=torch.float64)
    em = enn.ConvTranspose2d(2, 4, 3, stride=2, dtype=ember.float64)
    batched = len(output_size) != 3
    _module_parity(em, tm, ((2,) if batched else ()) + (2, 4, 4),
                   forward_kw=dict(output_size=output_size))


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_module_float32_float64(dtype):
    tdt, edt = getattr(torch, np.dtype(dtype).name), getattr(ember, np.dtype(dtype).name)
    tm = torch.nn.Conv2d(3, 8, 3, padding=1, dtype=tdt)
    em = enn.Conv2d(3, 8, 3, padding=1, dtype=edt)
    assert em.weight.dtype is edt and em.bias.dtype is edt
    assert {k: tuple(v.shape) for k, v in em.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tm.state_dict().items()}
    _module_parity(em, tm, (4, 3, 6, 6), dtype=dtype)


@requires_torch
@pytest.mark.parametrize("make", [
    lambda nn: nn.Conv2d(1, 32, 3, padding=1),
    lambda nn: nn.Conv1d(2, 4, 3, padding="same", padding_mode="reflect", bias=False),
    lambda nn: nn.Conv3d(2, 4, (1, 2, 3), stride=(1, 2, 3), dilation=2, groups=2),
    lambda nn: nn.Conv2d(2, 4, 2, padding="valid", padding_mode="circular"),
    lambda nn: nn.ConvTranspose1d(2, 4, 3, output_padding=1, stride=2, dilation=3),
    lambda nn: nn.ConvTranspose3d(2, 4, 3, groups=2, bias=False, padding=(1, 0, 2)),
    lambda nn: nn.LazyConv1d(4, 3), lambda nn: nn.LazyConvTranspose2d(4, 3, stride=2),
])
def test_conv_repr_matches_torch(make):
    assert repr(make(enn)) == repr(make(torch.nn))


@pytest.mark.parametrize("cls,args,fan_in", [
    (enn.Conv2d, (20, 30, (4, 5)), 20 * 20), (enn.Conv1d, (12, 6, 5, 1, 0, 1, 3), 4 * 5),
    (enn.ConvTranspose2d, (30, 20, (4, 5)), 20 * 20),
    (enn.ConvTranspose3d, (6, 12, 3, 1, 0, 0, 3), 4 * 27)])
def test_conv_init_distribution(cls, args, fan_in):
    ember.manual_seed(0)
    m = cls(*args)
    bound = 1 / math.sqrt(fan_in)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.95 * bound and abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.1
    ember.manual_seed(0)
    again = cls(*args)
    np.testing.assert_array_equal(again.weight.detach().numpy(), w)
    again.reset_parameters()
    assert not np.array_equal(again.weight.detach().numpy(), w)


@requires_torch
@pytest.mark.parametrize("lazy,full,x_shape", [
    ("LazyConv2d", "Conv2d", (2, 3, 6, 6)), ("LazyConv1d", "Conv1d", (3, 6)),
    ("LazyConv3d", "Conv3d", (1, 2, 4, 4, 4)),
    ("LazyConvTranspose2d", "ConvTranspose2d", (2, 3, 4, 4)),
    ("LazyConvTranspose1d", "ConvTranspose1d", (3, 4))])
def test_lazy_conv_materializes(lazy, full, x_shape):
    m = getattr(enn, lazy)(4, 3, groups=1)
    assert isinstance(m.weight, enn.UninitializedParameter)
    y = m(rand(*x_shape, dtype=np.float32))
    assert type(m) is getattr(enn, full)
    c_in = x_shape[1] if len(x_shape) == m.weight.dim() else x_shape[0]
    assert m.in_channels == c_in
    tm = getattr(torch.nn, full)(c_in, 4, 3)
    assert repr(m) == repr(tm) and tuple(m.weight.shape) == tuple(tm.weight.shape)
    assert tuple(y.shape) == tuple(tm(torch.zeros(x_shape)).shape)
    # loading a state dict materializes from the checkpoint's shapes
    lazy_m = getattr(enn, lazy)(4, 3)
    lazy_m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    copy_params(m, tm)
    x = rand(*x_shape, dtype=np.float32, seed=3)
    np.testing.assert_array_equal(lazy_m(x).detach().numpy(), m(x).detach().numpy())


# ------------------------------------------------------------------ errors
@requires_torch
def test_functional_errors_match_torch():
    def cases(L):
        f = L.nn.functional
        z = L.zeros
        return [
            lambda: f.conv2d(z(5, 5), z(8, 3, 3, 3)),
            lambda: f.conv1d(z(5), z(8, 3, 3)),
            lambda: f.conv3d(z(5, 5), z(8, 3, 3, 3, 3)),
            lambda: f.conv2d(z(1, 4, 5, 5), z(8, 3, 3, 3)),
            lambda: f.conv2d(z(4, 5, 5), z(8, 3, 3, 3)),
            lambda: f.conv2d(z(1, 3, 2, 2), z(8, 3, 3, 3)),
            lambda: f.conv2d(z(1, 3, 4, 4), z(8, 3, 3, 3), dilation=2, padding=(1, 0)),
            lambda: f.conv1d(z(1, 3, 4), z(8, 3, 5)),
            lambda: f.conv2d(z(1, 3, 5, 5), z(8, 3, 3)),
            lambda: f.conv2d(z(1, 3, 5, 5), z(8, 3, 3, 3, 3)),
            lambda: f.conv2d(z(1, 3, 5, 5), z(8, 3, 3, 3), padding=(1, 1, 1)),
            lambda: f.conv2d(z(1, 4, 5, 5), z(8, 2, 3, 3), groups=3),
            lambda: f.conv2d(z(1, 3, 5, 5), z(8, 3, 3, 3), stride=0),
            lambda: f.conv2d(z(1, 3, 5, 5), z(8, 3, 3, 3), padding=-1),
            lambda: f.conv2d(z(1, 3, 5, 5), z(8, 3, 3, 3), dilation=(1, 0)),
            lambda: f.conv2d(z(1, 3, 5, 5), z(8, 3, 3, 3), groups=0),
            lambda: f.conv2d(z(1, 3, 5, 5), z(8, 3, 3, 3), padding="same", stride=2),
            lambda: f.conv2d(z(1, 3, 5, 5), z(8, 3, 3, 3), padding="foo"),
            lambda: f.conv2d(z(1, 3, 5, 5), z(8, 3, 3, 3), bias=z(7)),
            lambda: f.conv2d(z(1, 3, 5, 5), z(8, 3, 3, 3), bias=z(8, 1)),
            lambda: f.conv2d(z(1, 3, 5, 5), z(8, 3, 0, 3)),
            lambda: f.conv1d(z(1, 3, 4), z(3, 3, 0)),
            lambda: f.conv3d(z(1, 3, 4, 4, 4), z(3, 3, 0, 1, 1)),
            lambda: f.conv_transpose2d(z(1, 3, 4, 4), z(3, 2, 0, 3)),
            lambda: f.conv_transpose1d(z(1, 3, 4), z(3, 2, 3), dilation=0),
            lambda: f.conv_transpose2d(z(1, 3, 4, 4), z(3, 2, 3, 3), dilation=(1, 0)),
            lambda: f.conv_transpose3d(z(1, 3, 4, 4, 4), z(3, 2, 3, 3, 3), dilation=0),
            lambda: f.conv2d(z(1, 3, 5, 5), z(8, 3, 3, 3, dtype=L.float64)),
            lambda: f.conv2d(z(1, 3, 5, 5, dtype=L.float64), z(8, 3, 3, 3)),
            lambda: f.conv2d(z(1, 4, 4, 4), z(8, 3, 3, 3), bias=z(3, dtype=L.float64)),
            lambda: f.conv2d(z(1, 3, 5, 5), z(8, 3, 3, 3), stride=1.5),
            lambda: f.conv_transpose2d(z(1, 4, 5, 5), z(3, 8, 3, 3)),
            lambda: f.conv_transpose2d(z(5, 5), z(3, 8, 3, 3)),
            lambda: f.conv_transpose2d(z(1, 3, 5, 5), z(3, 8, 3, 3), output_padding=1),
            lambda: f.conv_transpose2d(z(1, 3, 5, 5), z(3, 8, 3, 3), stride=2,
                                       output_padding=2),
            lambda: f.conv_transpose2d(z(1, 3, 1, 1), z(3, 8, 3, 3), padding=2),
            lambda: f.conv_transpose1d(z(1, 3, 4), z(3, 2, 3), padding=3),
            lambda: f.conv_transpose3d(z(1, 3, 1, 1, 1), z(3, 2, 3, 3, 3), padding=(2, 1, 1)),
            lambda: f.conv_transpose2d(z(1, 3, 4, 4), z(3, 2, 3, 3), output_padding=-1),
            lambda: f.conv_transpose2d(z(1, 3, 4, 4), z(3, 2, 3, 3), padding=-1),
            lambda: f.conv_transpose2d(z(1, 3, 4, 4), z(3, 2, 3, 3), output_padding=(1, 1, 1)),
            lambda: f.conv_transpose2d(z(1, 3, 5, 5), z(3, 8, 3, 3), groups=2),
            lambda: f.conv_transpose2d(z(1, 4, 5, 5), z(4, 8, 3, 3), groups=2, bias=z(8)),
            lambda: f.conv_transpose2d(z(1, 3, 5, 5), z(3, 8, 3, 3), padding="same"),
            lambda: f.unfold(z(4, 4), 2),
            lambda: f.unfold(z(1, 1, 1, 2, 3), 2),
            lambda: f.unfold(z(1, 1, 4, 4), 5),
            lambda: f.unfold(z(1, 1, 4, 4), (2, 2, 2)),
            lambda: f.unfold(z(1, 1, 4, 4), 0),
            lambda: f.unfold(z(1, 1, 4, 4), 2, stride=0),
            lambda: f.unfold(z(1, 1, 4, 4), 2, padding=-1),
            lambda: f.unfold(z(1, 1, 4, 4), 2, dilation=0),
            lambda: f.fold(z(1, 5, 9), (4, 4), 2),
            lambda: f.fold(z(1, 4, 8), (4, 4), 2),
            lambda: f.fold(z(1, 1, 4, 9), (4, 4), 2),
        ]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        e, t = outcome(fe), outcome(ft)
        if t != "ok" and t[0] == "TypeError":        # the argument parser's long text
            assert e[0] == "TypeError", (i, e, t)
        elif t != "ok" and t[0] == "IndexError":
            assert e != "ok" and e[0] in ("IndexError", "RuntimeError"), (i, e, t)
        else:
            assert e == t, i


@requires_torch
def test_module_errors_match_torch():
    def cases(L):
        nn, z = L.nn, L.zeros
        return [
            lambda: nn.Conv2d(2, 3, 3, groups=2),
            lambda: nn.Conv2d(3, 4, 3, groups=2),
            lambda: nn.Conv2d(2, 4, 3, groups=0),
            lambda: nn.Conv2d(2, 4, 3, padding="same", stride=2),
            lambda: nn.ConvTranspose2d(2, 4, 3, padding_mode="reflect"),
            lambda: nn.Conv2d(2, 4, 3, padding=1, padding_mode="reflect")(z(1, 2, 1, 1)),
            lambda: nn.Conv2d(2, 4, 3, padding=2, padding_mode="circular")(z(1, 2, 1, 1)),
            lambda: nn.Conv2d(2, 4, 3)(z(1, 2, 4)),
            lambda: nn.ConvTranspose2d(2, 3, 3, stride=2)(z(1, 2, 4, 4), output_size=(12, 10)),
            lambda: nn.ConvTranspose2d(2, 3, 3, stride=2)(z(1, 2, 4, 4), output_size=(1, 2, 3)),
            lambda: nn.LazyConv2d(4, 3)(z(1, 4)),
            lambda: nn.LazyConv2d(4, 3, groups=3)(z(1, 4, 5, 5)),
        ]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i
    # the valid choices are printed as a set, whose order varies between runs
    for bad in (dict(padding="foo"), dict(padding_mode="bad")):
        with pytest.raises(ValueError) as err:
            enn.Conv2d(2, 4, 3, **bad)
        with pytest.raises(ValueError) as terr:
            torch.nn.Conv2d(2, 4, 3, **bad)
        key = str(terr.value).split(",")[0].split("{")[0]
        assert str(err.value).startswith(key)
