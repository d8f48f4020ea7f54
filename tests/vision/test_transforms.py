"""ember.vision.transforms on PIL images and tensor images: values computed by hand or with
NumPy, PIL and tensor paths against each other, determinism under ember.manual_seed, and
torchvision's reprs and error messages."""
from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import ember
from ember import nn
from ember.vision import transforms as T
from ember.vision.transforms import functional as F
from ember.vision.transforms.functional import InterpolationMode as IM

try:
    from PIL import Image
except ImportError:  # pragma: no cover
    Image = None
needs_pil = pytest.mark.skipif(Image is None, reason="Pillow is not installed")

RNG = np.random.default_rng(1234)
U8 = RNG.integers(0, 256, (3, 6, 9), dtype=np.uint8)           # C x H x W
F32 = RNG.random((3, 6, 9), dtype=np.float32)
G8 = RNG.integers(0, 256, (1, 5, 7), dtype=np.uint8)


def t(arr):
    return ember.from_numpy(np.array(arr))


def pil(arr_chw):
    arr = np.asarray(arr_chw)
    return Image.fromarray(arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0))


def as_np(img):
    if isinstance(img, ember.Tensor):
        return img.detach().numpy()
    arr = np.asarray(img)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


# ---------------------------------------------------------------------------------------
# Conversions

def test_to_tensor_ndarray_and_tensor():
    x = T.ToTensor()(U8.transpose(1, 2, 0))
    assert x.shape == (3, 6, 9) and x.dtype == ember.float32
    np.testing.assert_allclose(x.numpy(), U8 / 255, rtol=1e-6)
    x2 = T.ToTensor()(U8[0])                               # H x W -> 1 x H x W
    assert x2.shape == (1, 6, 9)
    f = T.ToTensor()(F32.transpose(1, 2, 0).astype(np.float64))    # non-uint8: kept
    assert f.dtype == ember.float64 and np.array_equal(f.numpy(), F32.astype(np.float64))
    xt = T.ToTensor()(t(U8))                               # ember extension: uint8 tensors
    np.testing.assert_allclose(xt.numpy(), U8 / 255, rtol=1e-6)
    assert T.ToTensor()(t(F32)) is not None and T.ToTensor()(t(F32)).dtype == ember.float32
    with pytest.raises(ValueError, match="2/3 dimensional"):
        T.ToTensor()(np.zeros((1, 2, 3, 4), np.uint8))
    with pytest.raises(TypeError, match="PIL Image or ndarray"):
        T.ToTensor()([1, 2, 3])


@needs_pil
def test_to_tensor_pil_modes():
    x = T.ToTensor()(pil(U8))
    np.testing.assert_allclose(x.numpy(), U8 / 255, rtol=1e-6)
    g = T.ToTensor()(pil(G8))
    assert g.shape == (1, 5, 7)
    np.testing.assert_allclose(g.numpy(), G8 / 255, rtol=1e-6)
    bw = Image.fromarray(G8[0] > 128)                      # mode '1' -> 0 / 1
    np.testing.assert_array_equal(T.ToTensor()(bw).numpy()[0], (G8[0] > 128).astype(np.float32))
    i32 = Image.fromarray(G8[0].astype(np.int32) * 1000)    # mode 'I' keeps int32 values
    out = T.ToTensor()(i32)
    assert out.dtype == ember.int32 and out.numpy()[0, 1, 2] == int(G8[0, 1, 2]) * 1000
    f = Image.fromarray(F32[0])                            # mode 'F' keeps float32
    assert T.ToTensor()(f).dtype == ember.float32
    np.testing.assert_array_equal(T.ToTensor()(f).numpy()[0], F32[0])


@needs_pil
def test_pil_to_tensor_and_back():
    x = T.PILToTensor()(pil(U8))
    assert x.dtype == ember.uint8 and np.array_equal(x.numpy(), U8)
    assert T.PILToTensor()(x) is x                          # tensors pass through
    img = T.ToPILImage()(x)
    assert img.mode == "RGB" and img.size == (9, 6) and np.array_equal(as_np(img), U8)
    assert T.ToPILImage()(t(G8)).mode == "L"
    assert T.ToPILImage()(t(np.concatenate([U8, U8[:1]]))).mode == "RGBA"
    assert T.ToPILImage()(t(U8[:2])).mode == "LA"
    assert T.ToPILImage()(t(F32[:1])).mode == "L"          # floats scaled by 255, truncated
    np.testing.assert_array_equal(as_np(T.ToPILImage()(t(F32[:1]))),
                                  (F32[:1] * 255).astype(np.uint8))
    fimg = T.ToPILImage(mode="F")(t(F32[:1]))
    assert fimg.mode == "F" and np.array_equal(np.asarray(fimg), F32[0])
    assert T.ToPILImage()(t(G8.astype(np.int32))).mode == "I"
    assert T.ToPILImage(mode="YCbCr")(t(U8)).mode == "YCbCr"
    nd = T.ToPILImage()(U8.transpose(1, 2, 0))              # ndarrays are H x W x C
    assert np.array_equal(as_np(nd), U8)
    with pytest.raises(ValueError, match="Only modes"):
        T.ToPILImage(mode="RGBA")(t(U8))
    with pytest.raises(ValueError, match="Incorrect mode"):
        T.ToPILImage(mode="F")(t(G8))
    with pytest.raises(ValueError, match="> 4 channels"):
        T.ToPILImage()(t(np.zeros((5, 2, 2), np.uint8)))
    with pytest.raises(TypeError, match="Tensor or ndarray"):
        T.ToPILImage()([1])


