"""Resampling: ``interpolate`` (nearest, nearest-exact, linear, bilinear, bicubic, trilinear,
area; antialiased bilinear/bicubic and lanczos), the deprecated ``upsample*`` aliases,
``pixel_shuffle``/``pixel_unshuffle``, ``channel_shuffle``, ``grid_sample`` and
``affine_grid``.

How interpolation runs. Every mode but 'area' is *separable*: each output position along a
spatial dimension reads a few input positions ("taps") along that dimension with fixed
weights, the same for every position of the other dimensions. So for each spatial dimension
the taps are computed once as index arrays and weight arrays of the output's length (PyTorch's
coordinate rules, in PyTorch's arithmetic precision: float32 for float32 inputs), and the
``Resample`` primitive applies them one dimension at a time, last dimension first, with
``np.take`` and a multiply-add per tap (2 taps for linear modes, 4 for bicubic, 1 for nearest,
a window for antialiasing). Its backward ``ResampleAdjoint`` is the transpose: per dimension
and tap, the weighted gradient is summed back onto the positions it was read from (sorted
runs reduced with ``np.add.reduceat``, no ``np.add.at``); the adjoint's own backward is
``Resample`` again, so double backward works. 'area' is adaptive average pooling (PyTorch
defines it so) and uses the pooling family's op.

``grid_sample`` gathers the corner values of every sampling point from the input laid out as
rows (one row of channels per pixel) with the embedding family's row gather, and combines them
with weights computed from the grid by ember operations, so it is differentiable with respect
to both the input and the grid.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._dtype import NP_TO_DTYPE
from ._op import Op, Tensor, _wrap
from .padding import _take_adjoint

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
           "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle",
           "grid_sample", "affine_grid"]

_DIM_LETTERS = {1: "W", 2: "HW", 3: "DHW"}
_INTERP_MODES = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | " \
                "nearest-exact"


def _check_tensor(x, fn, arg="input", pos=1):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


def _tname(arr) -> str:
    return NP_TO_DTYPE[arr.dtype]._legacy[:-6]


def _is_int(v) -> bool:
    if isinstance(v, Tensor):
        return v._data.ndim == 0 and v._data.dtype.kind in "iu"
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


# ---------------------------------------------------------------------------------------
# taps: for one spatial dimension, the (index array, weight array) pairs

def _scale_value(n_in, n_out, scale, dt):
    """PyTorch's ``compute_scales_value``: 1/scale_factor when one was given, else in/out,
    in the kernel's arithmetic type."""
    if scale is not None and scale > 0:
        return dt(1.0 / scale)
    return dt(n_in) / dt(n_out)


def _area_scale(n_in, n_out, align_corners, scale, dt):
    if align_corners:
        return dt(n_in - 1) / dt(n_out - 1) if n_out > 1 else dt(0)
    return _scale_value(n_in, n_out, scale, dt)


def _nearest_taps(n_in, n_out, scale, exact, shortcut=False):
    """Nearest source per output position: ``floor(dst * scale)`` ('nearest') or
    ``floor((dst + 0.5) * scale)`` ('nearest-exact'), in float32 as PyTorch computes it.
    ``shortcut``: PyTorch's ``nearest_idx`` special cases (identity when the sizes are equal,
    ``dst // 2`` when the output is twice the input), which its 2-D forward and every
    backward use even when the scale factor given says otherwise."""
    dst = np.arange(n_out)
    if shortcut and n_out == n_in:
        return [(dst, None)]
    if shortcut and n_out == 2 * n_in:
        return [(dst >> 1, None)]
    f32 = np.float32
    s = _scale_value(n_in, n_out, scale, f32)
    if exact:
        # (dst + 0.5) * scale is formed in double, then floorf'd as a float
        src = np.floor(((dst + 0.5) * np.float64(s)).astype(f32))
    else:
        src = np.floor(dst.astype(f32) * s)
    idx = np.minimum(src.astype(np.int64), n_in - 1)
    return [(idx, None)]


def _source_coords(n_in, n_out, align_corners, scale, dt, cubic):
    s = _area_scale(n_in, n_out, align_corners, scale, dt)
    dst = np.arange(n_out).astype(dt)
    if align_corners:
        return s * dst
    src = s * (dst + dt(0.5)) - dt(0.5)
    return src if cubic else np.maximum(src, dt(0))


