"""Normalization: ``batch_norm``/``instance_norm``/``layer_norm``/``group_norm``/``rms_norm``/
``local_response_norm``/``normalize`` and their layers, against PyTorch (outputs, input and
parameter gradients, running statistics over several steps, state dicts, reprs, errors),
with numerical first and second derivative checks in float64."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close, requires_torch, torch

import ember

enn = ember.nn
F = enn.functional
gradcheck, gradgradcheck = ember.autograd.gradcheck, ember.autograd.gradgradcheck

DTYPES = [np.float32, np.float64]
TOLS = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-10)}


def arr(*shape, seed=0, dtype=np.float64, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)


def both(fn, arrays, grad=(), seed=11):
    """Run ``fn(L, *tensors)`` with L = ember and L = torch, the tensors made from
    ``arrays`` (None stays None; positions in ``grad`` require grad), backpropagate the
    same random cotangent, and return per library ``(output, grads, tensors)``."""
    results = []
    for L in (ember, torch):
        ts = [None if a is None else L.tensor(np.array(a, copy=True)) for a in arrays]
        for i in grad:
            ts[i].requires_grad_()
        out = fn(L, *ts)
        grads = []
        if grad:
            g = np.random.default_rng(seed).standard_normal(tuple(out.shape)).astype(
                arrays[0].dtype)
            grads = L.autograd.grad(out, [ts[i] for i in grad], L.tensor(g), allow_unused=True)
        results.append((out, grads, ts))
    return results


def compare(res, dtype, check=()):
    """Outputs, gradients, and the tensors at positions ``check`` (mutated running
    statistics) must agree between ember and torch."""
    (eo, eg, et), (to, tg, tt) = res
    tol = TOLS[dtype]
    assert_close(eo, to, msg="output", **tol)
    for i, (a, b) in enumerate(zip(eg, tg)):
        assert_close(a, b, msg=f"grad {i}", **tol)
    for i in check:
        assert_close(et[i], tt[i], msg=f"tensor {i}", **tol)


def outcome(fn):
    try:
        fn()
        return "ok"
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch", "ember")


def copy_params(em, tm):
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


# ====================================================================== batch_norm
BN_SHAPES = [(4, 3), (3, 3, 5), (2, 3, 4, 2), (2, 3, 2, 2, 3)]


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", ["wb", "w", "b", ""])
def test_batch_norm_matches_torch(dtype, shape, training, affine):
    c = shape[1]
    arrays = [arr(*shape, dtype=dtype), arr(c, seed=1, dtype=dtype),
              arr(c, seed=2, dtype=dtype, low=0.5, high=2.0),
              arr(c, seed=3, dtype=dtype) if "w" in affine else None,
              arr(c, seed=4, dtype=dtype) if "b" in affine else None]
    grad = [0] + [i for i, k in ((3, "w"), (4, "b")) if k in affine]
    res = both(lambda L, x, rm, rv, w, b: L.nn.functional.batch_norm(
        x, rm, rv, w, b, training=training, momentum=0.3, eps=1e-3), arrays, grad)
    compare(res, dtype, check=(1, 2))


@requires_torch
@pytest.mark.parametrize("name", ["batch_norm", "layer_norm", "group_norm", "instance_norm"])
@pytest.mark.parametrize("grad", [(1,), (2,), (1, 2)])
def test_parameter_gradients_without_input_gradient(name, grad):
    def fn(L, x, w, b):
        f = getattr(L.nn.functional, name)
        if name == "batch_norm":
            return f(x, None, None, w, b, training=True)
        if name == "layer_norm":
            return f(x.reshape(3, 4, 2), [2], w[:2], b[:2])
        if name == "group_norm":
            return f(x, 2, w, b)
        return f(x, weight=w, bias=b)
    res = both(fn, [arr(3, 4, 2), arr(4, seed=1), arr(4, seed=2)], grad)
    compare(res, np.float64)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_without_running_stats_and_empty_batches(dtype):
    res = both(lambda L, x, w: L.nn.functional.batch_norm(x, None, None, w, training=True),
               [arr(5, 2, 3, dtype=dtype), arr(2, seed=1, dtype=dtype)], (0, 1))
    compare(res, dtype)
    # an empty batch: empty output, running statistics untouched
    for shape in [(0, 3), (2, 3, 0)]:
        res = both(lambda L, x, rm, rv: L.nn.functional.batch_norm(x, rm, rv, training=True),
                   [arr(*shape, dtype=dtype), arr(3, seed=1, dtype=dtype),
                    arr(3, seed=2, dtype=dtype, low=0.5)], (0,))
        compare(res, dtype, check=(1, 2))


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (3, 3, 4, 2)),
                                       ("BatchNorm3d", (2, 3, 2, 3, 2))])
@pytest.mark.parametrize("momentum", [0.1, None, 0.7])
def test_batchnorm_layers_track_running_stats_like_torch(dtype, cls, shape, momentum):
    tdt, edt = getattr(torch, np.dtype(dtype).name), getattr(ember, np.dtype(dtype).name)
    tm = getattr(torch.nn, cls)(3, momentum=momentum, dtype=tdt)
    em = getattr(enn, cls)(3, momentum=momentum, dtype=edt)
    with torch.no_grad():                       # a non-trivial affine map
        tm.weight.uniform_(0.5, 1.5)
        tm.bias.uniform_(-1, 1)
    copy_params(em, tm)
    tol = TOLS[dtype]
    for step in range(4):                       # training steps
        x = arr(*shape, seed=step, dtype=dtype) * (step + 1) + step
        xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ye, yt = em(xe), tm(xt)
        assert_close(ye, yt, **tol)
        g = arr(*shape, seed=100 + step, dtype=dtype)
        ye.backward(ember.tensor(g))
        yt.backward(torch.tensor(g))
        assert_close(xe.grad, xt.grad, **tol)
        assert_close(em.weight.grad, tm.weight.grad, **tol)
        assert_close(em.bias.grad, tm.bias.grad, **tol)
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            assert_close(getattr(em, name), getattr(tm, name), msg=name, **tol)
    em.eval()
    tm.eval()
    x = arr(*shape, seed=50, dtype=dtype)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = em(xe), tm(xt)
    assert_close(ye, yt, **tol)
    g = arr(*shape, seed=51, dtype=dtype)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    assert_close(xe.grad, xt.grad, **tol)
    assert_close(em.weight.grad, tm.weight.grad, **tol)
    assert int(em.num_batches_tracked) == 4             # evaluation does not count
    assert em.num_batches_tracked.dtype is ember.int64


@requires_torch
@pytest.mark.parametrize("kw", [dict(track_running_stats=False), dict(affine=False),
                                dict(bias=False), dict(affine=False, track_running_stats=False)])
def test_batchnorm_options_match_torch(kw):
    tm, em = torch.nn.BatchNorm1d(3, **kw), enn.BatchNorm1d(3, **kw)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    copy_params(em, tm)
    for mode in ("train", "eval"):
        getattr(em, mode)()
        getattr(tm, mode)()
        x = arr(5, 3, 2, dtype=np.float32)
        assert_close(em(ember.tensor(x)), tm(torch.tensor(x)))
        for k, v in tm.state_dict().items():
            assert_close(em.state_dict()[k], v, msg=k)


@requires_torch
def test_batchnorm_state_dict_and_parameters_match_torch():
    tm, em = torch.nn.BatchNorm2d(4), enn.BatchNorm2d(4)
    tsd, esd = tm.state_dict(), em.state_dict()
    assert list(esd) == list(tsd)
    for k in tsd:
        assert_close(esd[k], tsd[k], msg=k)
    assert esd._metadata[""]["version"] == tsd._metadata[""]["version"] == 2
    assert [n for n, _ in em.named_buffers()] == [n for n, _ in tm.named_buffers()]
    # a checkpoint from before num_batches_tracked existed (no metadata) loads: counter 0
    em.num_batches_tracked.fill_(5)
    old = {k: v.detach().numpy() for k, v in tsd.items() if k != "num_batches_tracked"}
    assert em.load_state_dict(old) is not None
    assert int(em.num_batches_tracked) == 5               # kept: the module's own value
    fresh = enn.Sequential(enn.BatchNorm2d(4))
    fresh.load_state_dict({"0." + k: v for k, v in old.items()})
    assert int(fresh[0].num_batches_tracked) == 0
    # with version-2 metadata the key is required, as in torch
    sd = em.state_dict()
    del sd["num_batches_tracked"]
    with pytest.raises(RuntimeError, match='Missing key.*"num_batches_tracked"'):
        em.load_state_dict(sd)
    tsd2 = tm.state_dict()
    del tsd2["num_batches_tracked"]
    with pytest.raises(RuntimeError, match='Missing key.*"num_batches_tracked"'):
        tm.load_state_dict(tsd2)


def test_batchnorm_reset_and_parameters():
    m = enn.BatchNorm1d(3, dtype=ember.float64)
    m(ember.tensor(arr(4, 3) + 3))
    assert not np.allclose(m.running_mean.numpy(), 0)
    with ember.no_grad():
        m.weight.fill_(2.0)
    m.reset_running_stats()
    np.testing.assert_array_equal(m.running_mean.numpy(), 0)
    np.testing.assert_array_equal(m.running_var.numpy(), 1)
    assert int(m.num_batches_tracked) == 0 and m.weight.detach().numpy()[0] == 2.0
    m.reset_parameters()
    np.testing.assert_array_equal(m.weight.detach().numpy(), 1)
    np.testing.assert_array_equal(m.bias.detach().numpy(), 0)
    assert m.running_mean.dtype is ember.float64 and m.weight.requires_grad
    # batch statistics in evaluation mode when there are no running statistics
    m = enn.BatchNorm1d(3, track_running_stats=False).eval()
    y = m(ember.tensor(arr(6, 3, dtype=np.float32)))
    np.testing.assert_allclose(y.detach().numpy().mean(0), 0, atol=1e-6)


@requires_torch
def test_batchnorm_errors_match_torch():
    def cases(L):
        nn, f, z = L.nn, L.nn.functional.batch_norm, L.zeros
        return [
            lambda: nn.BatchNorm1d(3)(z(2, 3, 4, 5)), lambda: nn.BatchNorm1d(3)(z(3)),
            lambda: nn.BatchNorm2d(3)(z(2, 3, 4)), lambda: nn.BatchNorm3d(3)(z(2, 3, 4, 4)),
            lambda: nn.BatchNorm1d(3)(z(1, 3)), lambda: nn.BatchNorm2d(3)(z(1, 3, 1, 1)),
            lambda: nn.BatchNorm1d(4)(z(2, 3)),
            lambda: f(z(2, 3), None, None, training=False),
            lambda: f(z(2, 3), z(3), None, training=True),
            lambda: f(z(2, 3), None, z(3), training=True),
            lambda: f(z(1, 3, 1), z(3), z(3), training=True),
            lambda: f(z(2, 4), z(3), z(3), training=True),
            lambda: f(z(2, 3), z(3), z(3), z(4)),
            lambda: f(z(2, 3), z(3), z(3), None, z(2)),
            lambda: f(z(2, 3), z(3), z(3), eps=-1.0),
            lambda: f(z(2, 3), z(3), z(3), training=True, eps=0.0),
            lambda: f(z(2, 3), z(3), z(3), training=True, momentum=None),
            lambda: f(z(2, 3, dtype=L.float64), z(3), z(3), training=True),
            lambda: f(z(2, 3), z(3, dtype=L.float64), z(3, dtype=L.float64)),
            lambda: f(z(2, 3, dtype=L.int64), z(3), z(3), training=True),
            lambda: f(z(3), z(3), z(3), training=True),
            lambda: f(z(3), None, None, training=True),
            lambda: f(z(2, 3), z(1, 3), z(3)),
        ]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


# ====================================================================== layer_norm
@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,ns", [((4, 5), (5,)), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)),
                                      ((3,), (3,)), ((2, 3, 4), (2, 3, 4)), ((0, 4), (4,))])
@pytest.mark.parametrize("affine", ["wb", "w", "b", ""])
def test_layer_norm_matches_torch(dtype, shape, ns, affine):
    arrays = [arr(*shape, dtype=dtype), arr(*ns, seed=1, dtype=dtype) if "w" in affine else None,
              arr(*ns, seed=2, dtype=dtype) if "b" in affine else None]
    grad = [0] + [i for i, k in ((1, "w"), (2, "b")) if k in affine]
    res = both(lambda L, x, w, b: L.nn.functional.layer_norm(x, list(ns), w, b, eps=1e-4),
               arrays, grad)
    compare(res, dtype)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(), dict(elementwise_affine=False), dict(bias=False),
                                dict(eps=1e-3)])
def test_layernorm_layer_matches_torch(dtype, kw):
    tdt, edt = getattr(torch, np.dtype(dtype).name), getattr(ember, np.dtype(dtype).name)
    tm, em = torch.nn.LayerNorm([3, 4], dtype=tdt, **kw), enn.LayerNorm([3, 4], dtype=edt, **kw)
    assert repr(em) == repr(tm)
    if tm.weight is not None:
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
    copy_params(em, tm)
    x = arr(2, 3, 4, dtype=dtype)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = em(xe), tm(xt)
    assert_close(ye, yt, **TOLS[dtype])
    ye.sum().backward()
    (yt * 1).sum().backward()
    assert_close(xe.grad, xt.grad, **TOLS[dtype])
    for (n, pe), (_, pt) in zip(em.named_parameters(), tm.named_parameters()):
        assert_close(pe.grad, pt.grad, msg=n, **TOLS[dtype])


@requires_torch
def test_layer_norm_errors_match_torch():
    def cases(L):
        f, z = L.nn.functional.layer_norm, L.zeros
        x = z(2, 3, 4)
        return [lambda: f(x, (5,)), lambda: f(x, 4), lambda: f(x, (2, 3, 4, 5)),
                lambda: f(x, (4,), z(3)), lambda: f(x, (4,), None, z(3)), lambda: f(x, ()),
                lambda: f(x, (4,), z(4, dtype=L.float64)),
                lambda: f(x.double(), (4,), z(4)), lambda: f(x.long(), (4,)),
                lambda: f(x, (0,)), lambda: L.nn.LayerNorm(4)(z(2, 3))]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


# ====================================================================== group_norm
@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,groups", [((3, 6), 2), ((2, 6, 5), 2), ((3, 4, 2, 3), 4),
                                          ((2, 4, 3, 2), 1), ((1, 6, 2, 1, 2), 3),
                                          ((0, 4, 3), 2)])
@pytest.mark.parametrize("affine", ["wb", "w", ""])
def test_group_norm_matches_torch(dtype, shape, groups, affine):
    c = shape[1]
    arrays = [arr(*shape, dtype=dtype), arr(c, seed=1, dtype=dtype) if "w" in affine else None,
              arr(c, seed=2, dtype=dtype) if "b" in affine else None]
    grad = [0] + [i for i, k in ((1, "w"), (2, "b")) if k in affine]
    res = both(lambda L, x, w, b: L.nn.functional.group_norm(x, groups, w, b, eps=1e-4),
               arrays, grad)
    compare(res, dtype)


@requires_torch
@pytest.mark.parametrize("kw", [dict(), dict(affine=False), dict(bias=False)])
def test_groupnorm_layer_matches_torch(kw):
    tm, em = torch.nn.GroupNorm(2, 4, **kw), enn.GroupNorm(2, 4, **kw)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    if tm.weight is not None:
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
    copy_params(em, tm)
    x = arr(3, 4, 5, dtype=np.float32)
    assert_close(em(ember.tensor(x)), tm(torch.tensor(x)))


@requires_torch
def test_group_norm_errors_match_torch():
    def cases(L):
        f, z = L.nn.functional.group_norm, L.zeros
        return [lambda: f(z(2, 3, 4), 2), lambda: f(z(3), 1), lambda: f(z(2, 3), 3, z(2)),
                lambda: f(z(1, 3), 3), lambda: f(z(2, 3, 2).long(), 3),
                lambda: f(z(2, 3, 2), 3, z(3).double()), lambda: f(z(2, 3, 4), 0),
                lambda: L.nn.GroupNorm(2, 3)]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i
    with pytest.raises(RuntimeError, match="Expected bias to be a vector of size equal to the "
                                           "number of channels"):
        F.group_norm(ember.zeros(2, 3), 3, None, ember.zeros(2))


# ====================================================================== instance_norm
@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 2, 2, 3), (1, 2, 2, 2, 2)])
@pytest.mark.parametrize("stats", ["input", "input+running", "running"])
@pytest.mark.parametrize("affine", [True, False])
def test_instance_norm_matches_torch(dtype, shape, stats, affine):
    c = shape[1]
    running = "running" in stats
    arrays = [arr(*shape, dtype=dtype),
              arr(c, seed=1, dtype=dtype) if running else None,
              arr(c, seed=2, dtype=dtype, low=0.5) if running else None,
              arr(c, seed=3, dtype=dtype) if affine else None,
              arr(c, seed=4, dtype=dtype) if affine else None]
    grad = [0, 3, 4] if affine else [0]
    res = both(lambda L, x, rm, rv, w, b: L.nn.functional.instance_norm(
        x, rm, rv, w, b, use_input_stats=stats != "running", momentum=0.3, eps=1e-4),
        arrays, grad)
    compare(res, dtype, check=(1, 2) if running else ())


@requires_torch
@pytest.mark.parametrize("cls,shape", [("InstanceNorm1d", (2, 3, 5)), ("InstanceNorm1d", (3, 5)),
                                       ("InstanceNorm2d", (2, 3, 2, 3)),
                                       ("InstanceNorm2d", (3, 2, 3)),
                                       ("InstanceNorm3d", (2, 3, 2, 2, 2)),
                                       ("InstanceNorm3d", (3, 2, 2, 2))])
@pytest.mark.parametrize("kw", [dict(), dict(affine=True, track_running_stats=True),
                                dict(track_running_stats=True, momentum=None)])
def test_instancenorm_layers_match_torch(cls, shape, kw):
    tm = getattr(torch.nn, cls)(3, dtype=torch.float64, **kw)
    em = getattr(enn, cls)(3, dtype=ember.float64, **kw)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    if tm.weight is not None:
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
            tm.bias.uniform_(-1, 1)
    copy_params(em, tm)
    for step, mode in enumerate(["train", "train", "eval"]):
        getattr(em, mode)()
        getattr(tm, mode)()
        x = arr(*shape, seed=step, dtype=np.float64) + step
        xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ye, yt = em(xe), tm(xt)
        assert_close(ye, yt)
        ye.sum().backward()
        (yt * 1).sum().backward()
        assert_close(xe.grad, xt.grad)
        for k, v in tm.state_dict().items():
            assert_close(em.state_dict()[k], v, msg=k)


@requires_torch
def test_instance_norm_running_stats_of_another_dtype_like_torch():
    # PyTorch converts running statistics of another floating dtype (not the affine map)
    arrays = [arr(2, 3, 4), arr(3, seed=1, dtype=np.float32),
              arr(3, seed=2, dtype=np.float32, low=0.5)]
    for use_input_stats in (True, False):
        res = both(lambda L, x, rm, rv, u=use_input_stats: L.nn.functional.instance_norm(
            x, rm, rv, use_input_stats=u), arrays, [0])
        compare(res, np.float32, check=(1, 2))
        assert res[0][0].dtype is ember.float64


@requires_torch
def test_instancenorm_warnings_errors_and_old_checkpoints():
    for L in (ember, torch):
        with pytest.warns(UserWarning, match="input's size at dim=1 does not match "
                                             "num_features"):
            L.nn.InstanceNorm1d(4)(L.zeros(2, 3, 5))

    def cases(L):
        nn, f, z = L.nn, L.nn.functional.instance_norm, L.zeros
        return [lambda: nn.InstanceNorm1d(4, affine=True)(z(2, 3, 5)),
                lambda: nn.InstanceNorm1d(3)(z(2, 3, 4, 5)), lambda: nn.InstanceNorm2d(3)(z(3, 4)),
                lambda: nn.InstanceNorm3d(3)(z(2, 3)), lambda: f(z(2, 3)),
                lambda: f(z(2, 3, 1)), lambda: f(z(3)), lambda: f(z(2, 3, 4), z(3), None),
                lambda: f(z(2, 3, 4), None, None, use_input_stats=False),
                lambda: f(z(2, 3, 4), z(2), z(2)), lambda: f(z(2, 3, 4), weight=z(2))]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i
    # a pre-0.4 checkpoint with running statistics for a layer that does not track them
    sd = {"running_mean": np.zeros(3, np.float32), "running_var": np.ones(3, np.float32)}
    msgs = []
    for L in (ember, torch):
        with pytest.raises(RuntimeError) as info:
            L.nn.InstanceNorm1d(3).load_state_dict({k: L.tensor(v) for k, v in sd.items()})
        msgs.append(str(info.value).replace("torch", "ember"))
    assert msgs[0] == msgs[1] and "Unexpected running stats buffer(s)" in msgs[0]


# ====================================================================== rms_norm
@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,ns", [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((3,), (3,))])
@pytest.mark.parametrize("weight", [True, False])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_matches_torch(dtype, shape, ns, weight, eps):
    arrays = [arr(*shape, dtype=dtype), arr(*ns, seed=1, dtype=dtype) if weight else None]
    res = both(lambda L, x, w: L.nn.functional.rms_norm(x, list(ns), w, eps), arrays,
               [0, 1] if weight else [0])
    compare(res, dtype)


@requires_torch
def test_rmsnorm_layer_and_errors_match_torch():
    for kw in (dict(), dict(eps=1e-3), dict(elementwise_affine=False)):
        tm, em = torch.nn.RMSNorm([2, 3], **kw), enn.RMSNorm([2, 3], **kw)
        assert repr(em) == repr(tm)
        copy_params(em, tm)
        x = arr(4, 2, 3, dtype=np.float32)
        assert_close(em(ember.tensor(x)), tm(torch.tensor(x)))

    def cases(L):
        f, z = L.nn.functional.rms_norm, L.zeros
        return [lambda: f(z(3, 2), (3,)), lambda: f(z(3, 2), (2,), z(3)),
                lambda: f(z(3, 2).long(), (2,)), lambda: f(z(3, 2), ())]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


# ====================================================================== local response norm
@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 5, 3), (2, 4, 3, 2), (1, 6, 2, 2, 2)])
@pytest.mark.parametrize("size", [1, 2, 3, 8])
def test_local_response_norm_matches_torch(dtype, shape, size):
    res = both(lambda L, x: L.nn.functional.local_response_norm(x, size, alpha=0.5, beta=0.7,
                                                                 k=1.5),
               [arr(*shape, dtype=dtype)], [0])
    compare(res, dtype)


@requires_torch
def test_local_response_norm_layer_and_errors_match_torch():
    tm, em = torch.nn.LocalResponseNorm(3, 1e-2, 0.5, 2.0), enn.LocalResponseNorm(3, 1e-2, 0.5, 2.0)
    assert repr(em) == repr(tm)
    x = arr(2, 5, 3, 3, dtype=np.float32)
    assert_close(em(ember.tensor(x)), tm(torch.tensor(x)))
    empty = ember.zeros(0, 3, 4)
    assert F.local_response_norm(empty, 2) is empty
    for L in (ember, torch):
        for shape in [(3, 4), (3,)]:
            with pytest.raises(ValueError, match=f"Expected 3D or higher dimensionality.*input "
                                                 f"\\(got {len(shape)} dimensions\\)"):
                L.nn.functional.local_response_norm(L.zeros(*shape), 2)
    for shape in [(2, 4, 5), (2, 4, 5, 2)]:
        assert outcome(lambda s=shape: F.local_response_norm(ember.zeros(*s), 0)) == outcome(
            lambda s=shape: torch.nn.functional.local_response_norm(torch.zeros(*s), 0))


@requires_torch
@pytest.mark.parametrize("size,c", [(3, 7), (4, 6), (5, 3), (1, 4), (2, 2)])
def test_cross_map_lrn2d_matches_torch(size, c):
    tm, em = torch.nn.CrossMapLRN2d(size, 0.5, 0.75, 1.5), enn.CrossMapLRN2d(size, 0.5, 0.75, 1.5)
    assert repr(em) == repr(tm)
    x = arr(2, c, 2, 3)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    assert_close(em(xe), tm(xt))
    assert gradcheck(em, [ember.tensor(arr(1, c, 1, 2), requires_grad=True)])
    for L in (ember, torch):
        with pytest.raises(ValueError, match="Expected input to be 4D, got 3D instead"):
            L.nn.CrossMapLRN2d(3)(L.zeros(2, 3, 4))


# ====================================================================== normalize
@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,dim", [((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -1), ((5,), 0),
                                       ((2, 0), 1)])
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
def test_normalize_matches_torch(dtype, shape, dim, p):
    x = arr(*shape, dtype=dtype)
    if p == float("inf") and 0 in shape:       # no identity for max over nothing: an error
        for L in (ember, torch):
            with pytest.raises(RuntimeError, match="cannot compute the inf norm"):
                L.nn.functional.normalize(L.tensor(x), p=p, dim=dim)
        return
    res = both(lambda L, x: L.nn.functional.normalize(x, p=p, dim=dim), [x], [0])
    compare(res, dtype)


@requires_torch
def test_normalize_eps_out_and_zero_rows():
    x = np.array([[0.0, 0.0], [3.0, 4.0], [1e-13, 0.0]])
    res = both(lambda L, x: L.nn.functional.normalize(x, eps=1e-12), [x], [0])
    compare(res, np.float64)
    out = ember.empty(3, 2, dtype=ember.float64)
    r = F.normalize(ember.tensor(x), out=out)
    assert r is out
    np.testing.assert_allclose(out.numpy()[1], [0.6, 0.8])
    for L in (ember, torch):
        with pytest.raises(IndexError, match="Dimension out of range"):
            L.nn.functional.normalize(L.zeros(3), dim=1)


# ====================================================================== half precision
@requires_torch
@pytest.mark.parametrize("name", ["batch_norm", "layer_norm", "group_norm"])
def test_half_inputs_compute_in_float32_like_torch(name):
    x = arr(4, 4, 3, dtype=np.float16)
    w = arr(4, seed=1, dtype=np.float32 if name == "batch_norm" else np.float16)
    outs = []
    for L in (ember, torch):
        f = getattr(L.nn.functional, name)
        t, tw = L.tensor(x), L.tensor(w)
        if name == "batch_norm":
            y = f(t, L.zeros(4), L.ones(4), tw, training=True)
        elif name == "layer_norm":
            y = f(t.reshape(4, 3, 4), [4], tw)
        else:
            y = f(t, 2, tw)
        outs.append(y)
    assert outs[0].dtype is ember.float16
    assert_close(outs[0], outs[1], rtol=2e-3, atol=2e-3)


# ====================================================================== derivatives
GRAD_CASES = {
    "batch_norm_train": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                         [(3, 2, 2), (2,), (2,)]),
    "batch_norm_train_stats": (lambda x, w, b: F.batch_norm(
        x, ember.zeros(2, dtype=ember.float64), ember.ones(2, dtype=ember.float64), w, b,
        training=True), [(4, 2), (2,), (2,)]),
    "batch_norm_eval": (lambda x, w, b: F.batch_norm(
        x, ember.tensor([0.1, -0.2], dtype=ember.float64),
        ember.tensor([0.5, 2.0], dtype=ember.float64), w, b), [(3, 2, 2), (2,), (2,)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, [3], w, b), [(2, 3), (3,), (3,)]),
    "layer_norm_2d": (lambda x, w, b: F.layer_norm(x, [2, 2], w, b), [(2, 2, 2), (2, 2),
                                                                        (2, 2)]),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 2), (4,), (4,)]),
    "instance_norm": (lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                      [(2, 2, 3), (2,), (2,)]),
}


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_gradcheck_and_gradgradcheck(name):
    fn, shapes = GRAD_CASES[name]
    args = [ember.tensor(arr(*s, seed=i) + (1.0 if i == 1 else 0.0), requires_grad=True)
            for i, s in enumerate(shapes)]
    assert gradcheck(fn, args)
    assert gradgradcheck(fn, args)
    # without weight and bias
    assert gradcheck(lambda x: fn(x, None, None), args[:1])
    assert gradgradcheck(lambda x: fn(x, None, None), args[:1])


@pytest.mark.parametrize("fn,shape", [
    (lambda x: F.local_response_norm(x, 3, alpha=0.3, beta=0.6, k=1.2), (2, 4, 2)),
    (lambda x: F.local_response_norm(x, 2, alpha=0.3), (1, 3, 2, 2)),
    (lambda x: F.normalize(x), (2, 3)), (lambda x: F.normalize(x, p=1, dim=0), (2, 3)),
    (lambda x: F.rms_norm(x, [3], eps=1e-3), (2, 3)),
])
def test_gradcheck_composites(fn, shape):
    x = ember.tensor(arr(*shape), requires_grad=True)
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def _double_backward(L, fn, arrays):
    """Second derivatives through create_graph=True: the gradients of
    sum(v_i * d<out, g>/d input_i) with respect to every input and ``g``."""
    ins = [L.tensor(a.copy()).requires_grad_() for a in arrays]
    out = fn(L, *ins)
    rng = np.random.default_rng(7)
    g = L.tensor(rng.uniform(-1, 1, tuple(out.shape))).requires_grad_()
    firsts = L.autograd.grad(out, ins, g, create_graph=True)
    total = sum((f * L.tensor(rng.uniform(-1, 1, tuple(f.shape)))).sum() for f in firsts)
    return L.autograd.grad(total, ins + [g], allow_unused=True)


@requires_torch
@pytest.mark.parametrize("name,fn,shapes", [
    ("batch_norm", lambda L, x, w, b: L.nn.functional.batch_norm(x, None, None, w, b, True),
     [(4, 3, 2), (3,), (3,)]),
    ("layer_norm", lambda L, x, w, b: L.nn.functional.layer_norm(x, [4], w, b),
     [(2, 3, 4), (4,), (4,)]),
    ("group_norm", lambda L, x, w, b: L.nn.functional.group_norm(x, 2, w, b),
     [(2, 4, 3), (4,), (4,)]),
])
def test_double_backward_matches_torch(name, fn, shapes):
    arrays = [arr(*s, seed=i) for i, s in enumerate(shapes)]
    ours = _double_backward(ember, fn, arrays)
    theirs = _double_backward(torch, fn, arrays)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if b is None:
            assert a is None or np.allclose(a.detach().numpy(), 0), i
        else:
            assert_close(a, b, msg=f"input {i}")


def test_fast_and_recorded_backward_agree_and_graph_rules():
    x = ember.tensor(arr(4, 3, 5), requires_grad=True)
    w = ember.tensor(arr(3, seed=1), requires_grad=True)
    b = ember.tensor(arr(3, seed=2), requires_grad=True)
    g = ember.tensor(arr(4, 3, 5, seed=3))
    for fn in (lambda: F.batch_norm(x, None, None, w, b, True),
               lambda: F.layer_norm(x, [5], None, None),
               lambda: F.group_norm(x.reshape(4, 3, 5), 3, w, b)):
        fast = ember.autograd.grad(fn(), [x, w, b], g, allow_unused=True)
        slow = ember.autograd.grad(fn(), [x, w, b], g, create_graph=True, allow_unused=True)
        for a, s in zip(fast, slow):
            assert (a is None) == (s is None)
            if a is not None:
                np.testing.assert_allclose(a.numpy(), s.detach().numpy(), rtol=1e-9, atol=1e-12)
    y = F.layer_norm(x, [5])
    assert y.grad_fn.name() == "NativeLayerNormBackward0"
    y.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()
    # the saved input must not change before backward
    x2 = ember.tensor(arr(4, 3), requires_grad=True) * 1
    y = F.batch_norm(x2, None, None, training=True)
    x2.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    # statistics from a float32 batch of large values stay accurate
    big = ember.tensor((arr(64, 2, 100, dtype=np.float32) + 1000).astype(np.float32))
    y = F.batch_norm(big, None, None, training=True).numpy()
    np.testing.assert_allclose(y.std(axis=(0, 2)), 1, rtol=1e-3)


# ====================================================================== lazy layers
@requires_torch
@pytest.mark.parametrize("cls,shape", [("LazyBatchNorm1d", (4, 3)), ("LazyBatchNorm2d",
                                                                      (2, 3, 2, 2)),
                                       ("LazyBatchNorm3d", (2, 3, 2, 1, 2)),
                                       ("LazyInstanceNorm1d", (2, 3, 4)),
                                       ("LazyInstanceNorm2d", (2, 3, 2, 2)),
                                       ("LazyInstanceNorm3d", (2, 3, 2, 1, 2))])
def test_lazy_layers_match_torch(cls, shape):
    em, tm = getattr(enn, cls)(), getattr(torch.nn, cls)()
    x = arr(*shape, dtype=np.float32)
    ye, yt = em(ember.tensor(x)), tm(torch.tensor(x))
    assert_close(ye, yt)
    assert type(em).__name__ == type(tm).__name__ and repr(em) == repr(tm)
    for k, v in tm.state_dict().items():
        assert_close(em.state_dict()[k], v, msg=k)


# ====================================================================== reprs
@requires_torch
@pytest.mark.parametrize("make", [
    lambda nn: nn.BatchNorm2d(32), lambda nn: nn.BatchNorm1d(3, eps=1e-3, momentum=None),
    lambda nn: nn.BatchNorm3d(2, affine=False, track_running_stats=False),
    lambda nn: nn.LayerNorm(10), lambda nn: nn.LayerNorm([2, 3], bias=False),
    lambda nn: nn.GroupNorm(2, 4), lambda nn: nn.GroupNorm(1, 3, affine=False),
    lambda nn: nn.InstanceNorm1d(5, affine=True), lambda nn: nn.RMSNorm(4, eps=1e-6),
    lambda nn: nn.LocalResponseNorm(2), lambda nn: nn.CrossMapLRN2d(5, k=2),
    lambda nn: nn.Sequential(nn.BatchNorm1d(4), nn.LayerNorm(4))])
def test_reprs_match_torch(make):
    assert repr(make(enn)) == repr(make(torch.nn))