def test_convert_image_dtype():
    x = t(np.array([[[0, 128, 255]]], np.uint8))
    np.testing.assert_allclose(T.ConvertImageDtype(ember.float32)(x).numpy(),
                               [[[0, 128 / 255, 1]]], rtol=1e-6)
    f = t(np.array([[[0.0, 0.5, 0.999, 1.0]]], np.float32))
    assert F.convert_image_dtype(f, ember.uint8).tolist() == [[[0, 127, 255, 255]]]
    assert F.convert_image_dtype(x, ember.int32).tolist() == [[[0, 128 << 23, 255 << 23]]]
    big = t(np.array([[[0, 1 << 23, (1 << 31) - 1]]], np.int32))
    assert F.convert_image_dtype(big, ember.uint8).tolist() == [[[0, 1, 255]]]
    assert F.convert_image_dtype(f, ember.float64).dtype == ember.float64
    assert F.convert_image_dtype(f, ember.float32) is f
    with pytest.raises(RuntimeError, match="cannot be performed safely"):
        F.convert_image_dtype(f, ember.int32)


# ---------------------------------------------------------------------------------------
# Normalize

def test_normalize():
    x = t(F32)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    out = T.Normalize(mean, std)(x)
    expected = (F32 - np.array(mean, np.float32)[:, None, None]) / \
        np.array(std, np.float32)[:, None, None]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    assert np.array_equal(x.numpy(), F32)                   # out of place by default
    y = t(F32.copy())
    assert T.Normalize(mean, std, inplace=True)(y) is y
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)
    batch = T.Normalize((0.5,), (0.5,))(t(np.ones((2, 1, 2, 2), np.float32)))
    assert batch.tolist() == [[[[1.0, 1.0], [1.0, 1.0]]]] * 2
    # differentiable, and usable inside nn.Sequential like torchvision's nn.Module transforms
    g = t(F32).requires_grad_()
    nn.Sequential(T.Normalize(mean, std))(g).sum().backward()
    np.testing.assert_allclose(g.grad.numpy()[:, 0, 0], 1 / np.array(std), rtol=1e-6)
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize((0.5,), (0.5,))(t(G8))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize((0.5,), (0.0,))(t(F32))
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\)"):
        T.Normalize((0.5,), (0.5,))(t(F32[0]))
    with pytest.raises(TypeError, match="Tensor Image"):
        F.normalize(F32, (0.5,), (0.5,))


# ---------------------------------------------------------------------------------------
# Resize and crops

@pytest.mark.parametrize("size,max_size,expected", [
    (3, None, (3, 4)), ((4, 5), None, (4, 5)), ([3], None, (3, 4)), (12, None, (12, 18)),
    (4, 5, (3, 5)), (6, 20, (6, 9)),
])
def test_resize_sizes(size, max_size, expected):
    out = T.Resize(size, max_size=max_size)(t(F32))
    assert tuple(out.shape) == (3,) + expected
    if Image is not None:
        assert pil(U8).size == (9, 6)
        assert T.Resize(size, max_size=max_size)(pil(U8)).size == expected[::-1]


def test_resize_values():
    # exact factor-2 bilinear downscale without antialias averages each 2x2 block
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    out = T.Resize(2, antialias=False)(t(x))
    np.testing.assert_allclose(out.numpy(), x.reshape(1, 2, 2, 2, 2).mean((2, 4)))
    # nearest 2x upscale repeats pixels
    near = T.Resize((8, 8), interpolation=IM.NEAREST)(t(x))
    np.testing.assert_array_equal(near.numpy(), x.repeat(2, 1).repeat(2, 2))
    # integer images are computed in float and rounded back
    u = T.Resize(2, antialias=False)(t(np.array([[[0, 1], [2, 2]]], np.uint8).repeat(2, 1)
                                       .repeat(2, 2)))
    assert u.dtype == ember.uint8 and u.tolist() == [[[0, 1], [2, 2]]]
    same = t(F32)
    assert T.Resize((6, 9))(same) is same                  # nothing to do
    batch = T.Resize(3)(t(np.zeros((2, 3, 6, 9), np.float32)))
    assert batch.shape == (2, 3, 3, 4)
    with pytest.raises(ValueError, match="unsupported with Tensor input"):
        T.Resize(3, interpolation=IM.BOX)(t(F32))
    with pytest.raises(ValueError, match="max_size = 3 must be strictly greater"):
        T.Resize(3, max_size=3)(t(F32))
    with pytest.raises(ValueError, match="max_size should only be passed"):
        F.resize(t(F32), (3, 4), max_size=10)
    with pytest.raises(TypeError, match="Size should be int or sequence"):
        T.Resize(2.5)
    with pytest.raises(TypeError, match="InterpolationMode"):
        T.Resize(3, interpolation="bilinear")