def _linear_taps(n_in, n_out, align_corners, scale, dt):
    if n_in == n_out and not align_corners:
        return [(np.arange(n_out), None)]
    src = _source_coords(n_in, n_out, align_corners, scale, dt, cubic=False)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    lam1 = np.clip(src - i0.astype(dt), dt(0), dt(1)).astype(dt)
    i1 = i0 + (i0 < n_in - 1)
    return [(i0, (dt(1) - lam1).astype(dt)), (i1, lam1)]


def _cubic_weights(t, A, dt):
    """Cubic convolution weights of the 4 taps at offsets -1, 0, 1, 2 for fraction ``t``."""
    A = dt(A)

    def near(x):          # |x| <= 1
        return ((A + dt(2)) * x - (A + dt(3))) * x * x + dt(1)

    def far(x):           # 1 < |x| < 2
        return ((A * x - dt(5) * A) * x + dt(8) * A) * x - dt(4) * A

    one = dt(1)
    return [far(t + one), near(t), near(one - t), far(dt(2) - t)]


def _cubic_taps(n_in, n_out, align_corners, scale, dt):
    src = _source_coords(n_in, n_out, align_corners, scale, dt, cubic=True)
    i = np.floor(src).astype(np.int64)
    t = (src - i.astype(dt)).astype(dt)
    ws = _cubic_weights(t, -0.75, dt)
    return [(np.clip(i - 1 + k, 0, n_in - 1), ws[k].astype(dt)) for k in range(4)]


def _aa_filter(kind, x, dt):
    x = np.abs(x)
    if kind == "bilinear":
        return np.where(x < 1, dt(1) - x, dt(0))
    if kind == "bicubic":                     # Keys' cubic with a = -0.5 (as PIL)
        a = dt(-0.5)
        near = ((a + dt(2)) * x - (a + dt(3))) * x * x + dt(1)
        far = (((x - dt(5)) * x + dt(8)) * x - dt(4)) * a
        return np.where(x < 1, near, np.where(x < 2, far, dt(0)))
    # lanczos, a = 3: sinc(x) sinc(x / 3) on |x| < 3
    with np.errstate(all="ignore"):
        px = np.pi * x
        v = np.where(x == 0, 1.0, 3 * np.sin(px) * np.sin(px / 3) / (px * px))
    return np.where(x < 3, v, 0).astype(dt)


_AA_SUPPORT = {"bilinear": 1.0, "bicubic": 2.0, "lanczos": 3.0}


def _aa_taps(n_in, n_out, align_corners, scale, dt, kind):
    """Antialiasing taps (PIL's resampling): each output averages a window of inputs with a
    filter stretched by the downscaling factor, normalised to sum 1."""
    s = _area_scale(n_in, n_out, align_corners, scale, dt)
    support = dt(_AA_SUPPORT[kind]) * s if s >= 1 else dt(_AA_SUPPORT[kind])
    invscale = dt(1) / s if s >= 1 else dt(1)
    center = s * (np.arange(n_out).astype(dt) + dt(0.5))
    xmin = np.maximum((center - support + dt(0.5)).astype(np.int64), 0)
    xmax = np.minimum((center + support + dt(0.5)).astype(np.int64), n_in)
    xsize = np.maximum(xmax - xmin, 0)
    K = int(xsize.max()) if n_out else 0
    j = np.arange(K)
    pos = xmin[:, None] + j[None, :]
    w = _aa_filter(kind, ((pos.astype(dt) - center[:, None] + dt(0.5)) * invscale).astype(dt),
                   dt).astype(dt)
    w = np.where(j[None, :] < xsize[:, None], w, dt(0))
    total = w.sum(axis=1, keepdims=True)
    w = np.where(total != 0, w / np.where(total != 0, total, dt(1)), w).astype(dt)
    idx = np.minimum(pos, n_in - 1)
    return [(idx[:, k], w[:, k]) for k in range(K)]


# ---------------------------------------------------------------------------------------
# the primitive: per-dimension gathers with weights

def _apply_taps(x, axis, taps):
    shape = [1] * x.ndim
    shape[axis] = -1
    out = None
    for idx, w in taps:
        v = np.take(x, idx, axis=axis)
        if w is not None:
            v *= w.reshape(shape).astype(x.dtype, copy=False)
        out = v if out is None else np.add(out, v, out=out)
    return out


