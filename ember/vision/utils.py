"""Image grids: :func:`make_grid` tiles a batch of images into one image, :func:`save_image`
writes a grid (or one image) to a file with Pillow."""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from ..ops import creation as _creation
from ..ops import shape as _shape
from ._imaging import require_pil

__all__ = ["make_grid", "save_image"]


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range=None, scale_each: bool = False, pad_value: float = 0.0,
              **kwargs) -> Tensor:
    """Tile images into a grid (torchvision's layout).

    The ``B`` images of ``tensor`` (``B x C x H x W``, or a list of ``C x H x W`` tensors)
    fill a grid of ``min(nrow, B)`` columns and ``ceil(B / nrow)`` rows, row by row, each
    framed by ``padding`` pixels of ``pad_value`` (between images and around the border):
    the result is ``C x (rows * (H + padding) + padding) x (cols * (W + padding) +
    padding)``. Unused cells of the last row stay ``pad_value``. One-channel images are
    repeated to 3 channels; a single image (``C x H x W`` or ``H x W``) is returned as is
    (3 channels if it had 1), without padding.

    Args:
        normalize (bool): shift and scale values to [0, 1] using ``value_range`` (min, max),
            clamping outside it, or the tensor's own min and max when it is None.
        scale_each (bool): with ``normalize``, use each image's own min and max.

    Built from ember ops, so gradients flow back to the images.
    """
    if "range" in kwargs:
        raise TypeError("make_grid() got the removed argument 'range': use value_range")
    if kwargs:
        raise TypeError(f"make_grid() got unexpected keyword arguments {sorted(kwargs)}")
    if isinstance(tensor, list):
        for t in tensor:
            if not isinstance(t, Tensor):
                raise TypeError("tensor or list of tensors expected, got a list containing "
                                f"{type(t)}")
        tensor = _shape.stack(tensor, dim=0)
    elif not isinstance(tensor, Tensor):
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    if tensor.ndim == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.ndim == 3:
        if tensor.shape[0] == 1:
            tensor = _shape.cat((tensor, tensor, tensor), 0)
        tensor = tensor.unsqueeze(0)
    if tensor.ndim != 4:
        raise ValueError(f"make_grid expects 2-, 3- or 4-D tensors, got shape "
                         f"{tuple(tensor.shape)}")
    if tensor.shape[1] == 1:
        tensor = _shape.cat((tensor, tensor, tensor), 1)

    if normalize is True:
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and "
                            "max are numbers")
        tensor = tensor.clone()
        if value_range is not None:
            low, high = float(value_range[0]), float(value_range[1])
            tensor = tensor.clamp(min=low, max=high).sub(low).div(max(high - low, 1e-5))
        elif scale_each is True:
            low = tensor.detach().amin(dim=(1, 2, 3), keepdim=True)
            high = tensor.detach().amax(dim=(1, 2, 3), keepdim=True)
            tensor = tensor.sub(low).div((high - low).clamp(min=1e-5))
        else:
            low, high = float(tensor.min()), float(tensor.max())
            tensor = tensor.sub(low).div(max(high - low, 1e-5))

    if tensor.shape[0] == 1:
        return tensor.squeeze(0)

    nmaps, c, h, w = (int(s) for s in tensor.shape)
    xmaps = min(nrow, nmaps)
    ymaps = math.ceil(nmaps / xmaps)
    # pad the batch to a full grid with blank cells, give every cell a top/left border, lay
    # the cells out row by row, then add the bottom/right border
    blank = ymaps * xmaps - nmaps
    if blank:
        filler = _creation.full((blank, c, h, w), pad_value, dtype=tensor.dtype)
        tensor = _shape.cat((tensor, filler), 0)
    from ..nn import functional as nnf
    cells = nnf.pad(tensor, (padding, 0, padding, 0), value=pad_value)
    hp, wp = h + padding, w + padding
    grid = cells.reshape(ymaps, xmaps, c, hp, wp).permute(2, 0, 3, 1, 4)
    grid = grid.reshape(c, ymaps * hp, xmaps * wp)
    return nnf.pad(grid, (0, padding, 0, padding), value=pad_value)


def save_image(tensor, fp, format: str | None = None, **kwargs) -> None:
    """Save a tensor image, or a grid of images (``make_grid(tensor, **kwargs)``), to ``fp``
    (a path or a binary file object) with Pillow. Values are taken in [0, 1] and mapped to
    0..255 with rounding; ``format`` overrides the format implied by the file name."""
    image = require_pil("save_image")
    grid = make_grid(tensor, **kwargs)
    arr = grid.detach().numpy()
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float32)
    # + 0.5 rounds to the nearest level when truncating to uint8 (computed in the grid's
    # float dtype, as torchvision does, so the levels match bit for bit)
    arr = np.clip(arr * arr.dtype.type(255) + arr.dtype.type(0.5), 0, 255)
    arr = arr.transpose(1, 2, 0).astype(np.uint8)
    from .transforms.functional import _fromarray
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}.get(arr.shape[2])
    if mode is None:
        raise ValueError(f"save_image: cannot save an image with {arr.shape[2]} channels")
    im = _fromarray(image, arr if arr.shape[2] != 1 else arr[:, :, 0], mode)
    im.save(fp, format=format)