@needs_pil
def test_resize_pil_matches_tensor_antialias():
    # PIL always antialiases; the tensor path with antialias=True uses the same filter
    big = RNG.integers(0, 256, (3, 24, 30), dtype=np.uint8)
    a = as_np(T.Resize((8, 10))(pil(big))).astype(int)
    b = T.Resize((8, 10))(t(big)).numpy().astype(int)
    assert np.abs(a - b).max() <= 1
    assert T.Resize(3, interpolation=2)(pil(U8)).size == (4, 3)    # Pillow's int constants


def test_center_crop():
    x = t(U8)
    np.testing.assert_array_equal(T.CenterCrop((2, 3))(x).numpy(), U8[:, 2:4, 3:6])
    np.testing.assert_array_equal(T.CenterCrop(4)(x).numpy(), U8[:, 1:5, 2:6])
    big = T.CenterCrop((8, 10))(x).numpy()                 # larger: zero padding around
    assert big.shape == (3, 8, 10)
    np.testing.assert_array_equal(big[:, 1:7, 0:9], U8)
    assert big[:, 0].sum() == 0 and big[:, 7].sum() == 0 and big[:, :, 9].sum() == 0
    if Image is not None:
        np.testing.assert_array_equal(as_np(T.CenterCrop((2, 3))(pil(U8))), U8[:, 2:4, 3:6])
        np.testing.assert_array_equal(as_np(T.CenterCrop((8, 10))(pil(U8))), big)


def test_crop_out_of_bounds():
    out = F.crop(t(G8), -1, -2, 4, 5).numpy()
    expected = np.zeros((1, 4, 5), np.uint8)
    expected[:, 1:, 2:] = G8[:, :3, :3]
    np.testing.assert_array_equal(out, expected)
    if Image is not None:
        np.testing.assert_array_equal(as_np(F.crop(pil(G8), -1, -2, 4, 5)), expected)


def test_five_and_ten_crop():
    x = t(U8)
    tl, tr, bl, br, c = T.FiveCrop((2, 3))(x)
    np.testing.assert_array_equal(tl.numpy(), U8[:, :2, :3])
    np.testing.assert_array_equal(tr.numpy(), U8[:, :2, 6:])
    np.testing.assert_array_equal(bl.numpy(), U8[:, 4:, :3])
    np.testing.assert_array_equal(br.numpy(), U8[:, 4:, 6:])
    np.testing.assert_array_equal(c.numpy(), U8[:, 2:4, 3:6])
    ten = T.TenCrop(2)(x)
    assert len(ten) == 10
    np.testing.assert_array_equal(ten[5].numpy(), U8[:, :2, ::-1][:, :, :2])
    with pytest.raises(ValueError, match="bigger than input size"):
        T.FiveCrop(7)(x)


def test_random_crop():
    x = t(U8)
    ember.manual_seed(0)
    out = T.RandomCrop((4, 5))(x).numpy()
    windows = [U8[:, i:i + 4, j:j + 5] for i in range(3) for j in range(5)]
    assert any(np.array_equal(out, w) for w in windows)
    seen = set()
    for _ in range(60):
        i, j, h, w = T.RandomCrop.get_params(x, (4, 5))
        assert (h, w) == (4, 5) and 0 <= i <= 2 and 0 <= j <= 4
        seen.add((i, j))
    assert len(seen) > 8                                     # covers many positions
    padded = T.RandomCrop(9, padding=2, fill=7)(t(G8)).numpy()
    assert padded.shape == (1, 9, 9)
    full = np.pad(G8, ((0, 0), (2, 2), (2, 2)), constant_values=7)
    assert any(np.array_equal(padded, full[:, i:i + 9, j:j + 9]) for i in range(1)
               for j in range(3))
    need = T.RandomCrop((8, 10), pad_if_needed=True, padding_mode="edge")(t(G8)).numpy()
    assert need.shape == (1, 8, 10)
    assert T.RandomCrop((6, 9))(x) is not None and np.array_equal(
        T.RandomCrop((6, 9))(x).numpy(), U8)
    with pytest.raises(ValueError, match="larger than input image size"):
        T.RandomCrop(7)(x)
    if Image is not None:
        ember.manual_seed(5)
        a = as_np(T.RandomCrop(4, padding=1)(pil(U8)))
        ember.manual_seed(5)
        b = T.RandomCrop(4, padding=1)(x).numpy()
        np.testing.assert_array_equal(a, b)                 # same draws, same crop