def _adjoint_taps(g, axis, n, taps):
    shape = [1] * g.ndim
    shape[axis] = -1
    out = None
    for idx, w in taps:
        gw = g if w is None else g * w.reshape(shape).astype(g.dtype, copy=False)
        v = _take_adjoint(gw, idx, n, axis)
        out = v if out is None else np.add(out, v, out=out)
    return out


class Resample(Op):
    """Separable resampling: ``plans`` holds ``(axis, input length, taps)`` per resampled
    dimension, applied last dimension first. Backward: ``ResampleAdjoint`` of
    ``bwd_plans`` (default: the same plans; PyTorch's backward kernels differ from the
    forward ones in a few corner cases, see ``_resample``)."""

    def forward(self, x, *, plans, label, out_dtype=None, bwd_plans=None):
        self.plans, self.label, self.in_shape = bwd_plans or plans, label, x.shape
        work = x
        if out_dtype is not None:            # uint8: computed in float32, rounded after
            work = x.astype(np.float32)
        for axis, _, taps in reversed(plans):
            work = _apply_taps(work, axis, taps)
        if out_dtype is not None:
            work = np.clip(np.rint(work), 0, 255).astype(out_dtype)
        return np.ascontiguousarray(work)

    def backward(self, grad):
        return ResampleAdjoint.apply(grad, plans=self.plans, label=self.label)

    def name(self):
        return self.label


class ResampleAdjoint(Op):
    """The transpose of ``Resample``: gradients summed back onto the taps' positions."""

    def forward(self, g, *, plans, label):
        self.plans, self.label = plans, label
        for axis, n, taps in plans:
            g = _adjoint_taps(g, axis, n, taps)
        return np.ascontiguousarray(g)

    def backward(self, grad):
        return Resample.apply(grad, plans=self.plans, label=self.label + "Backward")


# ---------------------------------------------------------------------------------------
# interpolate

_LABELS = {"nearest": "UpsampleNearest{}DBackward0", "nearest-exact":
           "UpsampleNearestExact{}DBackward0", "linear": "UpsampleLinear1DBackward0",
           "bilinear": "UpsampleBilinear2DBackward0", "trilinear":
           "UpsampleTrilinear3DBackward0", "bicubic": "UpsampleBicubic2DBackward0"}

_KERNEL_NAMES = {"nearest": "compute_indices_weights_nearest",
                 "nearest-exact": "compute_indices_weights_nearest",
                 "linear": "compute_indices_weights_linear",
                 "bilinear": "compute_indices_weights_linear",
                 "trilinear": "compute_indices_weights_linear",
                 "bicubic": "compute_indices_weights_cubic"}


def _check_sizes(x, out_sizes):
    shape = x._data.shape
    nd = len(out_sizes)
    ins = shape[2:]
    letters = _DIM_LETTERS[nd]
    if any(s <= 0 for s in ins) or any(o <= 0 for o in out_sizes):
        a = ", ".join(f"{c}: {s}" for c, s in zip(letters, ins))
        b = ", ".join(f"{c}: {o}" for c, o in zip(letters, out_sizes))
        sep = " and " if nd == 1 else " "
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"({a}){sep}output ({b})")
    if any(s == 0 for s in shape[1:]):
        raise RuntimeError(f"Non-empty {nd + 2}D data tensor expected but got a tensor with "
                           f"sizes {list(shape)}")


