"""Dropout: ``dropout``, ``alpha_dropout``, ``feature_alpha_dropout``, ``dropout1d/2d/3d``
and the layers. The masks are random (ember's generator, not PyTorch's), so values are
checked by their statistics and structure (fraction zeroed, exact scaling, channel-wise
masks), gradients against the drawn mask, and the deterministic parts (evaluation mode,
p = 0 or 1, shapes, warnings, errors, reprs) against PyTorch."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from oracle import requires_torch, torch

import ember
from ember.ops import dropout as dropout_ops

enn = ember.nn
F = enn.functional
gradcheck, gradgradcheck = ember.autograd.gradcheck, ember.autograd.gradgradcheck

SELU_NEG = 1.7580993408473766


def arr(*shape, seed=0, dtype=np.float32, low=1.0, high=2.0):
    # positive inputs: a zero in the output can only come from the mask
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)


def outcome(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
        return "ok"
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch", "ember")


# ------------------------------------------------------------------ element-wise dropout
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_statistics_and_exact_scaling(dtype, p):
    ember.manual_seed(0)
    x = arr(200, 500, dtype=dtype)
    y = F.dropout(ember.tensor(x), p).numpy()
    assert y.dtype == dtype and y.shape == x.shape
    dropped = y == 0
    # 100000 Bernoulli(p) draws: the fraction is within 5 standard errors of p
    assert abs(dropped.mean() - p) < 5 * math.sqrt(p * (1 - p) / x.size)
    scale = dtype(1.0 / (1.0 - p))
    np.testing.assert_array_equal(y[~dropped], x[~dropped] * scale)
    # the mask is not structured: rows and columns are both mixed
    assert 0 < dropped.mean(axis=0).min() and dropped.mean(axis=0).max() < 1


def test_dropout_gradient_is_mask_times_scale_and_double_backward():
    ember.manual_seed(3)
    x = ember.tensor(arr(30, 40), requires_grad=True)
    y = F.dropout(x, 0.3)
    assert y.grad_fn.name() == "MulBackward0"
    g = np.random.default_rng(1).standard_normal((30, 40)).astype(np.float32)
    (gx,) = ember.autograd.grad(y, x, ember.tensor(g), create_graph=True)
    kept = y.detach().numpy() != 0
    np.testing.assert_array_equal(gx.detach().numpy(), g * kept * np.float32(1 / 0.7))
    # the derivative is linear in the incoming gradient: double backward through it
    gg = ember.tensor(g, requires_grad=True)
    (gx,) = ember.autograd.grad(y, x, gg, create_graph=True)
    (d,) = ember.autograd.grad(gx.sum(), gg)
    np.testing.assert_array_equal(d.numpy(), kept * np.float32(1 / 0.7))


@pytest.mark.parametrize("fn", [
    lambda x: F.dropout(x, 0.4), lambda x: F.alpha_dropout(x, 0.4, True),
    lambda x: F.feature_alpha_dropout(x, 0.4, True),
    lambda x: F.dropout2d(x.unsqueeze(-1), 0.4)])
def test_gradcheck_with_a_fixed_mask(fn):
    def seeded(x):
        ember.manual_seed(5)                   # the same mask on every evaluation
        return fn(x)
    x = ember.tensor(arr(2, 3, 2, dtype=np.float64), requires_grad=True)
    assert gradcheck(seeded, [x])
    assert gradgradcheck(seeded, [x])


@pytest.mark.parametrize("fn", [F.dropout, F.dropout1d, F.dropout2d, F.dropout3d,
                                F.alpha_dropout, F.feature_alpha_dropout])
def test_reproducible_with_manual_seed(fn):
    x = ember.tensor(arr(4, 6, 5) if fn is F.dropout1d else arr(4, 6, 5, 5))
    kw = dict(training=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ember.manual_seed(42)
        a = fn(x, 0.5, **kw).numpy()
        b = fn(x, 0.5, **kw).numpy()
        ember.manual_seed(42)
        c = fn(x, 0.5, **kw).numpy()
        g = ember.Generator()
        state = ember.get_rng_state()
        d = fn(x, 0.5, **kw).numpy()
        ember.set_rng_state(state)
        e = fn(x, 0.5, **kw).numpy()
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(d, e)
    assert not np.array_equal(a, b)
    assert g is not None


@requires_torch
@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "feature_alpha_dropout",
                                  "dropout1d", "dropout2d", "dropout3d"])
def test_identity_cases_match_torch(name):
    x = ember.tensor(arr(2, 3, 4), requires_grad=True)
    f = getattr(F, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # evaluation mode and p = 0 return the input itself, as in torch (the unbatched
        # forms return a view: dropout3d takes this 3-D input as unbatched)
        tx = torch.ones(2, 3, 4, requires_grad=True)
        tf = getattr(torch.nn.functional, name)
        for p, training in ((0.5, False), (0.0, True)):
            same = tf(tx, p, training=training) is tx
            y = f(x, p, training=training)
            assert (y is x) == same
            np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy())
        # p = 1 zeroes everything (a multiplication by zero, so the graph goes on)
        y = f(x, 1.0, training=True)
    np.testing.assert_array_equal(y.detach().numpy(), 0)
    assert y.requires_grad and y.shape == x.shape
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)
    shape = (0, 3, 4) if name == "dropout1d" else (0, 3, 4, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = f(ember.zeros(*shape), 0.5, training=True)
    assert tuple(r.shape) == shape


@requires_torch
@pytest.mark.parametrize("shape", [(), (5,), (0, 3), (2, 3, 4)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_dropout_shapes_and_dtypes_match_torch(shape, dtype):
    e = F.dropout(ember.ones(shape, dtype=getattr(ember, dtype)), 0.5)
    t = torch.nn.functional.dropout(torch.ones(shape, dtype=getattr(torch, dtype)), 0.5)
    assert tuple(e.shape) == tuple(t.shape) and e.dtype.name == dtype
    vals = set(np.unique(e.numpy()).tolist())
    assert vals <= {0.0, 2.0}


# ------------------------------------------------------------------ alpha dropout
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_alpha_dropout_values_and_statistics(p):
    ember.manual_seed(1)
    x = np.random.default_rng(0).standard_normal((400, 500))
    y = F.alpha_dropout(ember.tensor(x), p, True).numpy()
    a = 1.0 / math.sqrt((SELU_NEG ** 2 * p + 1) * (1 - p))
    dropped_value = SELU_NEG * a * (p - 1)
    dropped = np.isclose(y, dropped_value, rtol=0, atol=1e-12) & ~np.isclose(
        x * a + SELU_NEG * a * p, dropped_value, rtol=0, atol=1e-12)
    kept = ~dropped
    assert abs(dropped.mean() - p) < 5 * math.sqrt(p * (1 - p) / x.size)
    np.testing.assert_allclose(y[kept], a * x[kept] + SELU_NEG * a * p, rtol=1e-12)
    # SELU's fixed point: a standard normal input keeps zero mean and unit variance
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01
    # training=False is the default of the functional form
    t = ember.tensor(x)
    assert F.alpha_dropout(t, p) is t


def test_alpha_dropout_gradient():
    ember.manual_seed(2)
    x = ember.tensor(np.random.default_rng(0).standard_normal((50, 40)), requires_grad=True)
    y = F.alpha_dropout(x, 0.3, True)
    assert y.grad_fn.name() == "AddBackward0"
    y.sum().backward()
    a = 1.0 / math.sqrt((SELU_NEG ** 2 * 0.3 + 1) * 0.7)
    grads = x.grad.numpy()
    assert set(np.unique(np.round(grads, 12)).tolist()) == {0.0, round(a, 12)}
    kept = grads != 0
    np.testing.assert_allclose(y.detach().numpy()[kept],
                               a * x.detach().numpy()[kept] + SELU_NEG * a * 0.3)


# ------------------------------------------------------------------ channel-wise dropout
def _constant_axes(mask):
    return [bool(np.all(mask == np.take(mask, [0], axis=ax))) for ax in range(mask.ndim)]


@requires_torch
@pytest.mark.parametrize("name,shape,const", [
    ("dropout1d", (30, 40), [False, True]),
    ("dropout1d", (20, 30, 4), [False, False, True]),
    ("dropout2d", (20, 30, 4), [False, False, True]),           # (N, C, L), with a warning
    ("dropout2d", (20, 30, 3, 2), [False, False, True, True]),
    ("dropout2d", (40, 50), [False, False]),                    # deprecated: elementwise
    ("dropout2d", (10, 30, 2, 2, 2), [False, False, True, True, True]),
    ("dropout3d", (30, 40, 2, 3), [False, True, True, True]),   # unbatched (C, D, H, W)
    ("dropout3d", (10, 30, 2, 2, 2), [False, False, True, True, True]),
    ("dropout3d", (30, 4, 3), [False, True, True]),             # deprecated 3-D
    ("feature_alpha_dropout", (20, 30, 4), [False, False, True]),
    ("feature_alpha_dropout", (40, 50), [False, False]),
])
def test_channel_masks_match_torch_structure(name, shape, const):
    ember.manual_seed(0)
    torch.manual_seed(0)          # both sides deterministic: the 0.3-0.7 check is not flaky
    x = arr(*shape, dtype=np.float64)
    records = []
    for L in (ember, torch):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            kw = dict(training=True)
            y = getattr(L.nn.functional, name)(L.tensor(x), 0.5, **kw)
        records.append([str(m.message) for m in w])
        yv = y.numpy() if L is ember else y.detach().numpy()
        if name.startswith("feature_alpha"):
            a = 1.0 / math.sqrt((SELU_NEG ** 2 * 0.5 + 1) * 0.5)
            mask = ~np.isclose(yv, SELU_NEG * a * (0.5 - 1))
        else:
            mask = yv != 0
            np.testing.assert_allclose(yv[mask], x[mask] * 2)
        assert _constant_axes(mask) == const, L.__name__
        assert 0.3 < mask.mean() < 0.7
    assert records[0] == records[1]


def test_dropout2d_gradient_and_inplace_unbatched():
    ember.manual_seed(4)
    x = ember.tensor(arr(4, 6, 3, 3), requires_grad=True)
    y = F.dropout2d(x, 0.5)
    y.sum().backward()
    kept = (y.detach().numpy() != 0)
    np.testing.assert_array_equal(x.grad.numpy(), kept * np.float32(2.0))
    assert np.all(kept == kept[:, :, :1, :1])
    # in place on an unbatched input: the input itself, channel-wise
    t = ember.tensor(arr(6, 5, 2, 2))
    r = F.dropout3d(t, 0.5, inplace=True)
    assert r is t
    v = t.numpy()
    assert np.all((v == 0) == (v[:, :1, :1, :1] == 0))
    u = ember.tensor(arr(6, 5))
    assert F.dropout1d(u, 0.5, inplace=True) is u
    assert np.all((u.numpy() == 0) == (u.numpy()[:, :1] == 0))


# ------------------------------------------------------------------ in place
@requires_torch
def test_inplace_matches_torch_semantics():
    ember.manual_seed(0)
    x = ember.tensor(arr(50, 40))
    v = x._version
    r = F.dropout(x, 0.5, inplace=True)
    assert r is x and x._version > v
    assert 0.4 < (x.numpy() == 0).mean() < 0.6
    # a leaf that requires grad cannot be changed in place
    for L in (ember, torch):
        leaf = L.ones(3, 4, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            L.nn.functional.dropout(leaf, 0.5, inplace=True)
    # in place on an intermediate: the gradient still follows the mask
    leaf = ember.tensor(arr(30, 20), requires_grad=True)
    h = leaf * 1
    out = F.dropout(h, 0.5, inplace=True)
    assert out is h
    out.sum().backward()
    kept = h.detach().numpy() != 0
    np.testing.assert_array_equal(leaf.grad.numpy(), kept * np.float32(2))
    # evaluation mode leaves the input untouched
    y = ember.tensor(arr(3, 4))
    before = y.numpy().copy()
    assert F.dropout(y, 0.5, training=False, inplace=True) is y
    np.testing.assert_array_equal(y.numpy(), before)


# ------------------------------------------------------------------ layers
@requires_torch
@pytest.mark.parametrize("cls", ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
                                 "AlphaDropout", "FeatureAlphaDropout"])
def test_layers_repr_and_train_eval(cls):
    for kw in (dict(), dict(p=0.2, inplace=True), dict(p=1)):
        assert repr(getattr(enn, cls)(**kw)) == repr(getattr(torch.nn, cls)(**kw))
    m = getattr(enn, cls)(p=0.5)
    shape = {"Dropout1d": (8, 10, 3), "Dropout3d": (4, 10, 3, 2, 2)}.get(cls, (8, 10, 3, 2))
    x = ember.tensor(arr(*shape))
    m.eval()
    assert m(x) is x
    m.train()
    ember.manual_seed(0)
    y = m(x).numpy()
    assert not np.array_equal(y, x.numpy())
    for L in (ember, torch):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, "
                                             "but got 1.5"):
            getattr(L.nn, cls)(1.5)


@requires_torch
def test_errors_match_torch():
    def cases(L):
        f, z = L.nn.functional, L.zeros
        return [lambda: f.dropout(z(3), 1.5), lambda: f.dropout(z(3), -0.1),
                lambda: f.alpha_dropout(z(3), 2.0, True),
                lambda: f.feature_alpha_dropout(z(2, 3), -1.0, True),
                lambda: f.dropout2d(z(2, 3, 4, 5), 1.5), lambda: f.dropout3d(z(2, 3, 4, 5), 7),
                lambda: f.dropout1d(z(4), 0.5), lambda: f.dropout1d(z(1, 2, 3, 4), 0.5),
                lambda: f.feature_alpha_dropout(z(3), 0.5, True),
                lambda: f.dropout(z(2, 3, dtype=L.int64), 0.5),
                lambda: f.dropout(z(2, 3, dtype=L.int64), 0.0),
                lambda: f.dropout(z(2, 3), True)]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


@requires_torch
def test_warnings_match_torch():
    for shape, name in [((2, 3, 4), "dropout2d"), ((3, 4), "dropout2d"),
                        ((2, 3, 4, 5, 6), "dropout2d"), ((2, 3, 4), "dropout3d"),
                        ((2, 3, 4, 5, 6, 7), "dropout3d")]:
        msgs = []
        for L in (ember, torch):
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                getattr(L.nn.functional, name)(L.ones(*shape), 0.5)
            msgs.append([(m.category, str(m.message)) for m in w])
        assert msgs[0] == msgs[1] and msgs[0], (shape, name)


# ------------------------------------------------------------------ top-level names
@requires_torch
def test_top_level_functions():
    top = dropout_ops.TOP_LEVEL
    for name in ("dropout", "dropout_", "feature_dropout", "alpha_dropout",
                 "feature_alpha_dropout_", "native_dropout", "batch_norm", "layer_norm",
                 "group_norm", "instance_norm", "rms_norm", "native_layer_norm"):
        assert name in top and hasattr(torch, name), name
        assert top[name].__name__ == name
    x = ember.tensor(arr(20, 30))
    ember.manual_seed(0)
    y = top["dropout"](x, 0.5, True)
    assert 0.3 < (y.numpy() == 0).mean() < 0.7
    assert top["dropout"](x, 0.5, False) is x
    for name, args in (("dropout", (1.5, True)), ("feature_dropout", (0.5, True)),
                       ("alpha_dropout", (-1, False))):
        assert outcome(lambda n=name, a=args: top[n](ember.ones(3), *a)) == outcome(
            lambda n=name, a=args: getattr(torch, n)(torch.ones(3), *a)), name
    out, mask = top["native_dropout"](x, 0.5, True)
    assert mask.dtype is ember.bool
    np.testing.assert_array_equal(out.numpy() != 0, mask.numpy())
    y = ember.tensor(arr(4, 6, 2, 2))
    z = top["feature_dropout_"](y, 0.5, True)
    assert z is y and np.all((y.numpy() == 0) == (y.numpy()[:, :, :1, :1] == 0))
    # the normalization names keep ATen's argument order
    xb = ember.tensor(arr(4, 3, dtype=np.float64))
    tb = torch.tensor(xb.numpy())
    np.testing.assert_allclose(
        top["batch_norm"](xb, None, None, None, None, True, 0.1, 1e-5, False).numpy(),
        torch.batch_norm(tb, None, None, None, None, True, 0.1, 1e-5, False).numpy())
    outs = top["native_layer_norm"](xb, [3], None, None, 1e-5)
    touts = torch.native_layer_norm(tb, [3], None, None, 1e-5)
    for a, b in zip(outs, touts):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10)