def test_random_resized_crop():
    x = t(np.zeros((3, 40, 50), np.float32))
    ember.manual_seed(0)
    for _ in range(30):
        i, j, h, w = T.RandomResizedCrop.get_params(x, (0.08, 1.0), (3 / 4, 4 / 3))
        assert 0 <= i and i + h <= 40 and 0 <= j and j + w <= 50
        assert 0.08 * 2000 * 0.85 <= h * w <= 2000 + 1e-9
        assert 3 / 4 * 0.8 <= w / h <= 4 / 3 * 1.25
    # no box can fit (area > image): fallback to the central crop, ratio clamped
    wide = t(np.zeros((1, 10, 40), np.float32))
    assert T.RandomResizedCrop.get_params(wide, (2.0, 3.0), (3 / 4, 4 / 3)) == (0, 13, 10, 13)
    tall = t(np.zeros((1, 40, 10), np.float32))
    assert T.RandomResizedCrop.get_params(tall, (2.0, 3.0), (3 / 4, 4 / 3)) == (13, 0, 13, 10)
    sq = t(np.zeros((1, 10, 12), np.float32))
    assert T.RandomResizedCrop.get_params(sq, (2.0, 3.0), (3 / 4, 4 / 3)) == (0, 0, 10, 12)
    out = T.RandomResizedCrop((7, 5))(t(F32))
    assert out.shape == (3, 7, 5)
    if Image is not None:
        assert T.RandomResizedCrop(6)(pil(U8)).size == (6, 6)
    with pytest.warns(UserWarning, match="Scale and ratio"):
        T.RandomResizedCrop(4, scale=(1.0, 0.5))


def test_flips():
    x = t(U8)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x).numpy(), U8[:, :, ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1.0)(x).numpy(), U8[:, ::-1])
    assert T.RandomHorizontalFlip(p=0.0)(x) is x and T.RandomVerticalFlip(p=0.0)(x) is x
    ember.manual_seed(3)
    flips = [bool(T.RandomHorizontalFlip()(x).numpy()[0, 0, 0] != U8[0, 0, 0])
             for _ in range(200)]
    assert 60 < sum(flips) < 140
    if Image is not None:
        np.testing.assert_array_equal(as_np(F.hflip(pil(U8))), U8[:, :, ::-1])
        np.testing.assert_array_equal(as_np(F.vflip(pil(U8))), U8[:, ::-1])


# ---------------------------------------------------------------------------------------
# Padding

@pytest.mark.parametrize("padding,np_width", [
    (2, ((2, 2), (2, 2))), ((1, 3), ((3, 3), (1, 1))), ((1, 2, 3, 4), ((2, 4), (1, 3))),
])
@pytest.mark.parametrize("mode,np_mode", [("constant", "constant"), ("edge", "edge"),
                                          ("reflect", "reflect"), ("symmetric", "symmetric")])
def test_pad_modes(padding, np_width, mode, np_mode):
    kw = {"constant_values": 9} if mode == "constant" else {}
    expected = np.pad(U8, ((0, 0),) + np_width, mode=np_mode, **kw)
    out = T.Pad(padding, fill=9, padding_mode=mode)(t(U8))
    assert out.dtype == ember.uint8
    np.testing.assert_array_equal(out.numpy(), expected)
    f = T.Pad(padding, fill=9, padding_mode=mode)(t(F32)).numpy()
    np.testing.assert_array_equal(f, np.pad(F32, ((0, 0),) + np_width, mode=np_mode, **kw))
    if Image is not None:
        np.testing.assert_array_equal(as_np(T.Pad(padding, 9, mode)(pil(U8))), expected)


