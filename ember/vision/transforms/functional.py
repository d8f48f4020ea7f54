"""Image functions behind :mod:`ember.vision.transforms` (torchvision's
``transforms.functional``).

Every function takes a PIL image or an ember tensor image, as torchvision's do. A tensor image
has shape ``(..., C, H, W)``: any leading batch dimensions, then channels, height and width.
Its dtype is either an integer type (uint8 images hold 0..255) or a float type (values in
[0, 1]). The functions that torchvision computes with tensor ops (normalize, crop, pad, flips,
resize, brightness/contrast/saturation, grayscale, gamma, erase, dtype conversion) are ember
ops here too, so gradients flow through them; rotation, affine warps and hue shifts are
computed in NumPy (no gradient), which torchvision's users rarely need.

PIL images are handled by Pillow, imported only when a PIL image is passed in (so none can be
passed without Pillow installed). ``ember.vision`` works without Pillow: its datasets then
return uint8 tensors and every tensor path here works.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from enum import Enum

import numpy as np

from ... import _dtype
from ..._tensor import Tensor
from ...ops import creation as _creation
from .._imaging import is_pil_image, require_pil

__all__ = [
    "InterpolationMode",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_gamma",
    "adjust_hue",
    "adjust_saturation",
    "affine",
    "center_crop",
    "convert_image_dtype",
    "crop",
    "erase",
    "five_crop",
    "get_dimensions",
    "get_image_num_channels",
    "get_image_size",
    "hflip",
    "invert",
    "normalize",
    "pad",
    "pil_to_tensor",
    "resize",
    "resized_crop",
    "rgb_to_grayscale",
    "rotate",
    "ten_crop",
    "to_grayscale",
    "to_pil_image",
    "to_tensor",
    "vflip",
]


class InterpolationMode(Enum):
    """Interpolation modes. Tensors support NEAREST, NEAREST_EXACT, BILINEAR and BICUBIC for
    resizing and NEAREST and BILINEAR for rotations and affine warps; PIL images support all
    modes Pillow has."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


# Pillow's integer resampling constants, accepted in place of InterpolationMode like torchvision
_FROM_PIL_INT = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR,
                 3: InterpolationMode.BICUBIC, 4: InterpolationMode.BOX,
                 5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}
_TO_PIL_INT = {InterpolationMode.NEAREST: 0, InterpolationMode.NEAREST_EXACT: 0,
               InterpolationMode.BILINEAR: 2, InterpolationMode.BICUBIC: 3,
               InterpolationMode.BOX: 4, InterpolationMode.HAMMING: 5,
               InterpolationMode.LANCZOS: 1}


def _interpolation(mode) -> InterpolationMode:
    if isinstance(mode, InterpolationMode):
        return mode
    if isinstance(mode, int) and not isinstance(mode, bool) and mode in _FROM_PIL_INT:
        return _FROM_PIL_INT[mode]
    raise TypeError("Argument interpolation should be a InterpolationMode or a corresponding "
                    f"Pillow integer constant, got {mode!r}")


# ---------------------------------------------------------------------------------------
# Helpers

def _is_tensor(img) -> bool:
    return isinstance(img, Tensor)


def _check_image(img, fn: str):
    """Raise TypeError unless ``img`` is a tensor image (>= 2 dims) or a PIL image."""
    if _is_tensor(img):
        if img.ndim < 2:
            raise TypeError(f"{fn}: a tensor image needs at least 2 dimensions (..., H, W), "
                            f"got shape {tuple(img.shape)}")
        return
    if not is_pil_image(img):
        raise TypeError(f"{fn}: img should be a PIL Image or an ember Tensor, got "
                        f"{type(img).__name__}")


def _check_tensor(img, fn: str):
    if not _is_tensor(img):
        raise TypeError(f"{fn}: img should be an ember Tensor image, got {type(img).__name__}")
    if img.ndim < 2:
        raise TypeError(f"{fn}: a tensor image needs at least 2 dimensions (..., H, W), got "
                        f"shape {tuple(img.shape)}")


def _np(t: Tensor) -> np.ndarray:
    return t.detach().numpy()


def _wrap(arr: np.ndarray) -> Tensor:
    return _creation.from_numpy(np.ascontiguousarray(arr))


def _max_value(dt) -> int:
    """The value of "full intensity" for an image dtype: the integer maximum, 1 for floats."""
    npdt = np.dtype(dt.np if isinstance(dt, _dtype.dtype) else dt)
    if npdt.kind in "ui":
        return int(np.iinfo(npdt).max)
    return 1


def _is_float(img: Tensor) -> bool:
    return img.dtype.is_floating_point


def _channels(img) -> int:
    return get_dimensions(img)[0]


def _assert_channels(img: Tensor, permitted, fn: str):
    c = _channels(img)
    if c not in permitted:
        raise TypeError(f"{fn}: input image tensor permitted channel values are {list(permitted)}"
                        f", but found {c}")