def _resample(x, mode, out_sizes, scales, align_corners, antialias):
    nd = len(out_sizes)
    arr = x._data
    kind = arr.dtype
    if kind.kind not in "f" and not (kind == np.uint8 and mode not in ("area",)):
        name = _KERNEL_NAMES.get(mode, "compute_indices_weights_aa")
        raise NotImplementedError(f'"{name}" not implemented for \'{_tname(arr)}\'')
    _check_sizes(x, out_sizes)
    dt = np.float64 if kind == np.float64 else np.float32
    plans, bwd_plans = [], []
    for d in range(nd):
        n_in, n_out = arr.shape[2 + d], out_sizes[d]
        sc = scales[d] if scales is not None else None
        bwd = None
        if mode in ("nearest", "nearest-exact"):
            exact = mode == "nearest-exact"
            # PyTorch: the 2-D forward and all backward kernels of 'nearest' take the
            # equal-size / double-size shortcuts, the 1-D and 3-D forwards do not
            taps = _nearest_taps(n_in, n_out, sc, exact, shortcut=not exact and nd == 2)
            bwd = _nearest_taps(n_in, n_out, sc, exact, shortcut=not exact)
        elif antialias or mode == "lanczos":
            taps = _aa_taps(n_in, n_out, align_corners, sc, dt, mode)
        elif mode == "bicubic":
            taps = _cubic_taps(n_in, n_out, align_corners, sc, dt)
            if list(out_sizes) == list(arr.shape[2:]):
                bwd = [(np.arange(n_out), None)]   # PyTorch's backward copies same sizes
        else:
            taps = _linear_taps(n_in, n_out, align_corners, sc, dt)
        plans.append((2 + d, n_in, taps))
        bwd_plans.append((2 + d, n_in, bwd if bwd is not None else taps))
    if antialias or mode == "lanczos":
        label = {"bilinear": "UpsampleBilinear2DAaBackward0",
                 "bicubic": "UpsampleBicubic2DAaBackward0"}.get(mode,
                                                                 "UpsampleLanczos2DAaBackward0")
    else:
        label = _LABELS[mode].format(nd)
    out_dtype = np.uint8 if kind == np.uint8 and mode not in ("nearest", "nearest-exact") \
        else None
    return Resample.apply(x, plans=tuple(plans), label=label, out_dtype=out_dtype,
                          bwd_plans=tuple(bwd_plans))


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dimensions of ``(N, C, *spatial)`` (1 to 3 spatial dimensions).

    Args:
        input (Tensor): ``(N, C, W)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        size (int or tuple of ints): the output's spatial size.
        scale_factor (float or tuple of floats): multiplier of the spatial size (the output
            size is ``floor(in * scale_factor)``); exactly one of ``size`` and
            ``scale_factor`` must be given.
        mode (str): ``'nearest'`` (``floor(dst * in/out)``, PyTorch's legacy nearest),
            ``'nearest-exact'`` (pixel centres), ``'linear'`` (3-D), ``'bilinear'`` (4-D),
            ``'bicubic'`` (4-D, cubic convolution with A=-0.75, clamped at the borders),
            ``'trilinear'`` (5-D), ``'area'`` (adaptive average pooling) or ``'lanczos'``
            (4-D, with ``antialias=True``).
        align_corners (bool, optional): linear modes only. True: the corner pixels' centres of
            input and output coincide; False (default): their outer edges do.
        recompute_scale_factor (bool, optional): True: compute the output size from
            ``scale_factor`` and then interpolate as if that size was given (the coordinate
            scale becomes in/out instead of 1/scale_factor).
        antialias (bool): low-pass filter when downsampling (bilinear/bicubic, 4-D input),
            as PIL does.

    Gradients are PyTorch's, including two places where PyTorch's backward kernels are not
    the exact transpose of its forward: 'nearest' backward maps equal and doubled sizes
    with ``dst`` and ``dst // 2`` whatever the scale factor, and 'bicubic' backward copies
    the gradient when the output size equals the input size. uint8 inputs: the nearest
    modes are exact; the interpolating modes are computed in float32 and rounded, which can
    differ by 1 (3 for bicubic) from PyTorch's fixed-point uint8 kernels.
    """
    _check_tensor(input, "interpolate")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input._data.ndim - 2
    spatial = list(input._data.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        scales = None
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but "
                    f"got input with spatial dimensions of {spatial} and output size of "
                    f"{size}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                    "and output size in (o1, o2, ...,oK) format.")
            if not all(_is_int(s) for s in size):
                raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, "
                                "int] or Tuple[int, int, int], but got size with types "
                                f"{[type(s) for s in size]}")
            out_sizes = [int(s) for s in size]
        else:
            if not _is_int(size):
                raise TypeError(f"interpolate(): size must be an int or a tuple of ints, not "
                                f"{type(size).__name__}")
            out_sizes = [int(size)] * max(dim, 0)
    elif scale_factor is not None:
        out_sizes = None
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, "
                    f"but got input with spatial dimensions of {spatial} and scale_factor of "
                    f"shape {scale_factor}. Please provide input tensor in (N, C, d1, d2, "
                    "...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * max(dim, 0)
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and out_sizes is None:
        recompute_scale_factor = True
    if recompute_scale_factor and scales is not None:
        out_sizes = [int(s * f) for s, f in zip(spatial, scales)]      # truncation
        scales = None
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos")
                          and input._data.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                         "modes and requires a 4-D tensor as input")
    want = {"nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "area": (3, 4, 5),
            "linear": (3,), "bilinear": (4,), "bicubic": (4,), "trilinear": (5,),
            "lanczos": (4,)}
    nd = input._data.ndim
    if mode not in want or nd not in want[mode]:
        needs = {"linear": 3, "bilinear": 4, "trilinear": 5}
        if mode in needs and nd in (3, 4, 5):
            raise NotImplementedError(f"Got {nd}D input, but {mode} mode needs "
                                      f"{needs[mode]}D input")
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {nd}D) for the modes: {_INTERP_MODES} (got {mode})")
    if out_sizes is None:
        out_sizes = [int(s * f) for s, f in zip(spatial, scales)]
    if mode == "area":
        from . import pooling
        fn = {3: pooling.adaptive_avg_pool1d, 4: pooling.adaptive_avg_pool2d,
              5: pooling.adaptive_avg_pool3d}[nd]
        return fn(input, out_sizes if nd > 3 else out_sizes[0])
    if mode == "lanczos":
        if align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError("Lanczos mode requires antialias=True")
    return _resample(input, mode, out_sizes, scales, align_corners, antialias)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`interpolate`."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode='nearest')``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode='bilinear',
    align_corners=True)``."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---------------------------------------------------------------------------------------
# pixel shuffle / channel shuffle: reshapes and permutations

def _int_arg(v, fn, arg, pos):
    if not _is_int(v):
        raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be int, not "
                        f"{type(v).__name__}")
    return int(v)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """``(*, C * r^2, H, W)`` -> ``(*, C, H * r, W * r)`` with ``r = upscale_factor``:
    channel ``c * r^2 + i * r + j`` becomes pixel ``(h * r + i, w * r + j)`` of channel c."""
    _check_tensor(input, "pixel_shuffle", "self")
    r = _int_arg(upscale_factor, "pixel_shuffle", "upscale_factor", 2)
    shape = input._data.shape
    if len(shape) < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {len(shape)} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    c, h, w = shape[-3:]
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c}"
                           f" is not divisible by {r * r}")
    lead = tuple(shape[:-3])
    k = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    perm = tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2)
    return x.permute(*perm).reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """The inverse of :func:`pixel_shuffle`: ``(*, C, H * r, W * r)`` ->
    ``(*, C * r^2, H, W)``."""
    _check_tensor(input, "pixel_unshuffle", "self")
    r = _int_arg(downscale_factor, "pixel_unshuffle", "downscale_factor", 2)
    shape = input._data.shape
    if len(shape) < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, "
                           f"but got input with {len(shape)} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    c, h, w = shape[-3:]
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by "
                           f"downscale_factor, but input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by "
                           f"downscale_factor, but input.size(-1)={w} is not divisible by {r}")
    lead = tuple(shape[:-3])
    k = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    perm = tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3)
    return x.permute(*perm).reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave ``groups`` groups of channels: ``(N, C, *)`` viewed as ``(N, g, C/g, *)``,
    the two group dimensions swapped, and flattened back."""
    _check_tensor(input, "channel_shuffle", "self")
    g = _int_arg(groups, "channel_shuffle", "groups", 2)
    shape = input._data.shape
    if len(shape) <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(shape)}")
    if g <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value "
                           f"of groups:{g}")
    c = shape[1]
    if c % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {g} groups.")
    rest = tuple(shape[2:])
    x = input.reshape(shape[0], g, c // g, *rest).transpose(1, 2)
    return x.reshape(shape[0], c, *rest)


native_channel_shuffle = channel_shuffle


# ---------------------------------------------------------------------------------------
# grid_sample / affine_grid

class _Piecewise(Op):
    """A coordinate transform computed in NumPy (clipping, reflection): the forward returns
    the precomputed ``value``; the gradient is multiplied by the precomputed ``slope``
    (0 where clipped, -1 where reflected), as PyTorch's kernels do."""

    def forward(self, x, *, value, slope):
        self.slope = slope
        return value

    def backward(self, grad):
        return grad * _wrap(self.slope)


def _clip_coords(c: Tensor, size):
    v = c._data
    lim = size - 1
    value = np.clip(v, 0, lim).astype(v.dtype)
    slope = ((v > 0) & (v < lim)).astype(v.dtype)
    return _Piecewise.apply(c, value=value, slope=slope)


def _reflect_coords(c: Tensor, twice_low, twice_high):
    v = c._data
    dt = v.dtype.type
    if twice_low == twice_high:
        return _Piecewise.apply(c, value=np.zeros_like(v), slope=np.zeros_like(v))
    lo = dt(twice_low / 2)
    span = dt((twice_high - twice_low) / 2)
    x = v - lo
    neg = x < 0
    x = np.abs(x)
    extra = np.fmod(x, span)
    flips = np.floor(x / span)
    even = (flips % 2) == 0
    value = np.where(even, extra + lo, span - extra + lo).astype(v.dtype)
    sign = np.where(neg, -1, 1)
    slope = np.where(even, sign, -sign).astype(v.dtype)
    return _Piecewise.apply(c, value=value, slope=slope)


def _source_index(coord: Tensor, size, padding_mode, align_corners):
    """Grid values in [-1, 1] -> input pixel coordinates, with the padding mode's transform
    (PyTorch's ``grid_sampler_compute_source_index``)."""
    if align_corners:
        c = (coord + 1) * ((size - 1) / 2)
    else:
        c = ((coord + 1) * size - 1) / 2
    if padding_mode == "border":
        c = _clip_coords(c, size)
    elif padding_mode == "reflection":
        if align_corners:
            c = _reflect_coords(c, 0, 2 * (size - 1))
        else:
            c = _reflect_coords(c, -1, 2 * size - 1)
        c = _clip_coords(c, size)
    return c


def _tap_index(i, size, padding_mode, align_corners):
    """An integer tap position under the padding mode (bicubic's per-tap bounds): the
    position read and whether it is inside the input."""
    if padding_mode == "zeros":
        return np.clip(i, 0, size - 1), (i >= 0) & (i < size)
    f = i.astype(np.float64)
    if padding_mode == "reflection":
        lo, hi = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        if lo == hi:
            f = np.zeros_like(f)
        else:
            mn, span = lo / 2, (hi - lo) / 2
            x = np.abs(f - mn)
            extra, flips = np.fmod(x, span), np.floor(x / span)
            f = np.where(flips % 2 == 0, extra + mn, span - extra + mn)
    j = np.clip(np.floor(f), 0, size - 1).astype(np.int64)
    return j, np.ones(i.shape, dtype=bool)


def _grid_gather(table, n_idx, flat_idx, valid, dtype):
    """Rows ``n * S + flat`` of the (N * S, C) table, zeroed where not ``valid``."""
    from .sparse import RowGather
    rows = np.where(valid, flat_idx + n_idx, 0).astype(np.intp)
    rw = valid.astype(dtype)
    return RowGather.apply(table, idx=rows, rw_fwd=rw, rw_bwd=rw,
                           label="GridSamplerBackward0")


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Sample ``input`` at the locations in ``grid`` (normalised to [-1, 1]: -1 is the left/
    top edge, +1 the right/bottom).

    Args:
        input (Tensor): ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        grid (Tensor): ``(N, H_out, W_out, 2)`` (x, y) or ``(N, D_out, H_out, W_out, 3)``
            (x, y, z).
        mode (str): ``'bilinear'`` (trilinear for 5-D), ``'nearest'`` (rounding half to
            even) or ``'bicubic'`` (4-D only).
        padding_mode (str): values outside the input: ``'zeros'``, ``'border'`` (clamped
            coordinates) or ``'reflection'``.
        align_corners (bool): True: -1 and 1 are the centres of the corner pixels; False
            (default, with a warning when not given): their outer edges.

    Differentiable with respect to ``input`` and (except 'nearest') ``grid``.
    """
    _check_tensor(input, "grid_sample")
    _check_tensor(grid, "grid_sample", "grid", 2)
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if "
                      "the old behavior is desired. See the documentation of grid_sample for "
                      "details.", stacklevel=2)
        align_corners = False
    return grid_sampler(input, grid, mode, padding_mode, align_corners)


def _grid_checks(input, grid, mode):
    xs, gs = input._data.shape, grid._data.shape
    if input.dtype is not grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have same dtype, but "
                           f"input has {input.dtype} and grid has {grid.dtype}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f'"grid_sampler_2d_cpu" not implemented for '
                           f"'{_tname(input._data)}'")
    if len(xs) not in (4, 5) or len(gs) != len(xs):
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number "
                           f"of dimensions, but got input with sizes {list(xs)} and grid with "
                           f"sizes {list(gs)}")
    if xs[0] != gs[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {list(xs)} and grid with sizes "
                           f"{list(gs)}")
    k = len(xs) - 2
    if gs[-1] != k:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {k} in last dimension, "
                           f"but got grid with sizes {list(gs)}")
    if any(s == 0 for s in xs[2:]):
        raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial "
                           f"dimensions, but input has sizes {list(xs)} with dimension "
                           f"{2 + [s == 0 for s in xs[2:]].index(True)} being empty")
    if mode == "bicubic" and k != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")


_MODE_NAMES = {0: "bilinear", 1: "nearest", 2: "bicubic"}
_PAD_NAMES = {0: "zeros", 1: "border", 2: "reflection"}


def grid_sampler(input: Tensor, grid: Tensor, interpolation_mode, padding_mode,
                 align_corners: bool) -> Tensor:
    """PyTorch's ``torch.grid_sampler`` (modes as names or PyTorch's enum integers); see
    :func:`grid_sample`."""
    mode = _MODE_NAMES.get(interpolation_mode, interpolation_mode)
    padding_mode = _PAD_NAMES.get(padding_mode, padding_mode)
    _grid_checks(input, grid, mode)
    xs = input._data.shape
    n, c = xs[:2]
    sp = xs[2:]
    k = len(sp)
    out_sp = grid._data.shape[1:-1]
    dtype = input._data.dtype
    S = int(np.prod(sp))
    # channels last, one row per (batch, pixel)
    perm = (0,) + tuple(range(2, 2 + k)) + (1,)
    table = input.permute(*perm).reshape(n * S, c)
    n_idx = (np.arange(n) * S).reshape((n,) + (1,) * len(out_sp))
    strides = [int(np.prod(sp[d + 1:])) for d in range(k)]
    # per spatial dimension (input order D, H, W) its coordinate (grid order x, y, z)
    coords = [grid[..., k - 1 - d] for d in range(k)]

    if mode == "bicubic":
        out = _bicubic_sample(table, coords, sp, strides, n_idx, padding_mode, align_corners,
                              dtype)
    else:
        src = [_source_index(coords[d], sp[d], padding_mode, align_corners) for d in range(k)]
        if mode == "nearest":
            idx = [np.rint(s._data).astype(np.int64) for s in src]
            flat = sum(i * st for i, st in zip(idx, strides))
            valid = np.all([(i >= 0) & (i < sz) for i, sz in zip(idx, sp)], axis=0)
            out = _grid_gather(table, n_idx, flat, valid, dtype)
        else:
            out = None
            lo = [np.floor(s._data).astype(np.int64) for s in src]
            # weight of the upper neighbour per dimension: (coord - floor)
            frac = [s - _wrap(np.floor(s._data)) for s in src]
            for corner in range(2 ** k):
                bits = [(corner >> (k - 1 - d)) & 1 for d in range(k)]
                idx = [lo[d] + bits[d] for d in range(k)]
                valid = np.all([(i >= 0) & (i < sz) for i, sz in zip(idx, sp)], axis=0)
                flat = sum(np.clip(i, 0, sz - 1) * st for i, sz, st in zip(idx, sp, strides))
                w = None
                for d in range(k):
                    wd = frac[d] if bits[d] else 1 - frac[d]
                    w = wd if w is None else w * wd
                v = _grid_gather(table, n_idx, flat, valid, dtype) * w.unsqueeze(-1)
                out = v if out is None else out + v
    # (N, *out, C) -> (N, C, *out)
    nd = out._data.ndim
    return out.permute(0, nd - 1, *range(1, nd - 1))


def _bicubic_sample(table, coords, sp, strides, n_idx, padding_mode, align_corners, dtype):
    h, w = sp
    cy, cx = coords
    if align_corners:
        ix = (cx + 1) * ((w - 1) / 2)
        iy = (cy + 1) * ((h - 1) / 2)
    else:
        ix = ((cx + 1) * w - 1) / 2
        iy = ((cy + 1) * h - 1) / 2
    x0 = np.floor(ix._data).astype(np.int64)
    y0 = np.floor(iy._data).astype(np.int64)
    tx = ix - _wrap(np.floor(ix._data))
    ty = iy - _wrap(np.floor(iy._data))
    wx = _cubic_weights_t(tx)
    wy = _cubic_weights_t(ty)
    out = None
    for a in range(4):
        yi, yv = _tap_index(y0 - 1 + a, h, padding_mode, align_corners)
        for b in range(4):
            xi, xv = _tap_index(x0 - 1 + b, w, padding_mode, align_corners)
            v = _grid_gather(table, n_idx, yi * strides[0] + xi, yv & xv, dtype)
            term = v * (wy[a] * wx[b]).unsqueeze(-1)
            out = term if out is None else out + term
    return out


def _cubic_weights_t(t):
    """``_cubic_weights`` with ember operations (differentiable in ``t``), A = -0.75."""
    A = -0.75

    def near(x):
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _linspace_from_neg_one(num, align_corners, dtype):
    if num <= 1:
        return np.zeros((max(num, 0),), dtype=dtype)
    r = np.linspace(-1, 1, num, dtype=np.float64)
    if not align_corners:
        r = r * (num - 1) / num
    return r.astype(dtype)


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """Sampling grids for ``grid_sample`` from batches of affine matrices.

    Args:
        theta (Tensor): ``(N, 2, 3)`` for 2-D or ``(N, 3, 4)`` for 3-D transforms.
        size (sequence of ints): the target ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        align_corners (bool, optional): as in :func:`grid_sample` (default False, with a
            warning when not given).

    Returns:
        ``(N, H, W, 2)`` or ``(N, D, H, W, 3)``: ``theta @ [x, y, (z,) 1]`` at every output
        location (x, y, z the normalised coordinates of the target pixels).
    """
    _check_tensor(theta, "affine_grid", "theta", 1)
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if "
                      "the old behavior is desired. See the documentation of grid_sample for "
                      "details.", stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    shown, size = size, list(size)
    ts = tuple(theta._data.shape)
    if len(size) == 4:
        if len(ts) != 3 or ts[-2] != 2 or ts[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{shown}. Got {theta.shape}.")
        spatial = size[-2:]
    elif len(size) == 5:
        if len(ts) != 3 or ts[-2] != 3 or ts[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{shown}. Got {theta.shape}.")
        spatial = size[-3:]
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {shown}.")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {shown}")
    return affine_grid_generator(theta, size, align_corners)


def affine_grid_generator(theta: Tensor, size, align_corners: bool) -> Tensor:
    """PyTorch's ``torch.affine_grid_generator``; see :func:`affine_grid`."""
    from .linalg import matmul
    size = list(size)
    n = size[0]
    spatial = size[2:]
    k = len(spatial)
    dtype = theta._data.dtype
    axes = [_linspace_from_neg_one(s, align_corners, dtype) for s in spatial]
    # base grid: (x, y[, z], 1) at every output position, x varying along the last dimension
    mesh = np.meshgrid(*axes, indexing="ij")
    cols = [mesh[k - 1 - j] for j in range(k)] + [np.ones(spatial, dtype=dtype)]
    base = np.stack(cols, axis=-1).reshape(1, -1, k + 1)
    base = _wrap(np.ascontiguousarray(np.broadcast_to(base, (n,) + base.shape[1:])))
    grid = matmul(base, theta.transpose(1, 2))
    return grid.reshape(n, *spatial, k)


# PyTorch's top-level functions of this family (``ember.<name>``), name -> function.
TOP_LEVEL = {"pixel_shuffle": pixel_shuffle, "pixel_unshuffle": pixel_unshuffle,
             "channel_shuffle": channel_shuffle, "native_channel_shuffle": native_channel_shuffle,
             "grid_sampler": grid_sampler, "affine_grid_generator": affine_grid_generator}