def test_pad_negative_and_errors():
    # (left, top, right, bottom) = (-1, 2, 0, -2): crop a column and two rows, pad the top
    out = F.pad(t(U8), [-1, 2, 0, -2], padding_mode="symmetric").numpy()
    np.testing.assert_array_equal(out, np.pad(U8[:, :-2, 1:], ((0, 0), (2, 0), (0, 0)),
                                              "symmetric"))
    out = F.pad(t(G8), [-1, 1, 2, 0]).numpy()             # left -1 crops, right +1 pads
    np.testing.assert_array_equal(out, np.pad(G8[:, :, 1:], ((0, 0), (1, 0), (0, 2))))
    with pytest.raises(ValueError, match="Padding must be an int or a 1, 2, or 4"):
        T.Pad((1, 2, 3))
    with pytest.raises(ValueError, match="Padding mode should be"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(TypeError, match="inappropriate fill"):
        F.pad(t(U8), 1, fill=(1, 2, 3))
    if Image is not None:
        img = F.pad(pil(U8), 1, fill=(10, 20, 30))           # per-band fill on PIL
        assert img.getpixel((0, 0)) == (10, 20, 30)


# ---------------------------------------------------------------------------------------
# Rotation and affine warps

@pytest.mark.parametrize("interp", [IM.NEAREST, IM.BILINEAR])
def test_rotate_right_angles(interp):
    sq = RNG.random((2, 5, 5), dtype=np.float32)
    out = F.rotate(t(sq), 90, interp).numpy()             # counter-clockwise
    np.testing.assert_allclose(out, np.rot90(sq, 1, axes=(1, 2)), atol=1e-5)
    out = F.rotate(t(sq), -90, interp).numpy()
    np.testing.assert_allclose(out, np.rot90(sq, -1, axes=(1, 2)), atol=1e-5)
    out = F.rotate(t(U8), 180, interp).numpy()             # any shape for 180 degrees
    np.testing.assert_array_equal(out, U8[:, ::-1, ::-1])
    square = F.rotate(t(sq), 90, interp, expand=True)
    np.testing.assert_allclose(square.numpy(), np.rot90(sq, 1, axes=(1, 2)), atol=1e-5)
    # torchvision's tensor expand measures the rotated box around the input's centre, which
    # for 6x9 at 90 degrees lands on half pixels and rounds out to 10x7 (PIL gives 9x6)
    assert F.rotate(t(U8), 90, interp, expand=True).shape == (3, 10, 7)
    if Image is not None:
        np.testing.assert_array_equal(as_np(F.rotate(pil(U8), 90, interp, expand=True)),
                                      np.rot90(U8, 1, axes=(1, 2)))


def test_rotate_fill_and_center():
    x = np.ones((1, 4, 4), np.float32)
    out = F.rotate(t(x), 45, fill=[5.0]).numpy()[0]
    assert out[0, 0] == 5.0 and out[1, 1] == 1.0           # corners leave the image
    assert F.rotate(t(x), 45).numpy()[0, 0, 0] == 0.0       # no fill: zeros
    # a quarter turn about the top-left pixel centre (0.5, 0.5) keeps it and moves the rest
    imp = np.zeros((1, 4, 4), np.float32)
    imp[0, 0, 2] = 1.0
    out = F.rotate(t(imp), 90, center=(0.5, 0.5)).numpy()[0]
    assert out.sum() == 0.0                                 # (x=2, y=0) -> (x=0, y=-2): gone
    imp[0, 2, 0] = 2.0
    out = F.rotate(t(imp), 90, center=(0.5, 0.5)).numpy()[0]
    assert out[0, 2] == 2.0 and out.sum() == 2.0            # (x=0, y=2) -> (x=2, y=0)
    if Image is not None:
        p = F.rotate(pil((imp * 100).astype(np.uint8)), 90, center=(0.5, 0.5))
        assert as_np(p)[0, 0, 2] == 200
    with pytest.raises(ValueError, match="cannot broadcast to match the number of channels"):
        F.rotate(t(U8), 10, fill=[1.0, 2.0])
    with pytest.raises(ValueError, match="unsupported with Tensor input"):
        F.rotate(t(U8), 10, IM.BICUBIC)
    with pytest.raises(TypeError, match="angle should be int or float"):
        F.rotate(t(U8), "10")


def test_affine_translation_exact():
    out = F.affine(t(U8), 0, (2, 1), 1.0, 0.0, fill=[7.0, 7.0, 7.0]).numpy()
    expected = np.full_like(U8, 7)
    expected[:, 1:, 2:] = U8[:, :-1, :-2]                  # moved right by 2, down by 1
    np.testing.assert_array_equal(out, expected)
    if Image is not None:
        np.testing.assert_array_equal(as_np(F.affine(pil(U8), 0, (2, 1), 1.0, 0.0, fill=7)),
                                      expected)


def test_affine_matrix_properties():
    # scale 2 about the centre, no rotation: output pixel p samples c + (p - c) / 2
    m = F._inverse_affine_matrix([3.0, 3.0], 0.0, [0.0, 0.0], 2.0, [0.0, 0.0])
    np.testing.assert_allclose(m, [0.5, 0, 1.5, 0, 0.5, 1.5], atol=1e-12)
    # rotation + shear + scale: the forward matrix's determinant is scale**2
    m = np.array(F._inverse_affine_matrix([0, 0], 30.0, [0, 0], 1.5, [10.0, -5.0]))
    inv = m.reshape(2, 3)[:, :2]
    assert math.isclose(np.linalg.det(inv), 1 / 1.5 ** 2, rel_tol=1e-12)
    # pure rotation by a (clockwise on screen) maps (1, 0) to (cos a, sin a)
    m = np.array(F._inverse_affine_matrix([0, 0], 30.0, [0, 0], 1.0, [0, 0])).reshape(2, 3)
    fwd = np.linalg.inv(m[:, :2])
    a = math.radians(30)
    np.testing.assert_allclose(fwd @ [1, 0], [math.cos(a), math.sin(a)], atol=1e-12)
    with pytest.raises(ValueError, match="scale should be positive"):
        F.affine(t(U8), 0, (0, 0), 0.0, 0.0)
    with pytest.raises(ValueError, match="translate should be a sequence of length 2"):
        F.affine(t(U8), 0, (0,), 1.0, 0.0)


def test_random_rotation_and_affine():
    x = t(F32)
    ember.manual_seed(7)
    a = T.RandomRotation(30)(x)
    ember.manual_seed(7)
    b = T.RandomRotation(30)(x)
    assert ember.equal(a, b)
    assert T.RandomRotation((90, 90), expand=True)(t(F32[:, :6, :6])).shape == (3, 6, 6)
    ember.manual_seed(0)
    for _ in range(20):
        ang = T.RandomRotation.get_params([-10.0, 25.0])
        assert -10 <= ang <= 25
        angle, (tx, ty), scale, (sx, sy) = T.RandomAffine.get_params(
            [-5.0, 5.0], (0.1, 0.2), (0.8, 1.2), [-3.0, 3.0, -4.0, 4.0], [50, 30])
        assert -5 <= angle <= 5 and abs(tx) <= 5 and abs(ty) <= 6
        assert isinstance(tx, int) and 0.8 <= scale <= 1.2 and -3 <= sx <= 3 and -4 <= sy <= 4
    out = T.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5, fill=1)(x)
    assert out.shape == x.shape
    # degrees 0, no other part: the identity
    assert np.array_equal(T.RandomAffine(0)(t(U8)).numpy(), U8)
    if Image is not None:
        assert T.RandomAffine(20, shear=(1, 2, 3, 4))(pil(U8)).size == (9, 6)
        assert T.RandomRotation(20, fill=(1, 2, 3))(pil(U8)).size == (9, 6)
    with pytest.raises(ValueError, match="translation values should be between 0 and 1"):
        T.RandomAffine(0, translate=(0.5, 2))
    with pytest.raises(ValueError, match="If degrees is a single number, it must be positive"):
        T.RandomRotation(-3)
    with pytest.raises(ValueError, match="shear should be a sequence of length 2 or 4"):
        T.RandomAffine(0, shear=(1, 2, 3))


