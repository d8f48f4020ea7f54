"""Resampling: ``interpolate`` (every mode, antialiasing, scale/size rules), ``Upsample`` and
its subclasses, the deprecated ``upsample*`` functions, pixel (un)shuffle, channel shuffle,
``grid_sample`` and ``affine_grid``, against PyTorch, with numerical gradient checks."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from oracle import assert_close, check_op, rand, requires_torch, torch

import ember
from ember.ops import upsampling as _ups

enn = ember.nn
F = enn.functional
TF = torch.nn.functional if torch is not None else None
gradcheck, gradgradcheck = ember.autograd.gradcheck, ember.autograd.gradgradcheck

DTYPES = [np.float32, np.float64]


def outcome(fn):
    try:
        r = fn()
        return "ok", tuple(r.shape)
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch", "ember")


def _spec(ins, spec, nd):
    """A (size or scale) spec for ``nd`` spatial dimensions, sizes differing per dim."""
    spec = dict(spec)
    if "size" in spec and spec["size"] > 1:
        spec["size"] = tuple(spec["size"] + k for k in range(nd))
    return spec


SPECS = [dict(size=2), dict(size=1), dict(size=7), dict(scale_factor=2), dict(scale_factor=0.5),
         dict(scale_factor=1.7), dict(scale_factor=2.3), dict(scale_factor=1.2),
         dict(scale_factor=0.3), dict(scale_factor=1.7, recompute_scale_factor=True)]
MODE_DIMS = [("nearest", 1), ("nearest", 2), ("nearest", 3), ("nearest-exact", 1),
             ("nearest-exact", 2), ("nearest-exact", 3), ("linear", 1), ("bilinear", 2),
             ("bicubic", 2), ("trilinear", 3), ("area", 1), ("area", 2), ("area", 3)]


@requires_torch
@pytest.mark.parametrize("mode,nd", MODE_DIMS)
@pytest.mark.parametrize("ins", [3, 5])
@pytest.mark.parametrize("spec", range(len(SPECS)))
def test_interpolate_matches_torch(mode, nd, ins, spec):
    kw = dict(_spec(ins, SPECS[spec], nd), mode=mode)
    shape = (2, 2) + tuple(ins + k for k in range(nd))
    ours = outcome(lambda: F.interpolate(ember.zeros(*shape), **kw))
    assert ours == outcome(lambda: TF.interpolate(torch.zeros(shape), **kw))
    if ours[0] != "ok":                         # e.g. an empty output: both raise
        return
    for ac in ([None] if mode in ("nearest", "nearest-exact", "area") else [False, True]):
        if ac is not None:
            kw["align_corners"] = ac
        for dtype in DTYPES:
            x = rand(*shape, dtype=dtype, seed=spec)
            # PyTorch's area backward rejects an empty output; compare forward only there
            grad = not (mode == "area" and 0 in tuple(TF.interpolate(
                torch.zeros(shape), **kw).shape))
            check_op(lambda t: F.interpolate(t, **kw), lambda t: TF.interpolate(t, **kw), [x],
                     grad=grad, atol=2e-5 if dtype == np.float32 else None)


@requires_torch
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("size", [(2, 3), (5, 7), (20, 17), (3, 30)])
@pytest.mark.parametrize("ac", [False, True])
def test_interpolate_antialias_matches_torch(mode, size, ac):
    for dtype in DTYPES:
        x = rand(1, 2, 9, 16, dtype=dtype)
        kw = dict(size=size, mode=mode, antialias=True, align_corners=ac)
        check_op(lambda t, kw=kw: F.interpolate(t, **kw),
                 lambda t, kw=kw: TF.interpolate(t, **kw), [x],
                 atol=2e-5 if dtype == np.float32 else None)


@requires_torch
@pytest.mark.parametrize("kw", [dict(size=(4, 5)), dict(size=(20, 31)),
                                dict(scale_factor=0.37)])
def test_interpolate_lanczos_and_aa_scale_match_torch(kw):
    x = rand(1, 2, 9, 16)
    for mode in ("lanczos", "bilinear", "bicubic"):
        k = dict(kw, mode=mode, antialias=True)
        check_op(lambda t, k=k: F.interpolate(t, **k), lambda t, k=k: TF.interpolate(t, **k),
                 [x])


@requires_torch
def test_interpolate_nearest_backward_follows_torch_kernels():
    # PyTorch's nearest backward (and its 2-D forward) map equal or double sizes with
    # shortcuts even when the scale factor says otherwise; ember reproduces the numbers
    for shape, sf in [((1, 1, 3), 1.2), ((1, 1, 3), 2.3), ((1, 1, 1, 3), 1.2),
                      ((1, 1, 1, 1, 3), 2.3)]:
        x = rand(*shape)
        sfs = (1,) * (len(shape) - 3) + (sf,)
        check_op(lambda t, s=sfs: F.interpolate(t, scale_factor=s),
                 lambda t, s=sfs: TF.interpolate(t, scale_factor=s), [x])
    x = rand(1, 1, 3, 4)
    check_op(lambda t: F.interpolate(t, scale_factor=1.2, mode="bicubic"),
             lambda t: TF.interpolate(t, scale_factor=1.2, mode="bicubic"), [x])


@requires_torch
def test_interpolate_other_dtypes_and_shapes_match_torch():
    a = np.arange(24).reshape(1, 2, 3, 4)
    for dt in ("uint8", "float16"):
        e, t = ember.tensor(a).to(getattr(ember, dt)), torch.tensor(a).to(getattr(torch, dt))
        assert_close(F.interpolate(e, scale_factor=2), TF.interpolate(t, scale_factor=2))
    e, t = ember.tensor(a, dtype=ember.float16), torch.tensor(a, dtype=torch.float16)
    assert_close(F.interpolate(e, size=(5, 7), mode="bilinear"),
                 TF.interpolate(t, size=(5, 7), mode="bilinear"), atol=1e-2, rtol=1e-3)
    check_op(lambda t: F.interpolate(t, size=4, mode="linear"),
             lambda t: TF.interpolate(t, size=4, mode="linear"), [rand(0, 2, 3)])


@pytest.mark.parametrize("kw,shape", [
    (dict(scale_factor=2, mode="nearest"), (1, 2, 3)),
    (dict(size=(3, 2), mode="nearest-exact"), (1, 1, 2, 3)),
    (dict(size=5, mode="linear", align_corners=False), (1, 2, 3)),
    (dict(size=(3, 4), mode="bilinear", align_corners=True), (1, 1, 2, 3)),
    (dict(scale_factor=1.5, mode="bilinear"), (1, 1, 3, 2)),
    (dict(size=(4, 3), mode="bicubic", align_corners=False), (1, 1, 2, 3)),
    (dict(size=(2, 3, 2), mode="trilinear", align_corners=True), (1, 1, 2, 2, 2)),
    (dict(size=(2, 2), mode="area"), (1, 1, 3, 4)),
    (dict(size=(2, 2), mode="bilinear", antialias=True), (1, 1, 4, 5)),
    (dict(size=(2, 3), mode="bicubic", antialias=True), (1, 1, 5, 5)),
])
def test_interpolate_gradcheck(kw, shape):
    x = rand(*shape)
    assert gradcheck(lambda t: F.interpolate(t, **kw), [x])
    assert gradgradcheck(lambda t: F.interpolate(t, **kw), [x])


def test_interpolate_graph_names():
    x = rand(1, 1, 3)
    assert F.interpolate(x, scale_factor=2).grad_fn.name() == "UpsampleNearest1DBackward0"
    assert F.interpolate(rand(1, 1, 2, 2), scale_factor=2, mode="bilinear").grad_fn.name() \
        == "UpsampleBilinear2DBackward0"


@requires_torch
def test_interpolate_errors_match_torch():
    def cases(L):
        f, z = L.nn.functional.interpolate, L.zeros
        return [
            lambda: f(z(1, 1, 3), scale_factor=0.2),
            lambda: f(z(1, 1, 3, 3), scale_factor=0.2),
            lambda: f(z(1, 1, 3, 3, 3), size=(0, 2, 1)),
            lambda: f(z(1, 1, 3), size=-1, mode="linear"),
            lambda: f(z(1, 1, 0), size=2, mode="linear"),
            lambda: f(z(1, 0, 3), size=2, mode="nearest"),
            lambda: f(z(1, 1, 3, dtype=L.int64), size=2, mode="nearest"),
            lambda: f(z(1, 1, 3, dtype=L.int64), size=2, mode="linear"),
            lambda: f(z(1, 1, 3, dtype=L.bool), size=2),
            lambda: f(z(1, 1, 3), size=(2, 3)),
            lambda: f(z(1, 1, 3), scale_factor=(2, 3)),
            lambda: f(z(1, 1, 3)),
            lambda: f(z(1, 1, 3), size=2, scale_factor=2),
            lambda: f(z(1, 1, 3), size=2, mode="foo"),
            lambda: f(z(1, 1, 3), size=2, mode="nearest", align_corners=True),
            lambda: f(z(1, 1, 3), size=2, recompute_scale_factor=True),
            lambda: f(z(1, 3), size=2),
            lambda: f(z(1, 1, 3, 3, 3, 3), size=2),
            lambda: f(z(1, 1, 3), size=2, mode="bilinear"),
            lambda: f(z(1, 1, 3, 3), size=2, mode="trilinear"),
            lambda: f(z(1, 1, 3, 3, 3), size=2, mode="linear"),
            lambda: f(z(1, 1, 3), size=2, mode="bicubic"),
            lambda: f(z(1, 1, 3, 3), size=2, mode="linear", antialias=True),
            lambda: f(z(1, 1, 3, 3), size=2, mode="lanczos"),
            lambda: f(z(1, 1, 3, 3), size=2, mode="lanczos", antialias=True,
                      align_corners=True),
            lambda: f(z(1, 1, 3), size=(2.5,)),
        ]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


@requires_torch
def test_deprecated_upsample_functions_match_torch():
    x = rand(1, 1, 2, 3, dtype=np.float32)
    for name, kw in [("upsample", dict(scale_factor=2, mode="bilinear")),
                     ("upsample_nearest", dict(size=(3, 5))),
                     ("upsample_bilinear", dict(scale_factor=2))]:
        with pytest.warns(UserWarning, match=f"nn.functional.{name}` is deprecated"):
            ours = getattr(F, name)(x, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = getattr(TF, name)(torch.tensor(x.detach().numpy()), **kw)
        assert_close(ours, theirs)


# ------------------------------------------------------------------ Upsample layers
@requires_torch
@pytest.mark.parametrize("args", [
    dict(scale_factor=2), dict(size=(3, 4), mode="bilinear", align_corners=True),
    dict(scale_factor=(2, 1.5), mode="bicubic"), dict(size=5, mode="nearest-exact"),
    dict(scale_factor=2.5, mode="bilinear", recompute_scale_factor=True),
    dict(size=[2, 3], mode="area")])
def test_upsample_module_matches_torch(args):
    em, tm = enn.Upsample(**args), torch.nn.Upsample(**args)
    assert repr(em) == repr(tm) and em.scale_factor == tm.scale_factor
    check_op(em, tm, [rand(2, 2, 3, 4, dtype=np.float32)])


@requires_torch
def test_upsampling_subclasses_match_torch():
    for cls, kw in [("UpsamplingNearest2d", dict(scale_factor=2)),
                    ("UpsamplingNearest2d", dict(size=(3, 5))),
                    ("UpsamplingBilinear2d", dict(size=3)),
                    ("UpsamplingBilinear2d", dict(scale_factor=1.5))]:
        em, tm = getattr(enn, cls)(**kw), getattr(torch.nn, cls)(**kw)
        assert repr(em) == repr(tm) and em.align_corners == tm.align_corners
        check_op(em, tm, [rand(1, 2, 2, 3, dtype=np.float32)])


# ------------------------------------------------------------------ pixel / channel shuffle
@requires_torch
@pytest.mark.parametrize("shape,r", [((1, 8, 2, 3), 2), ((8, 2, 3), 2), ((2, 3, 9, 2, 1), 3),
                                     ((0, 4, 2, 2), 2), ((1, 4, 0, 3), 2), ((1, 3, 2, 2), 1)])
def test_pixel_shuffle_matches_torch(shape, r):
    x = rand(*shape, dtype=np.float32)
    grad = 0 not in shape                       # PyTorch's backward fails on empty inputs
    check_op(lambda t: F.pixel_shuffle(t, r), lambda t: TF.pixel_shuffle(t, r), [x], grad=grad)
    check_op(enn.PixelShuffle(r), torch.nn.PixelShuffle(r), [x], grad=grad)
    y = rand(*shape[:-3], shape[-3] // (r * r) or 1, shape[-2] * r, shape[-1] * r,
             dtype=np.float32)
    if grad:
        check_op(lambda t: F.pixel_unshuffle(t, r), lambda t: TF.pixel_unshuffle(t, r), [y])
        check_op(enn.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r), [y])
    else:   # PyTorch returns empty inputs unchanged in shape; ember gives the true shape
        assert F.pixel_unshuffle(y, r).shape == x.shape
    assert repr(enn.PixelShuffle(r)) == repr(torch.nn.PixelShuffle(r))
    assert repr(enn.PixelUnshuffle(r)) == repr(torch.nn.PixelUnshuffle(r))


@requires_torch
@pytest.mark.parametrize("shape,g", [((1, 6, 2, 2), 2), ((2, 6, 3), 3), ((1, 6, 1, 2, 2), 6),
                                     ((0, 4, 2), 2)])
def test_channel_shuffle_matches_torch(shape, g):
    x = rand(*shape, dtype=np.float32)
    check_op(lambda t: F.channel_shuffle(t, g), lambda t: TF.channel_shuffle(t, g), [x])
    check_op(enn.ChannelShuffle(g), torch.nn.ChannelShuffle(g), [x])
    assert repr(enn.ChannelShuffle(g)) == repr(torch.nn.ChannelShuffle(g))


def test_shuffles_gradcheck_and_inverse():
    x = rand(1, 4, 2, 3)
    assert gradcheck(lambda t: F.pixel_shuffle(t, 2), [x])
    assert gradcheck(lambda t: F.channel_shuffle(t, 2), [x])
    np.testing.assert_array_equal(F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2).detach().numpy(),
                                  x.detach().numpy())


@requires_torch
def test_shuffle_errors_match_torch():
    def cases(L):
        f, z = L.nn.functional, L.zeros
        return [lambda: f.pixel_shuffle(z(8, 3), 2), lambda: f.pixel_shuffle(z(1, 7, 2, 3), 2),
                lambda: f.pixel_shuffle(z(1, 8, 2, 3), 0),
                lambda: f.pixel_shuffle(z(1, 8, 2, 3), 2.0),
                lambda: f.pixel_unshuffle(z(1, 2, 5, 6), 2),
                lambda: f.pixel_unshuffle(z(1, 2, 4, 5), 2), lambda: f.pixel_unshuffle(z(4, 6), 2),
                lambda: f.pixel_unshuffle(z(1, 2, 4, 6), -1),
                lambda: f.channel_shuffle(z(1, 6), 2), lambda: f.channel_shuffle(z(1, 6, 2), 4),
                lambda: f.channel_shuffle(z(1, 6, 2), 0)]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


# ------------------------------------------------------------------ grid_sample / affine_grid
GRID_CASES = [(k, mode, pad, ac) for k in (2, 3) for mode in ("bilinear", "nearest", "bicubic")
              for pad in ("zeros", "border", "reflection") for ac in (False, True)
              if not (k == 3 and mode == "bicubic")]


@requires_torch
@pytest.mark.parametrize("k,mode,pad,ac", GRID_CASES)
def test_grid_sample_matches_torch(k, mode, pad, ac):
    rng = np.random.default_rng(0)
    for dtype in DTYPES:
        sp = (3, 4) if k == 2 else (2, 3, 4)
        x = rand(2, 2, *sp, dtype=dtype)
        g = rng.uniform(-1.4, 1.4, (2,) + ((3, 5) if k == 2 else (2, 3, 2)) + (k,))
        g.reshape(-1, k)[:2] = [[-1] * k, [1] * k]          # exact corners
        grid = ember.tensor(g.astype(dtype), requires_grad=mode != "nearest")
        tol = dict(atol=1e-4, rtol=1e-4) if dtype == np.float32 else {}
        check_op(lambda a, b: F.grid_sample(a, b, mode, pad, ac),
                 lambda a, b: TF.grid_sample(a, b, mode, pad, ac), [x, grid], **tol)


@pytest.mark.parametrize("mode,pad,ac", [("bilinear", "zeros", False),
                                         ("bilinear", "border", True),
                                         ("bilinear", "reflection", False),
                                         ("bicubic", "zeros", True),
                                         ("bicubic", "reflection", False)])
def test_grid_sample_gradcheck(mode, pad, ac):
    x = rand(1, 1, 3, 3)
    # points away from pixel boundaries and the clipping edges (the kernels are piecewise)
    grid = ember.tensor(np.array([[[[-0.63, 0.27], [0.41, -0.88], [1.21, 0.52]]]]),
                        requires_grad=True)
    fn = lambda a, b: F.grid_sample(a, b, mode, pad, ac)
    assert gradcheck(fn, [x, grid])
    assert gradgradcheck(fn, [x, grid])


@requires_torch
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (1, 1, 1, 3), (2, 3, 2, 4, 5)])
@pytest.mark.parametrize("ac", [False, True])
def test_affine_grid_matches_torch(size, ac):
    theta = rand(size[0], len(size) - 2, len(size) - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")             # unit-size grid warning, both sides
        check_op(lambda t: F.affine_grid(t, size, align_corners=ac),
                 lambda t: TF.affine_grid(t, size, align_corners=ac), [theta])
        assert gradcheck(lambda t: F.affine_grid(t, size, align_corners=ac), [theta])


@requires_torch
def test_grid_sample_and_affine_grid_warnings_and_errors_match_torch():
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(ember.zeros(1, 1, 2, 2), ember.zeros(1, 1, 1, 2))
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(ember.zeros(1, 2, 3), (1, 1, 2, 2))

    def cases(L):
        gs, ag, z = L.nn.functional.grid_sample, L.nn.functional.affine_grid, L.zeros
        return [
            lambda: gs(z(1, 1, 2, 2), z(1, 1, 1, 2), mode="foo", align_corners=False),
            lambda: gs(z(1, 1, 2, 2), z(1, 1, 1, 2), padding_mode="foo", align_corners=False),
            lambda: gs(z(1, 1, 2, 2, 2), z(1, 1, 1, 1, 3), mode="bicubic", align_corners=False),
            lambda: ag(z(1, 2, 3, dtype=L.int64), (1, 1, 2, 2), align_corners=False),
            lambda: ag(z(1, 3, 3), (1, 1, 2, 2), align_corners=False),
            lambda: ag(z(1, 2, 3), (1, 1, 2, 2, 2), align_corners=False),
            lambda: ag(z(1, 2, 3), (1, 2), align_corners=False),
            lambda: ag(z(1, 2, 3), (1, 1, 0, 2), align_corners=False),
        ]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


def test_grid_sampler_checks():
    z = ember.zeros
    with pytest.raises(RuntimeError, match="same batch size"):
        _ups.grid_sampler(z(2, 1, 2, 2), z(1, 1, 1, 2), 0, 0, False)
    with pytest.raises(RuntimeError, match="size 2 in last dimension"):
        _ups.grid_sampler(z(1, 1, 2, 2), z(1, 1, 1, 3), 0, 0, False)
    with pytest.raises(RuntimeError, match="same dtype"):
        _ups.grid_sampler(z(1, 1, 2, 2), z(1, 1, 1, 2, dtype=ember.float64), 0, 0, False)
