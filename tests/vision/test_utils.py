"""ember.vision.utils: make_grid's layout against hand-built grids, normalisation options,
gradients, errors; save_image round trips through Pillow."""
from __future__ import annotations

import io

import numpy as np
import pytest

import ember
from ember.vision.utils import make_grid, save_image

try:
    from PIL import Image
except ImportError:  # pragma: no cover
    Image = None
needs_pil = pytest.mark.skipif(Image is None, reason="Pillow is not installed")


def constant_images(values, c=1, h=2, w=2):
    return ember.from_numpy(np.stack([np.full((c, h, w), v, np.float32) for v in values]))


GRID_1_2_3 = np.array([          # 3 constant 2x2 images (1, 2, 3), nrow=2, padding=1
    [0, 0, 0, 0, 0, 0, 0],
    [0, 1, 1, 0, 2, 2, 0],
    [0, 1, 1, 0, 2, 2, 0],
    [0, 0, 0, 0, 0, 0, 0],
    [0, 3, 3, 0, 0, 0, 0],
    [0, 3, 3, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0],
], np.float32)


def test_layout_by_hand():
    grid = make_grid(constant_images([1, 2, 3]), nrow=2, padding=1)
    assert grid.shape == (3, 7, 7) and grid.dtype == ember.float32
    for ch in range(3):                                    # 1 channel repeated to RGB
        np.testing.assert_array_equal(grid.numpy()[ch], GRID_1_2_3)
    padded = make_grid(constant_images([1, 2, 3]), nrow=2, padding=1, pad_value=9).numpy()[0]
    expected = np.where(GRID_1_2_3 == 0, 9, GRID_1_2_3)
    np.testing.assert_array_equal(padded, expected)


def test_layout_rows_columns_and_order():
    x = ember.from_numpy(np.arange(5 * 3 * 2 * 3, dtype=np.float32).reshape(5, 3, 2, 3))
    grid = make_grid(x, nrow=3, padding=2).numpy()
    assert grid.shape == (3, 2 * (2 + 2) + 2, 3 * (3 + 2) + 2)
    for k in range(5):
        r, c = divmod(k, 3)
        top, left = 2 + r * 4, 2 + c * 5
        np.testing.assert_array_equal(grid[:, top:top + 2, left:left + 3], x.numpy()[k])
    tiled = make_grid(x, nrow=5, padding=0).numpy()       # one row, no padding
    np.testing.assert_array_equal(tiled, np.concatenate(list(x.numpy()), axis=2))
    assert make_grid(x, nrow=10).shape == (3, 2 + 4, 2 + 5 * 5)     # nrow capped at B
    as_list = make_grid([x[i] for i in range(5)], nrow=3, padding=2)
    np.testing.assert_array_equal(as_list.numpy(), grid)


def test_single_images():
    one = ember.from_numpy(np.arange(6, dtype=np.float32).reshape(1, 2, 3))
    out = make_grid(one)                                   # no padding for a single image
    assert out.shape == (3, 2, 3) and np.array_equal(out.numpy()[2], one.numpy()[0])
    assert make_grid(one[0]).shape == (3, 2, 3)            # H x W
    rgb = ember.from_numpy(np.zeros((3, 4, 5), np.float32))
    assert make_grid(rgb).shape == (3, 4, 5)
    assert make_grid(rgb.unsqueeze(0), padding=5).shape == (3, 4, 5)


def test_normalize_options():
    x = constant_images([1, 2, 3])
    grid = make_grid(x, nrow=2, padding=1, normalize=True).numpy()[0]
    # values mapped to (v - 1) / 2; padding (added afterwards) stays pad_value
    expected = np.where(GRID_1_2_3 == 0, 0, (GRID_1_2_3 - 1) / 2)
    np.testing.assert_allclose(grid, expected)
    ranged = make_grid(x, nrow=2, padding=1, normalize=True, value_range=(0, 2)).numpy()[0]
    np.testing.assert_allclose(ranged, np.where(GRID_1_2_3 == 0, 0,
                                                np.minimum(GRID_1_2_3, 2) / 2))
    imgs = ember.from_numpy(np.stack([np.array([[[0, k], [k, 2 * k]]], np.float32)
                                      for k in (1, 5, -2)]))
    each = make_grid(imgs, padding=0, normalize=True, scale_each=True).numpy()[0]
    np.testing.assert_allclose(each[:, 0:2], [[0, 0.5], [0.5, 1]])
    np.testing.assert_allclose(each[:, 2:4], [[0, 0.5], [0.5, 1]])
    np.testing.assert_allclose(each[:, 4:6], [[1, 0.5], [0.5, 0]])
    assert np.array_equal(x.numpy(), constant_images([1, 2, 3]).numpy())   # input untouched
    flat = make_grid(constant_images([4, 4]), normalize=True).numpy()      # no division by 0
    assert np.isfinite(flat).all() and flat.max() == 0


def test_gradient_flows():
    x = ember.from_numpy(np.ones((2, 1, 2, 2), np.float32)).requires_grad_()
    make_grid(x, nrow=1, padding=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 1, 2, 2), 3.0))


def test_errors():
    with pytest.raises(TypeError, match="tensor or list of tensors expected"):
        make_grid(np.zeros((2, 3, 4, 4)))
    with pytest.raises(TypeError, match="a list containing"):
        make_grid([ember.zeros(3, 2, 2), np.zeros((3, 2, 2))])
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        make_grid(ember.zeros(2, 3, 2, 2), normalize=True, value_range=[0, 1])
    with pytest.raises(ValueError, match="2-, 3- or 4-D"):
        make_grid(ember.zeros(1, 2, 3, 4, 5))
    with pytest.raises(TypeError, match="value_range"):
        make_grid(ember.zeros(2, 3, 2, 2), range=(0, 1))


@needs_pil
def test_save_image_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((3, 4, 5), dtype=np.float32)
    path = tmp_path / "img.png"
    save_image(ember.from_numpy(x), path)
    back = np.asarray(Image.open(path))
    expected = np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    np.testing.assert_array_equal(back, expected)
    batch = rng.random((4, 3, 4, 5), dtype=np.float32) * 2 - 0.5   # out of range: clipped
    buf = io.BytesIO()
    save_image(ember.from_numpy(batch), buf, format="PNG", nrow=2, padding=2, pad_value=1.0)
    img = Image.open(io.BytesIO(buf.getvalue()))
    assert img.mode == "RGB" and img.size == (2 + 2 * 7, 2 + 2 * 6)
    arr = np.asarray(img)
    assert (arr[0] == 255).all()                           # top padding row is pad_value 1.0
    grid = make_grid(ember.from_numpy(batch), nrow=2, padding=2, pad_value=1.0).numpy()
    np.testing.assert_array_equal(arr, np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8)
                                  .transpose(1, 2, 0))
    gray = tmp_path / "gray.png"
    save_image(ember.from_numpy(x[0]), gray, normalize=True)          # H x W -> RGB
    g = np.asarray(Image.open(gray))
    assert g.shape == (4, 5, 3) and g.min() == 0 and g.max() == 255