# ---------------------------------------------------------------------------------------
# Colour

def test_grayscale():
    x = t(U8)
    gray = T.Grayscale()(x)
    expected = (0.2989 * U8[0].astype(np.float32) + 0.587 * U8[1].astype(np.float32)
                + 0.114 * U8[2].astype(np.float32)).astype(np.uint8)
    assert gray.shape == (1, 6, 9) and gray.dtype == ember.uint8
    assert np.abs(gray.numpy()[0].astype(int) - expected.astype(int)).max() <= 1
    three = T.Grayscale(3)(t(F32)).numpy()
    assert three.shape == (3, 6, 9) and np.array_equal(three[0], three[2])
    assert T.Grayscale(3)(t(G8)).shape == (3, 5, 7)
    if Image is not None:
        g = T.Grayscale()(pil(U8))
        assert g.mode == "L"
        assert np.abs(as_np(g).astype(int) - gray.numpy().astype(int)).max() <= 1
        assert T.Grayscale(3)(pil(U8)).mode == "RGB"
    ember.manual_seed(0)
    assert T.RandomGrayscale(p=1.0)(x).shape == (3, 6, 9)
    with pytest.raises(ValueError, match="num_output_channels should be either 1 or 3"):
        T.Grayscale(2)(x)
    with pytest.raises(TypeError, match="permitted channel values are \\[1, 3\\]"):
        T.Grayscale()(t(np.zeros((2, 3, 3), np.uint8)))