# ---------------------------------------------------------------------------------------
# Sizes

def get_dimensions(img) -> list[int]:
    """``[channels, height, width]`` of a tensor or PIL image."""
    _check_image(img, "get_dimensions")
    if _is_tensor(img):
        c = 1 if img.ndim == 2 else int(img.shape[-3])
        return [c, int(img.shape[-2]), int(img.shape[-1])]
    return [len(img.getbands()), img.size[1], img.size[0]]


def get_image_size(img) -> list[int]:
    """``[width, height]`` of a tensor or PIL image (PIL's order)."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img) -> int:
    """The number of channels of a tensor or PIL image."""
    return get_dimensions(img)[0]


# ---------------------------------------------------------------------------------------
# Conversions

def to_tensor(pic) -> Tensor:
    """Convert a PIL image or an ``H x W x C`` (or ``H x W``) ndarray to a ``C x H x W``
    tensor. uint8 data becomes the default float dtype scaled to [0, 1]; other dtypes keep
    their dtype and values (PIL modes ``I``, ``I;16`` and ``F`` give int32, int16, float32;
    mode ``1`` gives 0/255 scaled to 0/1).

    ember extension: an ember tensor image (what ember's datasets return when Pillow is not
    installed: uint8, ``C x H x W``) is accepted too; uint8 becomes float in [0, 1] and any
    other dtype is returned unchanged.
    """
    default = _dtype.get_default_dtype()
    if _is_tensor(pic):
        if pic.dtype == _dtype.uint8:
            return pic.to(default).div(255)
        return pic
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = pic[:, :, None] if pic.ndim == 2 else pic
        img = _wrap(arr.transpose(2, 0, 1))
        if img.dtype == _dtype.uint8:
            return img.to(default).div(255)
        return img
    if not is_pil_image(pic):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    nptype = {"I": np.int32, "I;16": np.int16, "I;16B": np.int16, "F": np.float32}
    arr = np.array(pic, dtype=nptype.get(pic.mode, np.uint8), copy=True)
    if pic.mode == "1":
        arr = arr * np.uint8(255)
    arr = arr.reshape(pic.size[1], pic.size[0], len(pic.getbands()))
    img = _wrap(arr.transpose(2, 0, 1))
    if img.dtype == _dtype.uint8:
        return img.to(default).div(255)
    return img


def pil_to_tensor(pic) -> Tensor:
    """Convert a PIL image to a ``C x H x W`` tensor keeping its dtype and values (uint8 for
    8-bit modes). ember extension: an ember tensor image is returned unchanged (it already is
    what this function produces)."""
    if _is_tensor(pic):
        return pic
    if not is_pil_image(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    arr = np.array(pic, copy=True)
    arr = arr.reshape(pic.size[1], pic.size[0], len(pic.getbands()))
    return _wrap(arr.transpose(2, 0, 1))


def to_pil_image(pic, mode=None):
    """Convert a ``C x H x W`` tensor or an ``H x W x C`` ndarray to a PIL image (needs
    Pillow). Float data is multiplied by 255 and truncated to uint8 (unless ``mode='F'``);
    the mode is inferred from the channel count and dtype when not given: 1 channel uint8
    ``L``, int16 ``I;16``, int32 ``I``, float32 ``F``; 2 channels ``LA``; 3 ``RGB``;
    4 ``RGBA``."""
    image = require_pil("to_pil_image")
    if _is_tensor(pic):
        arr = _np(pic)
        if arr.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {arr.ndim} dimensions.")
        if arr.ndim == 3:
            arr = arr.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        arr = pic
        if arr.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {arr.ndim} dimensions.")
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[-1] > 4:
        raise ValueError(f"pic should not have > 4 channels. Got {arr.shape[-1]} channels.")
    if np.issubdtype(arr.dtype, np.floating) and mode != "F":
        arr = (arr * 255).astype(np.uint8)
    nchan = arr.shape[2]
    if nchan == 1:
        arr = arr[:, :, 0]
        expected = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16",
                    np.dtype(np.int32): "I", np.dtype(np.float32): "F"}.get(arr.dtype)
        if mode is not None and mode != expected:
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {arr.dtype}. "
                             f"Should be {expected}")
        mode = expected
    else:
        permitted = {2: ["LA"], 3: ["RGB", "YCbCr", "HSV"], 4: ["RGBA", "CMYK", "RGBX"]}[nchan]
        if mode is not None and mode not in permitted:
            raise ValueError(f"Only modes {permitted} are supported for {nchan}-channel inputs")
        if mode is None and arr.dtype == np.uint8:
            mode = permitted[0]
    if mode is None:
        raise TypeError(f"Input type {arr.dtype} is not supported")
    return _fromarray(image, np.ascontiguousarray(arr), mode)


def _fromarray(image, arr: np.ndarray, mode: str):
    """``Image.fromarray`` with an explicit mode on every Pillow version (newer ones infer the
    mode and deprecate passing it): build the image from the raw bytes instead."""
    h, w = arr.shape[:2]
    raw = {"F": "<f4", "I": "<i4", "I;16": "<u2", "I;16B": ">u2"}.get(mode, "u1")
    rawmode = {"F": "F;32F", "I": "I;32"}.get(mode, mode)
    data = np.ascontiguousarray(arr.astype(raw, copy=False)).tobytes()
    return image.frombuffer(mode, (w, h), data, "raw", rawmode, 0, 1)


def convert_image_dtype(image: Tensor, dtype=None) -> Tensor:
    """Convert a tensor image to ``dtype`` (default float32) rescaling its values: integer
    images hold 0..max of their type, float images 0..1. Float to int multiplies by
    ``max + 1 - 1e-3`` and truncates (as torchvision, so 1.0 maps to max); int to int shifts
    by the ratio of the ranges."""
    if not _is_tensor(image):
        raise TypeError(f"Input img should be Tensor Image, got {type(image).__name__}")
    dtype = _dtype.float32 if dtype is None else _dtype.as_dtype(dtype)
    if image.dtype == dtype:
        return image
    if _is_float(image):
        if dtype.is_floating_point:
            return image.to(dtype)
        if (image.dtype == _dtype.float32 and dtype in (_dtype.int32, _dtype.int64)) or \
                (image.dtype == _dtype.float64 and dtype == _dtype.int64):
            raise RuntimeError(f"The cast from {image.dtype} to {dtype} cannot be performed "
                               "safely.")
        # (max + 1 - eps) spreads [0, 1] evenly over the integer levels (only 1.0 maps to max)
        eps = 1e-3
        return image.mul(float(_max_value(dtype)) + 1.0 - eps).to(dtype)
    in_max = float(_max_value(image.dtype))
    if dtype.is_floating_point:
        return image.to(dtype) / in_max
    out_max = float(_max_value(dtype))
    if in_max > out_max:
        factor = int((in_max + 1) // (out_max + 1))
        from ...ops import elementwise
        return elementwise.div(image, factor, rounding_mode="floor").to(dtype)
    factor = int((out_max + 1) // (in_max + 1))
    return image.to(dtype) * factor


# ---------------------------------------------------------------------------------------
# Normalize

def normalize(tensor: Tensor, mean, std, inplace: bool = False) -> Tensor:
    """``(tensor - mean) / std`` per channel of a float tensor image ``(..., C, H, W)``.
    Out of place unless ``inplace``."""
    if not _is_tensor(tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not _is_float(tensor):
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tuple(tensor.shape)}")
    if not inplace:
        tensor = tensor.clone()
    dt = tensor.dtype
    mean_t = _creation.as_tensor(mean, dtype=dt)
    std_t = _creation.as_tensor(std, dtype=dt)
    if bool((std_t == 0).any()):
        raise ValueError(f"std evaluated to zero after conversion to {dt}, leading to division "
                         "by zero.")
    if mean_t.ndim == 1:
        mean_t = mean_t.view(-1, 1, 1)
    if std_t.ndim == 1:
        std_t = std_t.view(-1, 1, 1)
    return tensor.sub_(mean_t).div_(std_t)


# ---------------------------------------------------------------------------------------
# Geometry: resize, crop, pad, flip

def _output_size(h: int, w: int, size, max_size):
    """The (new_h, new_w) for ``resize``: an int (or 1-sequence) sets the smaller edge and
    keeps the aspect ratio (capped so the longer edge is at most ``max_size``)."""
    if len(size) == 2:
        return [int(size[0]), int(size[1])]
    short, long = (w, h) if w <= h else (h, w)
    new_short = int(size[0])
    new_long = int(new_short * long / short)
    if max_size is not None:
        if max_size <= new_short:
            raise ValueError(f"max_size = {max_size} must be strictly greater than the requested "
                             f"size for the smaller edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return [new_h, new_w]


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
           antialias=True):
    """Resize to ``size``: ``(h, w)``, or an int for the smaller edge (keeping the aspect
    ratio; ``max_size`` caps the longer edge). Tensors use ``ember.nn.functional.interpolate``
    (``antialias`` applies to bilinear/bicubic when downsampling; integer images are computed
    in float32 and rounded back); PIL images use ``Image.resize`` (always antialiased)."""
    interpolation = _interpolation(interpolation)
    _check_image(img, "resize")
    if isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise ValueError("Size must be an int or a 1 or 2 element tuple/list, not a "
                             f"{len(size)} element tuple/list")
        if max_size is not None and len(size) != 1:
            raise ValueError("max_size should only be passed if size specifies the length of "
                             "the smaller edge, i.e. size should be an int or a sequence of "
                             "length 1")
    elif isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = [int(size)]
    else:
        raise TypeError(f"Size should be int or sequence. Got {type(size)}")
    _, h, w = get_dimensions(img)
    out = _output_size(h, w, size, max_size)
    if [h, w] == out:
        return img
    if not _is_tensor(img):
        return img.resize((out[1], out[0]), _TO_PIL_INT[interpolation])
    if interpolation not in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT,
                             InterpolationMode.BILINEAR, InterpolationMode.BICUBIC):
        raise ValueError(f"Interpolation mode '{interpolation.value}' is unsupported with "
                         "Tensor input")
    from ...nn import functional as nnf
    mode = interpolation.value
    aa = bool(antialias) and mode in ("bilinear", "bicubic")
    lead = tuple(img.shape[:-2])
    x = img.reshape(1, -1, h, w)
    out_dtype = img.dtype
    if not _is_float(x):
        x = x.to(_dtype.float32)
    align = False if mode in ("bilinear", "bicubic") else None
    y = nnf.interpolate(x, size=out, mode=mode, align_corners=align, antialias=aa)
    if not out_dtype.is_floating_point:
        if mode == "bicubic" and out_dtype == _dtype.uint8:
            y = y.clamp(0, 255)
        y = y.round().to(out_dtype)
    return y.reshape(*lead, out[0], out[1])


def _pad_sides(padding):
    """torchvision's padding argument (int, or 1/2/4-sequence as left, top, right, bottom)
    -> (left, top, right, bottom)."""
    if isinstance(padding, numbers.Number):
        p = int(padding)
        return p, p, p, p
    if len(padding) == 1:
        p = int(padding[0])
        return p, p, p, p
    if len(padding) == 2:
        return int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1])
    return int(padding[0]), int(padding[1]), int(padding[2]), int(padding[3])


def _parse_fill(fill, img, name="fillcolor"):
    """A fill value for Pillow: one number per band, ints unless the image is mode F."""
    nb = len(img.getbands())
    if fill is None:
        fill = 0
    if isinstance(fill, (int, float)) and nb > 1:
        fill = tuple([fill] * nb)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = tuple(fill) * nb
        elif len(fill) != nb:
            raise ValueError("The number of elements in 'fill' does not match the number of "
                             f"channels of the image ({len(fill)} != {nb})")
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(v) for v in fill) if isinstance(fill, tuple) else int(fill)
    return {name: fill}


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the borders: ``padding`` is an int (all sides), a 2-sequence (left/right,
    top/bottom) or a 4-sequence (left, top, right, bottom); negative values crop.
    ``padding_mode`` is 'constant' (with ``fill``), 'edge', 'reflect' (mirror without the
    edge pixel) or 'symmetric' (mirror with it)."""
    _check_image(img, "pad")
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if isinstance(padding, (tuple, list)) and len(padding) not in (1, 2, 4):
        raise ValueError("Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")
    if not isinstance(padding_mode, str) or padding_mode not in ("constant", "edge", "reflect",
                                                                 "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    left, top, right, bottom = _pad_sides(padding)
    if _is_tensor(img):
        if fill is None:
            fill = 0
        if not isinstance(fill, (int, float)):
            raise TypeError(f"Got inappropriate fill arg: a tensor image takes a number, got "
                            f"{fill!r}")
        return _pad_tensor(img, left, top, right, bottom, fill, padding_mode)
    return _pad_pil(img, padding, left, top, right, bottom, fill, padding_mode)


def _pad_tensor(img, left, top, right, bottom, fill, mode):
    from ...nn import functional as nnf
    if mode == "symmetric":
        # crop first where padding is negative, then gather mirrored indices
        h, w = img.shape[-2], img.shape[-1]
        cl, ct, cr, cb = (max(-v, 0) for v in (left, top, right, bottom))
        if cl or ct or cr or cb:
            img = img[..., ct:h - cb, cl:w - cr]
        left, top, right, bottom = (max(v, 0) for v in (left, top, right, bottom))
        h, w = img.shape[-2], img.shape[-1]
        xs = _creation.tensor(_symmetric_index(w, left, right))
        ys = _creation.tensor(_symmetric_index(h, top, bottom))
        return img[..., ys[:, None], xs[None, :]]
    pads = [left, right, top, bottom]
    lead = tuple(img.shape[:-2])
    x = img.reshape(1, -1, img.shape[-2], img.shape[-1])
    if mode == "constant":
        y = nnf.pad(x, pads, mode="constant", value=fill)
    else:
        y = nnf.pad(x, pads, mode="replicate" if mode == "edge" else "reflect")
    return y.reshape(*lead, y.shape[-2], y.shape[-1])


def _symmetric_index(n: int, lo: int, hi: int) -> np.ndarray:
    idx = np.arange(-lo, n + hi)
    period = 2 * n
    idx = np.mod(idx, period)
    return np.where(idx >= n, period - 1 - idx, idx)


def _pad_pil(img, padding, left, top, right, bottom, fill, mode):
    image = require_pil("Padding a PIL image")
    from PIL import ImageOps
    if mode == "constant":
        opts = _parse_fill(fill, img, name="fill")
        border = (left, top, right, bottom)
        if img.mode == "P":
            palette = img.getpalette()
            out = ImageOps.expand(img, border=border, **opts)
            out.putpalette(palette)
            return out
        return ImageOps.expand(img, border=border, **opts)
    crop = [max(-v, 0) for v in (left, top, right, bottom)]
    if any(crop):
        img = img.crop((crop[0], crop[1], img.width - crop[2], img.height - crop[3]))
    left, top, right, bottom = (max(v, 0) for v in (left, top, right, bottom))
    npmode = {"edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}[mode]
    palette = img.getpalette() if img.mode == "P" else None
    arr = np.asarray(img)
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (arr.ndim - 2)
    out = image.fromarray(np.pad(arr, widths, mode=npmode))
    if palette is not None:
        out.putpalette(palette)
    return out


def crop(img, top: int, left: int, height: int, width: int):
    """The ``height x width`` region whose top-left corner is ``(top, left)``; parts outside
    the image are zero."""
    _check_image(img, "crop")
    if not _is_tensor(img):
        return img.crop((left, top, left + width, top + height))
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        inner = img[..., max(top, 0):max(bottom, 0), max(left, 0):max(right, 0)]
        ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        return pad(inner, ltrb, fill=0)
    return img[..., top:bottom, left:right]


def _pair(size, name="size"):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if not isinstance(size, Sequence) or len(size) != 2:
        raise ValueError(f"Please provide only two dimensions (h, w) for {name}.")
    return int(size[0]), int(size[1])


def center_crop(img, output_size):
    """The central ``output_size`` region (``(h, w)`` or an int); a crop larger than the image
    is zero-padded."""
    ch, cw = _pair(output_size, "output_size")
    _, h, w = get_dimensions(img)
    if cw > w or ch > h:
        ltrb = [(cw - w) // 2 if cw > w else 0, (ch - h) // 2 if ch > h else 0,
                (cw - w + 1) // 2 if cw > w else 0, (ch - h + 1) // 2 if ch > h else 0]
        img = pad(img, ltrb, fill=0)
        _, h, w = get_dimensions(img)
        if cw == w and ch == h:
            return img
    top = round((h - ch) / 2.0)
    left = round((w - cw) / 2.0)
    return crop(img, top, left, ch, cw)


def resized_crop(img, top, left, height, width, size,
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
    """``crop`` then ``resize``."""
    img = crop(img, top, left, height, width)
    return resize(img, size, interpolation, antialias=antialias)


def hflip(img):
    """Mirror left-right."""
    _check_image(img, "hflip")
    if _is_tensor(img):
        return img.flip(-1)
    return img.transpose(require_pil("hflip").Transpose.FLIP_LEFT_RIGHT)


def vflip(img):
    """Mirror top-bottom."""
    _check_image(img, "vflip")
    if _is_tensor(img):
        return img.flip(-2)
    return img.transpose(require_pil("vflip").Transpose.FLIP_TOP_BOTTOM)


def five_crop(img, size):
    """The four corner crops and the central crop: ``(tl, tr, bl, br, center)``."""
    ch, cw = _pair(size)
    _, h, w = get_dimensions(img)
    if ch > h or cw > w:
        raise ValueError(f"Requested crop size {(ch, cw)} is bigger than input size {(h, w)}")
    tl = crop(img, 0, 0, ch, cw)
    tr = crop(img, 0, w - cw, ch, cw)
    bl = crop(img, h - ch, 0, ch, cw)
    br = crop(img, h - ch, w - cw, ch, cw)
    return tl, tr, bl, br, center_crop(img, [ch, cw])


def ten_crop(img, size, vertical_flip: bool = False):
    """``five_crop`` of the image and of its flipped version (horizontal by default)."""
    first = five_crop(img, size)
    second = five_crop(vflip(img) if vertical_flip else hflip(img), size)
    return first + second


# ---------------------------------------------------------------------------------------
# Colour

def _blend(img1: Tensor, img2, ratio: float) -> Tensor:
    ratio = float(ratio)
    bound = _max_value(img1.dtype)
    return (ratio * img1 + (1.0 - ratio) * img2).clamp(0, bound).to(img1.dtype)


def rgb_to_grayscale(img, num_output_channels: int = 1):
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` (tensors; PIL uses its ``L`` conversion) with 1
    or 3 identical output channels. A 1-channel tensor is copied (and repeated to 3 channels
    for ``num_output_channels=3``, as PIL images are; torchvision returns 1 channel there)."""
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    _check_image(img, "rgb_to_grayscale")
    if not _is_tensor(img):
        gray = img.convert("L")
        if num_output_channels == 1:
            return gray
        arr = np.asarray(gray)
        return _fromarray(require_pil("rgb_to_grayscale"), np.dstack([arr, arr, arr]), "RGB")
    if img.ndim < 3:
        raise TypeError("Input image tensor should have at least 3 dimensions, but found "
                        f"{img.ndim}")
    _assert_channels(img, (1, 3), "rgb_to_grayscale")
    if img.shape[-3] == 3:
        r, g, b = img.unbind(dim=-3)
        gray = (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(-3)
    else:
        gray = img.clone()
    if num_output_channels == 3:
        return gray.expand(*img.shape[:-3], 3, img.shape[-2], img.shape[-1])
    return gray


def to_grayscale(img, num_output_channels: int = 1):
    """``rgb_to_grayscale`` for PIL images (torchvision's older name)."""
    if not is_pil_image(img):
        raise TypeError("Input should be PIL Image")
    return rgb_to_grayscale(img, num_output_channels)


def adjust_brightness(img, brightness_factor: float):
    """Multiply intensities by ``brightness_factor`` (0 gives black, 1 the original)."""
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative.")
    _check_image(img, "adjust_brightness")
    if not _is_tensor(img):
        from PIL import ImageEnhance
        return ImageEnhance.Brightness(img).enhance(brightness_factor)
    _assert_channels(img, (1, 3), "adjust_brightness")
    return _blend(img, 0.0, brightness_factor)


def adjust_contrast(img, contrast_factor: float):
    """Blend with the mean grey level (0 gives a uniform grey image, 1 the original)."""
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative.")
    _check_image(img, "adjust_contrast")
    if not _is_tensor(img):
        from PIL import ImageEnhance
        return ImageEnhance.Contrast(img).enhance(contrast_factor)
    _assert_channels(img, (1, 3), "adjust_contrast")
    dt = img.dtype if _is_float(img) else _dtype.float32
    src = rgb_to_grayscale(img) if _channels(img) == 3 else img
    mean = src.to(dt).mean(dim=(-3, -2, -1), keepdim=True)
    return _blend(img, mean, contrast_factor)


def adjust_saturation(img, saturation_factor: float):
    """Blend with the grayscale image (0 gives grey, 1 the original, 2 doubles saturation)."""
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative.")
    _check_image(img, "adjust_saturation")
    if not _is_tensor(img):
        from PIL import ImageEnhance
        return ImageEnhance.Color(img).enhance(saturation_factor)
    _assert_channels(img, (1, 3), "adjust_saturation")
    if _channels(img) == 1:
        return img
    return _blend(img, rgb_to_grayscale(img), saturation_factor)


def _rgb2hsv(rgb: np.ndarray) -> np.ndarray:
    r, g, b = rgb[..., 0, :, :], rgb[..., 1, :, :], rgb[..., 2, :, :]
    maxc = rgb.max(axis=-3)
    minc = rgb.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    one = np.ones_like(maxc)
    s = cr / np.where(eqc, one, maxc)
    # where max == min the hue terms cancel to 6 -> hue 0; dividing by 1 there avoids NaNs
    crd = np.where(eqc, one, cr)
    rc, gc, bc = (maxc - r) / crd, (maxc - g) / crd, (maxc - b) / crd
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = np.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return np.stack((h, s, maxc), axis=-3).astype(rgb.dtype)


def _hsv2rgb(hsv: np.ndarray) -> np.ndarray:
    h, s, v = hsv[..., 0, :, :], hsv[..., 1, :, :], hsv[..., 2, :, :]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int32) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    # the six sectors of the hue circle, as (r, g, b) choices among v, p, q, t
    r = np.choose(i, [v, q, p, p, t, v])
    g = np.choose(i, [t, v, v, q, p, p])
    b = np.choose(i, [p, p, t, v, v, q])
    return np.stack((r, g, b), axis=-3).astype(hsv.dtype)


def adjust_hue(img, hue_factor: float):
    """Rotate the hue by ``hue_factor`` turns (in [-0.5, 0.5]) in HSV space. Grayscale images
    are returned unchanged. Tensors are computed in float32 with NumPy (no gradient)."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    _check_image(img, "adjust_hue")
    if not _is_tensor(img):
        image = require_pil("adjust_hue")
        if img.mode in {"L", "1", "I", "F"}:
            return img
        h, s, v = img.convert("HSV").split()
        hue = np.array(h, dtype=np.uint8)
        # uint8 arithmetic wraps around the hue circle, as Pillow's 0..255 hue does
        hue += np.uint8(np.int32(hue_factor * 255) & 0xFF)
        h = _fromarray(image, hue, "L")
        return image.merge("HSV", (h, s, v)).convert(img.mode)
    _assert_channels(img, (1, 3), "adjust_hue")
    if _channels(img) == 1:
        return img
    orig = img.dtype
    x = _np(convert_image_dtype(img, _dtype.float32))
    hsv = _rgb2hsv(x)
    hsv[..., 0, :, :] = (hsv[..., 0, :, :] + np.float32(hue_factor)) % np.float32(1.0)
    return convert_image_dtype(_wrap(_hsv2rgb(hsv)), orig)


def adjust_gamma(img, gamma: float, gain: float = 1):
    """``gain * I ** gamma`` on intensities scaled to [0, 1], clamped."""
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    _check_image(img, "adjust_gamma")
    if not _is_tensor(img):
        mode = img.mode
        rgb = img.convert("RGB")
        table = [int((255 + 1 - 1e-3) * gain * pow(v / 255.0, gamma)) for v in range(256)] * 3
        return rgb.point(table).convert(mode)
    _assert_channels(img, (1, 3), "adjust_gamma")
    dt = img.dtype
    x = img if _is_float(img) else convert_image_dtype(img, _dtype.float32)
    x = (gain * x.pow(gamma)).clamp(0, 1)
    return convert_image_dtype(x, dt)


def invert(img):
    """``max - I`` (255 - I for uint8, 1 - I for floats)."""
    _check_image(img, "invert")
    if not _is_tensor(img):
        from PIL import ImageOps
        return ImageOps.invert(img)
    _assert_channels(img, (1, 3), "invert")
    return _max_value(img.dtype) - img


# ---------------------------------------------------------------------------------------
# Rotation and affine warps

def _inverse_affine_matrix(center, angle, translate, scale, shear):
    """The 2x3 matrix mapping output pixel coordinates to input ones for the warp
    ``x -> T C R S C^-1 x``: rotation by ``angle`` degrees (clockwise in image coordinates,
    y down) combined with shears ``shear = (sx, sy)`` in degrees, scale ``scale``, about
    ``center``, then translation ``translate``. Returned flat, row-major, as Pillow's
    ``Image.transform(AFFINE)`` expects."""
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    # RSS = rotation * shear, a 2x2 matrix with determinant 1
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    # inverse of scale * RSS (det 1 -> adjugate / scale), then the translations around it
    m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]
    m[2] = m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx
    m[5] = m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy
    return m


def _affine_output_size(matrix, w: int, h: int):
    """Size of the bounding box of the warped image (for ``rotate(expand=True)``)."""
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], dtype=np.float32)
    theta = np.array(matrix, dtype=np.float32).reshape(2, 3)
    new = pts @ theta.T
    lo = new.min(axis=0) + np.array([w * 0.5, h * 0.5], dtype=np.float32)
    hi = new.max(axis=0) + np.array([w * 0.5, h * 0.5], dtype=np.float32)
    # truncate to 1e-4 so that 1e-15 above an integer does not round up a whole pixel
    tol = np.float32(1e-4)
    cmax = np.ceil(np.trunc(hi / tol) * tol)
    cmin = np.floor(np.trunc(lo / tol) * tol)
    size = cmax - cmin
    return int(size[0]), int(size[1])


def _check_fill(img, fill, fn):
    if fill is not None and not isinstance(fill, (int, float, tuple, list)):
        raise TypeError(f"{fn}: fill should be a number or a sequence, got {type(fill).__name__}")
    c = _channels(img)
    if isinstance(fill, (tuple, list)) and len(fill) > 1 and len(fill) != c:
        raise ValueError("The number of elements in 'fill' cannot broadcast to match the number "
                         f"of channels of the image ({len(fill)} != {c})")


def _grid_warp(img: Tensor, matrix, interpolation: InterpolationMode, fill, out_w, out_h):
    """Warp a tensor image: output pixel centres (relative to the output centre) go through
    ``matrix`` to input coordinates (relative to the input centre), sampled with nearest or
    bilinear interpolation; outside the input the result is ``fill`` (0 when None)."""
    if interpolation not in (InterpolationMode.NEAREST, InterpolationMode.BILINEAR):
        raise ValueError(f"Interpolation mode '{interpolation.value}' is unsupported with "
                         "Tensor input")
    arr = _np(img)
    out_dtype = arr.dtype
    cdt = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float32)
    h, w = arr.shape[-2:]
    lead = arr.shape[:-2]
    x = arr.reshape(-1, h, w).astype(cdt, copy=False)        # channels of all images
    theta = np.array(matrix, dtype=cdt).reshape(2, 3)
    xs = np.linspace(-out_w * 0.5 + 0.5, out_w * 0.5 - 0.5, out_w).astype(cdt)
    ys = np.linspace(-out_h * 0.5 + 0.5, out_h * 0.5 - 0.5, out_h).astype(cdt)
    base = np.empty((out_h, out_w, 3), dtype=cdt)
    base[..., 0] = xs[None, :]
    base[..., 1] = ys[:, None]
    base[..., 2] = 1
    # normalised input coordinates in [-1, 1] (as grid_sample takes them), then pixel ones
    s = theta.T / np.array([0.5 * w, 0.5 * h], dtype=cdt)
    bx, by = base[..., 0].ravel(), base[..., 1].ravel()
    # written out term by term (not as a matmul, whose BLAS rounding differs) so integer
    # images round exactly as torchvision's do
    gx = bx * s[0, 0] + by * s[1, 0] + s[2, 0]
    gy = bx * s[0, 1] + by * s[1, 1] + s[2, 1]
    # grid_sample's unnormalisation for align_corners=False
    ix = ((gx + 1) * w - 1) / 2
    iy = ((gy + 1) * h - 1) / 2
    if interpolation == InterpolationMode.NEAREST:
        xi = np.rint(ix).astype(np.int64)
        yi = np.rint(iy).astype(np.int64)
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        vals = x[:, np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)] * inside
        cover = inside.astype(cdt)
    else:
        x0 = np.floor(ix)
        y0 = np.floor(iy)
        fx, fy = ix - x0, iy - y0
        x0 = x0.astype(np.int64)
        y0 = y0.astype(np.int64)
        vals = np.zeros((x.shape[0], ix.shape[0]), dtype=cdt)
        cover = np.zeros(ix.shape[0], dtype=cdt)
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                xx, yy = x0 + dx, y0 + dy
                ok = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
                wgt = (wx * wy * ok).astype(cdt)
                vals += x[:, np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)] * wgt
                cover += wgt
    vals = vals.reshape(*lead, out_h, out_w)
    if fill is not None:
        fills = list(fill) if isinstance(fill, (tuple, list)) else [float(fill)]
        c = 1 if len(lead) == 0 else lead[-1]
        fv = np.array(fills if len(fills) > 1 else fills * c, dtype=cdt).reshape(-1, 1, 1)
        cover = cover.reshape(out_h, out_w)
        if len(lead) == 0:
            fv = fv[0]
        if interpolation == InterpolationMode.NEAREST:
            vals = np.where(cover < 0.5, np.broadcast_to(fv, vals.shape), vals)
        else:
            vals = vals * cover + (1.0 - cover) * fv
    if out_dtype.kind != "f":
        vals = np.rint(vals)
    return _wrap(vals.astype(out_dtype))


def rotate(img, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False,
           center=None, fill=None):
    """Rotate by ``angle`` degrees counter-clockwise about ``center`` (default: the image
    centre; origin at the top-left corner). ``expand`` enlarges the output to hold the whole
    rotated image; ``fill`` colours the area outside the source."""
    interpolation = _interpolation(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    _check_image(img, "rotate")
    if not _is_tensor(img):
        opts = _parse_fill(fill, img)
        return img.rotate(angle, _TO_PIL_INT[interpolation], expand,
                          None if center is None else tuple(center), **opts)
    _check_fill(img, fill, "rotate")
    _, h, w = get_dimensions(img)
    cf = [0.0, 0.0]
    if center is not None:
        cf = [1.0 * (c - s * 0.5) for c, s in zip(center, [w, h])]
    matrix = _inverse_affine_matrix(cf, -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    ow, oh = _affine_output_size(matrix, w, h) if expand else (w, h)
    return _grid_warp(img, matrix, interpolation, fill, ow, oh)


def affine(img, angle: float, translate, scale: float, shear,
           interpolation=InterpolationMode.NEAREST, fill=None, center=None):
    """Affine warp keeping ``center`` fixed (default: the image centre): rotation by
    ``angle`` degrees clockwise, translation ``translate = (tx, ty)`` pixels, scale
    ``scale`` and shear ``shear`` degrees (a number shears parallel to x; a pair is
    ``(x, y)``)."""
    interpolation = _interpolation(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if not isinstance(translate, (list, tuple)):
        raise TypeError("Argument translate should be a sequence")
    if len(translate) != 2:
        raise ValueError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    if not isinstance(shear, (numbers.Number, list, tuple)):
        raise TypeError("Shear should be either a single value or a sequence of two values")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    if isinstance(shear, numbers.Number):
        shear = [shear, 0.0]
    shear = list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    _check_image(img, "affine")
    _, h, w = get_dimensions(img)
    if not _is_tensor(img):
        c = [w * 0.5, h * 0.5] if center is None else center
        matrix = _inverse_affine_matrix(c, float(angle), translate, scale, shear)
        opts = _parse_fill(fill, img)
        return img.transform(img.size, require_pil("affine").Transform.AFFINE, matrix,
                             _TO_PIL_INT[interpolation], **opts)
    _check_fill(img, fill, "affine")
    cf = [0.0, 0.0]
    if center is not None:
        cf = [1.0 * (c - s * 0.5) for c, s in zip(center, [w, h])]
    matrix = _inverse_affine_matrix(cf, float(angle), [1.0 * t for t in translate], scale,
                                    shear)
    return _grid_warp(img, matrix, interpolation, fill, w, h)


# ---------------------------------------------------------------------------------------
# Erasing

def erase(img: Tensor, i: int, j: int, h: int, w: int, v, inplace: bool = False) -> Tensor:
    """Set the ``h x w`` region at ``(i, j)`` of a tensor image to ``v`` (a tensor that
    broadcasts to ``(..., C, h, w)``, or a number)."""
    if not _is_tensor(img):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    if not inplace:
        img = img.clone()
    img[..., i:i + h, j:j + w] = v
    return img