def test_brightness_contrast_saturation_values():
    x = t(F32)
    np.testing.assert_allclose(F.adjust_brightness(x, 0.5).numpy(), F32 * 0.5, rtol=1e-6)
    np.testing.assert_allclose(F.adjust_brightness(x, 3.0).numpy(),
                               np.clip(F32 * 3, 0, 1), rtol=1e-6)
    assert F.adjust_brightness(t(U8), 2.0).tolist() == np.clip(
        U8.astype(np.float32) * 2, 0, 255).astype(np.uint8).tolist()
    gray = F.rgb_to_grayscale(x).numpy()
    mean = gray.mean()
    np.testing.assert_allclose(F.adjust_contrast(x, 0.0).numpy(), np.full_like(F32, mean),
                               rtol=1e-5)
    np.testing.assert_allclose(F.adjust_contrast(x, 0.4).numpy(),
                               np.clip(0.4 * F32 + 0.6 * mean, 0, 1), rtol=1e-5)
    np.testing.assert_allclose(F.adjust_saturation(x, 0.0).numpy(),
                               np.broadcast_to(gray, F32.shape), rtol=1e-6)
    np.testing.assert_allclose(F.adjust_saturation(x, 1.5).numpy(),
                               np.clip(1.5 * F32 - 0.5 * gray, 0, 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.adjust_gamma(x, 2.0, 0.5).numpy(), 0.5 * F32 ** 2, rtol=1e-5)
    assert F.adjust_saturation(t(G8), 0.0) is not None      # 1 channel: unchanged
    assert np.array_equal(F.adjust_saturation(t(G8), 0.0).numpy(), G8)
    with pytest.raises(ValueError, match="brightness_factor \\(-1\\) is not non-negative"):
        F.adjust_brightness(x, -1)


def test_hue():
    red = np.zeros((3, 1, 1), np.float32)
    red[0] = 1.0
    np.testing.assert_allclose(F.adjust_hue(t(red), 0.5).numpy().ravel(), [0, 1, 1], atol=1e-6)
    np.testing.assert_allclose(F.adjust_hue(t(red), 1 / 3).numpy().ravel(), [0, 1, 0],
                               atol=1e-5)
    np.testing.assert_allclose(F.adjust_hue(t(F32), 0.0).numpy(), F32, atol=1e-6)
    # a full turn in two halves comes back
    back = F.adjust_hue(F.adjust_hue(t(F32), 0.5), -0.5).numpy()
    np.testing.assert_allclose(back, F32, atol=1e-5)
    u = F.adjust_hue(t(U8), 0.25)
    assert u.dtype == ember.uint8 and u.shape == U8.shape
    assert np.array_equal(F.adjust_hue(t(G8), 0.3).numpy(), G8)
    if Image is not None:
        # Pillow's hue has 256 steps: +0.5 turn is +127 steps, just short of cyan
        p = F.adjust_hue(pil((red * 255).astype(np.uint8)), 0.5)
        assert p.getpixel((0, 0)) == (0, 255, 252)
    with pytest.raises(ValueError, match="hue_factor \\(0.6\\) is not in \\[-0.5, 0.5\\]"):
        F.adjust_hue(t(F32), 0.6)


def test_color_jitter():
    x = t(F32)
    np.testing.assert_allclose(T.ColorJitter(brightness=(0.5, 0.5))(x).numpy(),
                               F.adjust_brightness(x, 0.5).numpy())
    np.testing.assert_allclose(T.ColorJitter(contrast=(1.5, 1.5))(x).numpy(),
                               F.adjust_contrast(x, 1.5).numpy())
    assert T.ColorJitter().brightness is None and T.ColorJitter(0.4).brightness == (0.6, 1.4)
    assert T.ColorJitter(brightness=2).brightness == (0.0, 3.0)      # clipped at 0
    assert T.ColorJitter(hue=0.2).hue == (-0.2, 0.2)
    ember.manual_seed(0)
    orders = set()
    for _ in range(40):
        order, b, c, s, h = T.ColorJitter.get_params((0.6, 1.4), (0.7, 1.3), None, (-0.1, 0.1))
        assert sorted(order.tolist()) == [0, 1, 2, 3]
        orders.add(tuple(order.tolist()))
        assert 0.6 <= b <= 1.4 and 0.7 <= c <= 1.3 and s is None and -0.1 <= h <= 0.1
    assert len(orders) > 10                                          # random order
    jitter = T.ColorJitter(0.4, 0.4, 0.4, 0.1)
    ember.manual_seed(11)
    a = jitter(x)
    ember.manual_seed(11)
    assert ember.equal(a, jitter(x))
    ember.manual_seed(11)
    order, b, c, s, h = T.ColorJitter.get_params(jitter.brightness, jitter.contrast,
                                                 jitter.saturation, jitter.hue)
    fns = {0: (F.adjust_brightness, b), 1: (F.adjust_contrast, c),
           2: (F.adjust_saturation, s), 3: (F.adjust_hue, h)}
    y = x
    for k in order.tolist():
        fn, v = fns[k]
        y = fn(y, v)
    np.testing.assert_allclose(a.numpy(), y.numpy())
    if Image is not None:
        assert T.ColorJitter(0.4, 0.4, 0.4, 0.1)(pil(U8)).mode == "RGB"
    with pytest.raises(ValueError, match="hue values should be between"):
        T.ColorJitter(hue=0.7)
    with pytest.raises(TypeError, match="single number or a list/tuple with length 2"):
        T.ColorJitter(brightness=(1, 2, 3))


# ---------------------------------------------------------------------------------------
# Composition, Lambda, RandomApply / Order / Choice

def test_compose_lambda_random_apply():
    pipeline = T.Compose([T.Lambda(lambda v: v * 2), T.Lambda(lambda v: v + 1)])
    assert pipeline(3) == 7
    assert T.RandomApply([T.Lambda(lambda v: v + 1)], p=1.0)(1) == 2
    assert T.RandomApply([T.Lambda(lambda v: v + 1)], p=0.0)(1) == 1
    ember.manual_seed(2)
    hits = sum(T.RandomApply([T.Lambda(lambda v: v + 1)], p=0.3)(0) for _ in range(300))
    assert 50 < hits < 130
    ember.manual_seed(2)
    order = T.RandomOrder([T.Lambda(lambda s: s + "a"), T.Lambda(lambda s: s + "b")])
    results = {order("") for _ in range(30)}
    assert results == {"ab", "ba"}
    choice = T.RandomChoice([T.Lambda(lambda v: 1), T.Lambda(lambda v: 2)], p=[0.0, 1.0])
    assert {choice(0) for _ in range(10)} == {2}
    with pytest.raises(TypeError, match="lambd should be callable"):
        T.Lambda(3)


# ---------------------------------------------------------------------------------------
# RandomErasing

def test_random_erasing():
    x = t(np.ones((3, 20, 30), np.float32))
    ember.manual_seed(0)
    for _ in range(10):
        out = T.RandomErasing(p=1.0)(x).numpy()
        zero = out[0] == 0
        rows, cols = np.nonzero(zero)
        h, w = np.ptp(rows) + 1, np.ptp(cols) + 1
        assert zero.sum() == h * w                          # one rectangle
        assert 0.02 * 600 * 0.8 <= h * w <= 0.33 * 600 * 1.2
        assert (out == 0).sum() == 3 * h * w
    assert np.array_equal(x.numpy(), np.ones((3, 20, 30)))  # not in place by default
    per_channel = T.RandomErasing(p=1.0, value=(1.0, 2.0, 3.0))(t(np.zeros((3, 8, 8),
                                                                         np.float32)))
    vals = per_channel.numpy()
    assert set(np.unique(vals[1])) <= {0.0, 2.0} and (vals[2] == 3.0).any()
    noise = T.RandomErasing(p=1.0, value="random")(x).numpy()
    assert (noise != 1.0).any()
    y = t(np.ones((1, 8, 8), np.float32))
    assert T.RandomErasing(p=1.0, inplace=True)(y) is y and (y.numpy() == 0).any()
    assert T.RandomErasing(p=0.0)(x) is x
    # no rectangle can fit an image this small: returned unchanged
    tiny = t(np.ones((1, 1, 1), np.float32))
    assert np.array_equal(T.RandomErasing(p=1.0)(tiny).numpy(), np.ones((1, 1, 1)))
    with pytest.raises(TypeError, match="tensor images"):
        T.RandomErasing(p=1.0)(np.ones((3, 4, 4)))
    with pytest.raises(ValueError, match="If value is str, it should be 'random'"):
        T.RandomErasing(value="noise")
    with pytest.raises(ValueError, match="Scale should be between 0 and 1"):
        T.RandomErasing(scale=(0.5, 2.0))
    with pytest.raises(ValueError, match="either a single value or 3"):
        T.RandomErasing(p=1.0, value=(1.0, 2.0))(x)


# ---------------------------------------------------------------------------------------
# Determinism, pipelines, reprs

def test_manual_seed_reproduces_pipeline():
    pipeline = T.Compose([
        T.RandomResizedCrop(5, scale=(0.5, 1.0)), T.RandomHorizontalFlip(),
        T.ColorJitter(0.3, 0.3, 0.3, 0.05), T.RandomRotation(10), T.RandomErasing(p=0.5)])
    x = t(F32)
    ember.manual_seed(123)
    a = [pipeline(x) for _ in range(4)]
    ember.manual_seed(123)
    b = [pipeline(x) for _ in range(4)]
    assert all(ember.equal(u, v) for u, v in zip(a, b))
    assert not all(ember.equal(a[0], u) for u in a[1:])
    g = ember.Generator().manual_seed(1)
    del g


@needs_pil
def test_pil_pipeline_like_torchvision_quickstart():
    pipeline = T.Compose([T.RandomCrop(28, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                          T.Normalize((0.1307,), (0.3081,))])
    img = Image.fromarray(RNG.integers(0, 256, (28, 28), dtype=np.uint8))
    out = pipeline(img)
    assert out.shape == (1, 28, 28) and out.dtype == ember.float32


def test_transforms_pickle():
    # DataLoader workers receive the dataset (and its transforms) by pickling
    pipeline = T.Compose([T.Resize(4), T.RandomCrop(3), T.Normalize((0.5,), (0.5,))])
    clone = pickle.loads(pickle.dumps(pipeline))
    assert repr(clone) == repr(pipeline)
    ember.manual_seed(0)
    a = pipeline(t(F32))
    ember.manual_seed(0)
    assert ember.equal(a, clone(t(F32)))


REPRS = [
    (T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))]),
     "Compose(\n    ToTensor()\n    Normalize(mean=(0.1307,), std=(0.3081,))\n)"),
    (T.Resize(32), "Resize(size=32, interpolation=bilinear, max_size=None, antialias=True)"),
    (T.CenterCrop(10), "CenterCrop(size=(10, 10))"),
    (T.Pad((1, 2), fill=4, padding_mode="reflect"),
     "Pad(padding=(1, 2), fill=4, padding_mode=reflect)"),
    (T.RandomCrop(28, padding=4), "RandomCrop(size=(28, 28), padding=4)"),
    (T.RandomResizedCrop(224),
     ("RandomResizedCrop(size=(224, 224), scale=(0.08, 1.0), ratio=(0.75, 1.3333), "
      "interpolation=bilinear, antialias=True)")),
    (T.RandomHorizontalFlip(), "RandomHorizontalFlip(p=0.5)"),
    (T.RandomRotation(30),
     "RandomRotation(degrees=[-30.0, 30.0], interpolation=nearest, expand=False, fill=0)"),
    (T.RandomAffine(0, translate=(0.1, 0.2), scale=(0.9, 1.1), shear=5,
                    interpolation=IM.BILINEAR, fill=3),
     ("RandomAffine(degrees=[0.0, 0.0], translate=(0.1, 0.2), scale=(0.9, 1.1), "
      "shear=[-5.0, 5.0], interpolation=bilinear, fill=3)")),
    (T.ColorJitter(0.4, 0.4, 0.4, 0.1),
     ("ColorJitter(brightness=(0.6, 1.4), contrast=(0.6, 1.4), saturation=(0.6, 1.4), "
      "hue=(-0.1, 0.1))")),
    (T.Grayscale(3), "Grayscale(num_output_channels=3)"),
    (T.RandomErasing(),
     "RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False)"),
    (T.RandomApply([T.RandomHorizontalFlip()], p=0.3),
     "RandomApply(\n    p=0.3\n    RandomHorizontalFlip(p=0.5)\n)"),
    (T.ToPILImage(), "ToPILImage()"),
    (T.Lambda(abs), "Lambda()"),
    (T.ConvertImageDtype(ember.float32), "ConvertImageDtype()"),
]


@pytest.mark.parametrize("transform,expected", REPRS, ids=[r[1].split("(")[0] for r in REPRS])
def test_reprs(transform, expected):
    assert repr(transform) == expected
