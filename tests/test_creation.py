"""Tensor creation against PyTorch: tensor()/as_tensor()/asarray()/from_numpy() dtype
inference and memory sharing, the shape constructors, ranges (arange/range/linspace/logspace
edge cases, bit-exact values), complex/polar with gradients, and PyTorch's errors."""
import math
import warnings

import numpy as np
import pytest
from oracle import assert_close, requires_torch, torch

import ember
from ember._device import BackendUnavailableError

pytestmark = requires_torch


def same(ours, theirs, exact=True):
    """Values, dtype and shape equal (bit-exact unless ``exact`` is False)."""
    assert isinstance(ours, ember.Tensor), type(ours)
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", ""), (ours.dtype,
                                                                          theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape), (tuple(ours.shape), tuple(theirs.shape))
    assert ours.requires_grad == theirs.requires_grad
    a, b = ours.detach().numpy(), theirs.detach().numpy()
    if exact:
        np.testing.assert_array_equal(a, b)
    else:
        assert_close(ours.detach(), theirs.detach())


def both(fn):
    """Run ``fn(module)`` with ember and with torch, silencing warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(ember), fn(torch)


def agree(fn, exact=True):
    """``fn(module)`` gives the same tensor in ember and torch, or raises the same type."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            theirs = fn(torch)
        except Exception as e:  # noqa: BLE001 (whatever torch raises, ember must too)
            with pytest.raises(type(e)):
                fn(ember)
            return
        same(fn(ember), theirs, exact)


def raises_like(fn, match=None):
    """``fn(module)`` raises the same exception type in ember as in torch."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as t_exc:
            fn(torch)
        with pytest.raises(type(t_exc.value), match=match):
            fn(ember)


# ---------------------------------------------------------------------------------------
# tensor(): dtype inference

DATA = [
    lambda m: 1, lambda m: 2.5, lambda m: True, lambda m: 1 + 2j, lambda m: -7,
    lambda m: [1, 2, 3], lambda m: [1, 2.5], lambda m: [True, 1], lambda m: [True, 1.5],
    lambda m: [True, False], lambda m: [1, 2 + 1j], lambda m: [True, 1.5 + 1j],
    lambda m: [[1, 2], [3, 4]], lambda m: ((1, 2), (3, 4)), lambda m: [[1], (2,)],
    lambda m: [], lambda m: [[], []], lambda m: [[[]]], lambda m: [[], [1]],
    lambda m: range(4), lambda m: [float("nan"), float("inf"), -0.0],
    lambda m: [[1e40]], lambda m: [0.1, 0.2, 0.3], lambda m: [2 ** 62, -2 ** 62],
    lambda m: np.float64(1.5), lambda m: np.float32(1.5), lambda m: np.int32(3),
    lambda m: np.int16(3), lambda m: np.bool_(True), lambda m: [np.float64(1.0)],
    lambda m: [np.float32(1.0), 2], lambda m: [np.int32(1)], lambda m: [np.bool_(True)],
    lambda m: [np.float16(1), 1.0], lambda m: [np.float64(1.0), np.float32(2.0)],
    lambda m: np.array([1, 2], dtype=np.int32), lambda m: np.array([[1.5, 2]]),
    lambda m: np.array([1, 2], dtype=np.uint8), lambda m: np.array(3.5, dtype=np.float32),
    lambda m: np.array([[1, 2], [3, 4]]).T, lambda m: np.zeros((0, 3), dtype=np.int8),
    lambda m: [np.array([1, 2]), np.array([3, 4])], lambda m: [[1, 2], np.array([3, 4])],
    lambda m: [np.array([1, 2]), [3, 4.5]],
    lambda m: [m.tensor(1.5, dtype=m.float64)], lambda m: [m.tensor(1), 2.5],
    lambda m: [m.tensor(1), m.tensor(2)], lambda m: [m.tensor(1.0, dtype=m.float16), 1],
    lambda m: [m.tensor(1, dtype=m.int32), 5], lambda m: [m.tensor(1, dtype=m.int32),
                                                         np.int16(5)],
    lambda m: [m.tensor(1, dtype=m.uint8), np.int8(5)], lambda m: [m.tensor([1.0])],
    lambda m: [[m.tensor(1.0), m.tensor(2.0)], [m.tensor(3.0), 4]],
    lambda m: m.Size([2, 3]), lambda m: m.tensor([1.0, 2.0]), lambda m: m.tensor([1, 2]),
]


@pytest.mark.parametrize("i", range(len(DATA)))
def test_tensor_inference(i):
    ours, theirs = both(lambda m: m.tensor(DATA[i](m)))
    same(ours, theirs)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int8",
                                   "uint8", "bool", "complex64", "complex128"])
@pytest.mark.parametrize("data", [[1, 2, 3], [[0.5, -1.5], [2.25, 0.0]], [True, False],
                                  [1, 2.7, -3.9], 3, 0.1, [-1, 200]])
def test_tensor_explicit_dtype(dtype, data):
    agree(lambda m: m.tensor(data, dtype=getattr(m, dtype)))


def test_tensor_float64_data_is_not_rounded_twice():
    # Python floats must be converted once, straight to the requested dtype
    assert ember.tensor([0.1], dtype=ember.float64).item() == 0.1
    ember.set_default_dtype(ember.float64)
    try:
        t = ember.tensor([0.1, 1])
        assert t.dtype is ember.float64 and t[0].item() == 0.1
        assert ember.tensor(1 + 1j).dtype is ember.complex128
    finally:
        ember.set_default_dtype(ember.float32)


def test_tensor_copies_and_detaches():
    arr = np.array([1.0, 2.0])
    t = ember.tensor(arr)
    arr[0] = 5
    assert t[0].item() == 1.0
    src = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="detach"):
        c = ember.tensor(src * 2)
    assert c.is_leaf and not c.requires_grad and c.tolist() == [2.0, 4.0]
    c[0] = 9.0
    assert src.tolist() == [1.0, 2.0]
    r = ember.tensor([1.0], requires_grad=True)
    assert r.requires_grad and r.is_leaf


def test_tensor_from_a_large_list_of_floats():
    data = list(np.random.default_rng(0).standard_normal(200_000))
    data = [float(x) for x in data]
    t = ember.tensor(data)
    assert t.dtype is ember.float32 and t.shape == (200_000,)
    np.testing.assert_array_equal(t.numpy(), np.array(data, dtype=np.float32))


TENSOR_ERRORS = [
    (lambda m: m.tensor([[1, 2], [1, 2, 3]]), "expected sequence of length 2 at dim 1 \\(got 3\\)"),
    (lambda m: m.tensor([[1, 2], [3]]), "expected sequence of length 2 at dim 1 \\(got 1\\)"),
    (lambda m: m.tensor([[[1, 2]], [[3, 4, 5]]]), "at dim 2 \\(got 3\\)"),
    (lambda m: m.tensor([[1, 2], []]), "at dim 1 \\(got 0\\)"),
    (lambda m: m.tensor([[1, 2], 3]), "not a sequence"),
    (lambda m: m.tensor([1, [2, 3]]), None),
    (lambda m: m.tensor("a"), "str"),
    (lambda m: m.tensor(["a"]), "str"),
    (lambda m: m.tensor([1, "a"]), "str"),
    (lambda m: m.tensor(None), "NoneType"),
    (lambda m: m.tensor([1, None]), "NoneType"),
    (lambda m: m.tensor([object()]), "object"),
    (lambda m: m.tensor(np.array(["a"])), "numpy.str_"),
    (lambda m: m.tensor(np.array([1, 2], dtype=object)), "object"),
    (lambda m: m.tensor(2 ** 63), "Overflow"),
    (lambda m: m.tensor([-2 ** 63 - 1]), "Overflow"),
    (lambda m: m.tensor([300], dtype=m.int8), "without overflow"),
    (lambda m: m.tensor([-300], dtype=m.uint8), "without overflow"),
    (lambda m: m.tensor([-1.0], dtype=m.uint8), "without overflow"),
    (lambda m: m.tensor([float("nan")], dtype=m.int64), "without overflow"),
    (lambda m: m.tensor([1e20], dtype=m.int64), "without overflow"),
    (lambda m: m.tensor([1 + 2j], dtype=m.float32), "complex"),
    (lambda m: m.tensor([m.tensor([1, 2]), m.tensor([3, 4])]), None),
    (lambda m: m.tensor([[1], [2]], requires_grad=True), "floating point"),
    (lambda m: m.tensor([1.0], device="cuda"), None),
]


@pytest.mark.parametrize("i", range(len(TENSOR_ERRORS)))
def test_tensor_errors(i):
    fn, match = TENSOR_ERRORS[i]
    raises_like(fn, match)


def test_unsupported_numpy_dtypes_are_refused():
    for dt in (np.uint16, np.uint32, np.uint64):   # torch has these; ember does not
        with pytest.raises(TypeError, match="can't convert np.ndarray"):
            ember.tensor(np.array([1], dtype=dt))
        with pytest.raises(TypeError, match="can't convert np.ndarray"):
            ember.from_numpy(np.array([1], dtype=dt))


# ---------------------------------------------------------------------------------------
# as_tensor / asarray / from_numpy: memory sharing

def test_from_numpy_shares_memory():
    for dt in (np.float32, np.float64, np.int64, np.int32, np.int16, np.int8, np.uint8,
               np.bool_, np.float16, np.complex64, np.complex128):
        arr = np.zeros((2, 3), dtype=dt)
        t = ember.from_numpy(arr)
        assert t.dtype.name == np.dtype(dt).name
        arr[0, 1] = 1
        assert t[0, 1].item() == 1
        t[1, 2] = 1
        assert arr[1, 2] == 1
    strided = np.arange(12.0).reshape(3, 4)[:, ::2]
    t = ember.from_numpy(strided)
    strided[0, 0] = -1
    assert t[0, 0].item() == -1
    with pytest.raises(TypeError, match="expected np.ndarray"):
        ember.from_numpy([1, 2])
    with pytest.raises(ValueError, match="byte order"):
        ember.from_numpy(np.array([1.0], dtype=">f8"))
    ro = np.array([1.0])
    ro.flags.writeable = False
    with pytest.warns(UserWarning, match="not writable"):
        ember.from_numpy(ro)


def test_as_tensor():
    arr = np.array([1.0, 2.0])
    t = ember.as_tensor(arr)
    arr[0] = 5
    assert t[0].item() == 5 and t.dtype is ember.float64
    c = ember.as_tensor(arr, dtype=ember.float32)
    arr[1] = 7
    assert c.tolist() == [5.0, 2.0] and c.dtype is ember.float32
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    assert ember.as_tensor(x) is x
    y = ember.as_tensor(x, dtype=ember.float64)
    assert y.dtype is ember.float64 and y.grad_fn is not None
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    for data in ([1, 2], [1.5, 2], (True,), 3, np.int32(4)):
        same(*both(lambda m, data=data: m.as_tensor(data)))
    with pytest.raises(BackendUnavailableError):
        ember.as_tensor([1.0], device="cuda")


def test_asarray():
    arr = np.array([1.0, 2.0])
    t = ember.asarray(arr)
    t[0] = 5
    assert arr[0] == 5
    c = ember.asarray(arr, dtype=ember.float32)
    c[1] = 9
    assert arr[1] == 2.0
    assert ember.asarray(arr, copy=True).numpy() is not arr
    with pytest.raises(ValueError, match="can't alias"):
        ember.asarray(arr, dtype=ember.float32, copy=False)
    with pytest.raises(ValueError, match="can't alias arbitrary sequence"):
        ember.asarray([1, 2], copy=False)
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    assert ember.asarray(x) is x
    with pytest.raises(ValueError, match="can't alias tensor"):
        ember.asarray(x, dtype=ember.float64, copy=False)
    c = ember.asarray(x, copy=True)
    assert c.grad_fn.name() == "CloneBackward0" and c.data_ptr() != x.data_ptr()
    a = ember.asarray(x.detach(), requires_grad=True)
    assert a.requires_grad and a.is_leaf and a.data_ptr() == x.data_ptr()
    for data in ([1, 2], [1, 2.0], 3.5, 3, np.float64(3.5), np.array(3.5), range(3)):
        same(*both(lambda m, data=data: m.asarray(data)))


# ---------------------------------------------------------------------------------------
# shape constructors

SHAPED = [
    lambda m: m.zeros(2, 3), lambda m: m.zeros((2, 3)), lambda m: m.zeros([2, 3]),
    lambda m: m.zeros(m.Size([2, 3])), lambda m: m.zeros(()), lambda m: m.zeros([]),
    lambda m: m.zeros(size=(2, 3)), lambda m: m.zeros(np.int64(2)),
    lambda m: m.zeros(m.tensor(2)), lambda m: m.zeros((2, True)), lambda m: m.zeros(0, 3),
    lambda m: m.zeros(2, dtype=m.int32), lambda m: m.zeros(2, requires_grad=True),
    lambda m: m.zeros(2, 3, device="cpu"), lambda m: m.zeros(2, device=m.device("cpu")),
    lambda m: m.ones(2, 3), lambda m: m.ones(2, dtype=m.bool), lambda m: m.ones((1, 2, 1)),
    lambda m: m.ones(3, dtype=m.complex64), lambda m: m.ones(2, dtype=m.float16),
    lambda m: m.empty(2, 3).fill_(0.0) if hasattr(m.Tensor, "fill_") else m.zeros(2, 3),
    lambda m: m.empty(0, dtype=m.int64), lambda m: m.empty((2, 0), requires_grad=True),
    lambda m: m.full((2,), 1), lambda m: m.full((2,), True), lambda m: m.full((2,), 1.5),
    lambda m: m.full((2,), 1 + 1j), lambda m: m.full([2, 2], 3.0),
    lambda m: m.full((2,), np.float64(3.0)), lambda m: m.full((2,), m.tensor(3.0)),
    lambda m: m.full((2,), m.tensor(3)), lambda m: m.full((2,), 3, dtype=m.float16),
    lambda m: m.full((2,), 1.5, dtype=m.int64), lambda m: m.full((2,), -1, dtype=m.uint8),
    lambda m: m.full((), 2.0, requires_grad=True), lambda m: m.full((0, 2), 7),
    lambda m: m.scalar_tensor(3), lambda m: m.scalar_tensor(3.5, dtype=m.float64),
    lambda m: m.scalar_tensor(True), lambda m: m.scalar_tensor(np.float64(3)),
    lambda m: m.scalar_tensor(m.tensor(3)),
    lambda m: m.eye(3), lambda m: m.eye(2, 3), lambda m: m.eye(3, 2), lambda m: m.eye(0),
    lambda m: m.eye(3, dtype=m.int64), lambda m: m.eye(2, m=3), lambda m: m.eye(n=2),
    lambda m: m.eye(2, requires_grad=True), lambda m: m.eye(1, 0),
]


@pytest.mark.parametrize("i", range(len(SHAPED)))
def test_shape_constructors(i):
    same(*both(SHAPED[i]))


LIKE = [
    lambda m, x: m.zeros_like(x), lambda m, x: m.ones_like(x), lambda m, x: m.full_like(x, 2.7),
    lambda m, x: m.full_like(x, 2), lambda m, x: m.full_like(x, True),
    lambda m, x: m.zeros_like(x, dtype=m.float64), lambda m, x: m.ones_like(x, dtype=m.int8),
    lambda m, x: m.full_like(x, 2.7, dtype=m.float64),
    lambda m, x: m.empty_like(x).shape, lambda m, x: m.empty_like(x, dtype=m.int32).dtype,
]


@pytest.mark.parametrize("i", range(len(LIKE)))
@pytest.mark.parametrize("src", [np.array([1, 2]), np.array([[1.0, 2.0]], dtype=np.float32),
                                 np.zeros((0, 2)), np.array(True), np.ones((2, 3)).T])
def test_like_constructors(i, src):
    ours = LIKE[i](ember, ember.from_numpy(src.copy()))
    theirs = LIKE[i](torch, torch.from_numpy(src.copy()))
    if isinstance(theirs, torch.Tensor):
        same(ours, theirs)
    else:
        assert str(ours).replace("ember", "torch") == str(theirs)


def test_like_requires_grad_and_layout():
    x = ember.zeros(2, 3, requires_grad=True)
    y = ember.zeros_like(x)
    assert not y.requires_grad and y.is_leaf
    assert ember.ones_like(x, requires_grad=True).requires_grad
    t = ember.zeros(2, 3).T if hasattr(ember.Tensor, "T") else None
    if t is not None:          # *_like keeps the input's memory layout, as torch does
        assert ember.zeros_like(t).stride() == torch.zeros_like(torch.zeros(2, 3).T).stride()


SHAPED_ERRORS = [
    (lambda m: m.zeros(), "size"), (lambda m: m.zeros(2, -1), None),
    (lambda m: m.zeros(2.5), "tuple of ints"), (lambda m: m.zeros((2.0,)), "float"),
    (lambda m: m.zeros(True), "bool"), (lambda m: m.ones(-1), "negative dimension -1"),
    (lambda m: m.empty(-1), "negative dimension"), (lambda m: m.full((-1,), 2), "negative"),
    (lambda m: m.full(2, 3.0), "tuple of ints"), (lambda m: m.full((2,), "a"), "Number"),
    (lambda m: m.full((2,), None), "Number"),
    (lambda m: m.full((2,), float("nan"), dtype=m.int64), "without overflow"),
    (lambda m: m.full((1,), -1.0, dtype=m.uint8), "without overflow"),
    (lambda m: m.full((1,), 300, dtype=m.uint8), "without overflow"),
    (lambda m: m.full((1,), 1e10, dtype=m.int32), "without overflow"),
    (lambda m: m.full((1,), 1e40, dtype=m.float32), "without overflow"),
    (lambda m: m.full_like(m.zeros(2), 1 + 2j), "without overflow"),
    (lambda m: m.zeros(2, dtype=m.int32, requires_grad=True), "floating point"),
    (lambda m: m.zeros_like([1, 2]), "must be Tensor"),
    (lambda m: m.eye(-1), "n must be greater or equal to 0, got -1"),
    (lambda m: m.eye(2, -1), "m must be greater or equal to 0, got -1"),
    (lambda m: m.eye(2.5), "must be int"), (lambda m: m.eye(2, 2.5), None),
    (lambda m: m.scalar_tensor("a"), "Number"),
    (lambda m: m.zeros(2, 3, device="cuda"), None),
    (lambda m: m.randn(2, device="cuda"), None),
]


@pytest.mark.parametrize("i", range(len(SHAPED_ERRORS)))
def test_shape_constructor_errors(i):
    fn, match = SHAPED_ERRORS[i]
    raises_like(fn, match)


def test_cuda_device_error_is_backend_unavailable():
    with pytest.raises(BackendUnavailableError, match="CUDA"):
        ember.zeros(2, device="cuda")
    with pytest.raises(BackendUnavailableError):
        ember.arange(3, device="cuda:0")


def test_out_argument():
    out = ember.empty(0)
    r = ember.zeros(2, 3, out=out)
    assert r is out and out.shape == (2, 3) and out.sum().item() == 0
    out = ember.ones(4, dtype=ember.int64)
    ember.full((4,), 7, out=out)
    assert out.tolist() == [7] * 4 and out.dtype is ember.int64
    out = ember.zeros(3, dtype=ember.int64)
    assert ember.zeros(2, out=out).dtype is ember.int64
    with pytest.raises(RuntimeError, match="dtype Double does not match dtype of out "
                                           "parameter \\(Long\\)"):
        ember.zeros(2, dtype=ember.float64, out=ember.zeros(3, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="out=... arguments don't support automatic"):
        ember.zeros(2, out=ember.zeros(3, requires_grad=True))
    out = ember.zeros(5)
    with pytest.warns(UserWarning, match="resized"):
        ember.arange(3, out=out)
    assert out.tolist() == [0.0, 1.0, 2.0]
    same(ember.eye(2, out=ember.zeros(5)), torch.eye(2, out=torch.zeros(5)))
    same(ember.linspace(0, 1, 3, out=ember.zeros(5, dtype=ember.float64)),
         torch.linspace(0, 1, 3, out=torch.zeros(5, dtype=torch.float64)))
    same(ember.full((2,), 1.5, out=ember.zeros(3, dtype=ember.int64)),
         torch.full((2,), 1.5, out=torch.zeros(3, dtype=torch.int64)))
    # same shape: written in place, so views see it
    base = ember.zeros(2, 3)
    view = base[0]
    ember.ones(3, out=view)
    assert base.tolist() == [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]


def test_empty_strided():
    t = ember.empty_strided((2, 3), (1, 2))
    assert t.shape == (2, 3) and t.stride() == (1, 2)
    assert ember.empty_strided((2, 0), (1, 1)).shape == (2, 0)


# ---------------------------------------------------------------------------------------
# ranges

RANGES = [
    lambda m: m.arange(5), lambda m: m.arange(1, 4), lambda m: m.arange(1, 4, 0.5),
    lambda m: m.arange(0, 1, 0.1), lambda m: m.arange(1.0, 4), lambda m: m.arange(0, 0.3, 0.1),
    lambda m: m.arange(5, dtype=m.float64), lambda m: m.arange(0, -3, -1),
    lambda m: m.arange(3, 3), lambda m: m.arange(0.0, 1.0, 0.3), lambda m: m.arange(True),
    lambda m: m.arange(m.tensor(3)), lambda m: m.arange(m.tensor(3.0)),
    lambda m: m.arange(m.tensor(3.0, dtype=m.float64)), lambda m: m.arange(np.int64(3)),
    lambda m: m.arange(np.float32(3)), lambda m: m.arange(1, 4, m.tensor(0.5)),
    lambda m: m.arange(0, 10, 3, dtype=m.float32), lambda m: m.arange(0.5, 3, dtype=m.int64),
    lambda m: m.arange(0.5, 3.7, dtype=m.int64), lambda m: m.arange(-2.5, 3.7, 1.9, dtype=m.int64),
    lambda m: m.arange(0.5, 3.7, dtype=m.int16), lambda m: m.arange(0, 2, 0.5, dtype=m.int32),
    lambda m: m.arange(-2.154, 10.88, 1.633, dtype=m.int32),
    lambda m: m.arange(-5, 5, dtype=m.uint8), lambda m: m.arange(0, 300, 50, dtype=m.uint8),
    lambda m: m.arange(2 ** 53, 2 ** 53 + 4), lambda m: m.arange(0, 1, 0.25, dtype=m.float16),
    lambda m: m.arange(end=5), lambda m: m.arange(start=1, end=5),
    lambda m: m.arange(0.0, 5, 1, requires_grad=True), lambda m: m.arange(-3.3, 7.9, 0.01),
    lambda m: m.arange(10.0, -10.0, -0.37, dtype=m.float64),
    lambda m: m.arange(0, 1000, 0.37), lambda m: m.arange(-1, 1, 1e-3, dtype=m.float16),
    lambda m: m.range(1, 4), lambda m: m.range(1, 4, 0.5), lambda m: m.range(0, 1, 0.1),
    lambda m: m.range(1, 4, dtype=m.int64), lambda m: m.range(0, 0), lambda m: m.range(3, 0, -1),
    lambda m: m.range(0, 3, 0.7, dtype=m.float64),
    lambda m: m.linspace(0, 1, 5), lambda m: m.linspace(0, 1, 1), lambda m: m.linspace(0, 1, 0),
    lambda m: m.linspace(0, 10, 5, dtype=m.int64), lambda m: m.linspace(0, 10, 4, dtype=m.int64),
    lambda m: m.linspace(-10, 10, 7, dtype=m.int64), lambda m: m.linspace(0, 1, 6, dtype=m.float64),
    lambda m: m.linspace(m.tensor(0.0), m.tensor(1.0), 3), lambda m: m.linspace(1, 10, 3),
    lambda m: m.linspace(0, 1, m.tensor(3)), lambda m: m.linspace(0, 1, np.int64(3)),
    lambda m: m.linspace(-10.0, 20.05, 20), lambda m: m.linspace(-7.3, 11.1, 1001),
    lambda m: m.linspace(3.3, -1.7, 77, dtype=m.float64),
    lambda m: m.linspace(0, 1, 3, requires_grad=True),
    lambda m: m.linspace(-10, 6, 38, dtype=m.uint8), lambda m: m.linspace(-5, 3, 1, dtype=m.uint8),
    lambda m: m.linspace(1493.4, 30.28, 23, dtype=m.float16),
    lambda m: m.linspace(0, 1 + 1j, 3), lambda m: m.linspace(20.84, -47.3, 0, dtype=m.uint8),
    lambda m: m.logspace(0, 2, 3), lambda m: m.logspace(0, 2, 3, base=2),
    lambda m: m.logspace(0, 3, 4, dtype=m.int64),
    lambda m: m.logspace(0, 2, 3, base=2.5, dtype=m.float64),
    lambda m: m.logspace(0, 2, 3, base=0), lambda m: m.logspace(0, 2, 1),
    lambda m: m.logspace(2, 0, 3, base=-2), lambda m: m.logspace(0, 3, 4, dtype=m.uint8),
    lambda m: m.logspace(-0.5, 3, 4, dtype=m.int64), lambda m: m.logspace(-5, 3, 1, dtype=m.uint8),
    lambda m: m.logspace(-2.0, 2.0, 9, dtype=m.float64),
]

# logspace values go through pow(), whose last bit is the C library's; compare those closely
_INEXACT = {i for i, f in enumerate(RANGES) if "logspace" in f.__code__.co_names}


@pytest.mark.parametrize("i", range(len(RANGES)))
def test_ranges(i):
    ours, theirs = both(RANGES[i])
    same(ours, theirs, exact=i not in _INEXACT)


def test_arange_and_linspace_bit_exact_fuzz():
    """Random bounds and steps: the same count and the same bits as PyTorch (the values
    reproduce its vectorised kernel, up to 32768 elements)."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        s, e = (float(np.round(rng.normal() * 20, int(rng.integers(0, 4)))) for _ in range(2))
        step = float(np.round(abs(rng.normal()), 3)) + 0.001
        if e < s:
            s, e = e, s
        if rng.random() < 0.3:
            s, e, step = e, s, -step
        n = int(rng.integers(0, 200))
        for dt in ("float32", "float64", "float16", "int64", "int32"):
            agree(lambda m, s=s, e=e, step=step, dt=dt:
                  m.arange(s, e, step, dtype=getattr(m, dt)))
        for dt in ("float32", "float64", "float16", "int64", "uint8"):
            agree(lambda m, s=s, e=e, n=n, dt=dt: m.linspace(s, e, n, dtype=getattr(m, dt)))
        agree(lambda m, s=s, e=e, n=n: m.logspace(s / 10, e / 10, n), exact=False)


RANGE_ERRORS = [
    (lambda m: m.arange(0, 3, -1), "upper bound and lower bound inconsistent with step sign"),
    (lambda m: m.arange(3, 0), "inconsistent with step sign"),
    (lambda m: m.arange(0, 3, 0), "step must be nonzero"),
    (lambda m: m.arange(0.0, 3.0, 0.0), "step must be nonzero"),
    (lambda m: m.arange(0, 2, 0.5, dtype=m.int64), "step must be nonzero"),
    (lambda m: m.arange(0, 2, -0.0003, dtype=m.int64), "inconsistent"),
    (lambda m: m.arange(float("inf")), "unsupported range"),
    (lambda m: m.arange(float("nan")), "unsupported range"),
    (lambda m: m.arange("a"), "Number"), (lambda m: m.arange(None), "Number"),
    (lambda m: m.arange(10, dtype=m.bool), "Bool"),
    (lambda m: m.arange(0, 5, 1, requires_grad=True), "floating point"),
    (lambda m: m.arange(0, 3, dtype=m.int64, out=m.zeros(2)), "does not match"),
    (lambda m: m.range(0, 3, -1), "inconsistent"), (lambda m: m.range(0, 3, 0), "nonzero"),
    (lambda m: m.linspace(0, 1, -1), "number of steps must be non-negative"),
    (lambda m: m.linspace(0, 1), None), (lambda m: m.linspace(0, 1, 2.0), None),
    (lambda m: m.linspace(m.tensor([0.0]), 1, 3), "0-dimensional"),
    (lambda m: m.linspace(0, 10, 5, dtype=m.int64, requires_grad=True), "floating point"),
    (lambda m: m.linspace(-0.5, 5, 3, dtype=m.uint8), "without overflow"),
    (lambda m: m.linspace(0, 255.5, 3, dtype=m.uint8), "without overflow"),
    (lambda m: m.linspace(0, 2 ** 31, 3, dtype=m.int32), "without overflow"),
    (lambda m: m.logspace(3, -5, 1, dtype=m.uint8), "without overflow"),
]


@pytest.mark.parametrize("i", range(len(RANGE_ERRORS)))
def test_range_errors(i):
    fn, match = RANGE_ERRORS[i]
    raises_like(fn, match)


def test_range_is_deprecated():
    with pytest.warns(UserWarning, match="deprecated"):
        ember.range(0, 2)


# ---------------------------------------------------------------------------------------
# complex / polar

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 1), (3,)), ((), (2,))])
def test_complex_and_polar_with_grad(dtype, shapes):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(shapes[0]).astype(dtype)
    b = rng.standard_normal(shapes[1]).astype(dtype)
    out_shape = np.broadcast_shapes(a.shape, b.shape)
    g = (rng.standard_normal(out_shape) + 1j * rng.standard_normal(out_shape)).astype(
        np.complex64 if dtype == "float32" else np.complex128)
    for name in ("complex", "polar"):
        if name == "polar":        # polar's abs is non-negative (torch's gradient for a
            a = np.abs(a) + 0.1    # negative abs uses the sign of the result)
        ea, eb = (ember.tensor(x, requires_grad=True) for x in (a, b))
        ta, tb = (torch.tensor(x, requires_grad=True) for x in (a, b))
        eo, to = getattr(ember, name)(ea, eb), getattr(torch, name)(ta, tb)
        same(eo, to, exact=False)
        assert eo.grad_fn.name() == type(to.grad_fn).__name__
        eg = ember.autograd.grad(eo, [ea, eb], ember.tensor(g))
        tg = torch.autograd.grad(to, [ta, tb], torch.tensor(g))
        for x, y in zip(eg, tg):
            assert_close(x, y)


def test_complex_double_backward():
    a = ember.tensor([0.5, 1.5], dtype=ember.float64, requires_grad=True)
    b = ember.tensor([2.0, 0.3], dtype=ember.float64, requires_grad=True)
    g = ember.tensor([1 + 2j, -1j], dtype=ember.complex128, requires_grad=True)
    ga, = ember.autograd.grad(ember.polar(a, b), [a], g, create_graph=True)
    ta = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    tb = torch.tensor([2.0, 0.3], dtype=torch.float64, requires_grad=True)
    tgo = torch.tensor([1 + 2j, -1j], dtype=torch.complex128, requires_grad=True)
    tga, = torch.autograd.grad(torch.polar(ta, tb), [ta], tgo, create_graph=True)
    assert_close(ga, tga)
    e2 = ember.autograd.grad(ga.sum(), [b, g])
    t2 = torch.autograd.grad(tga.sum(), [tb, tgo])
    for x, y in zip(e2, t2):
        assert_close(x, y.resolve_conj())


COMPLEX_ERRORS = [
    (lambda m: m.complex(m.tensor([1.0, 2]), m.tensor([3.0, 4], dtype=m.float64)),
     "Expected object of scalar type Float but got scalar type Double"),
    (lambda m: m.complex(m.tensor([1, 2]), m.tensor([3, 4])),
     "Expected both inputs to be Half, Float or Double tensors but got Long and Long"),
    (lambda m: m.complex(m.zeros(2), m.zeros(3)), "must match the size"),
    (lambda m: m.polar(m.tensor([1, 2]), m.tensor([0, 1])), "Half, Float or Double"),
]


@pytest.mark.parametrize("i", range(len(COMPLEX_ERRORS)))
def test_complex_errors(i):
    fn, match = COMPLEX_ERRORS[i]
    raises_like(fn, match)


def test_new_leaf_flags():
    for t in (ember.zeros(2), ember.arange(3), ember.tensor([1.0]), ember.eye(2)):
        assert t.is_leaf and not t.requires_grad and t.grad_fn is None
    assert math.isclose(ember.full((), 2.5).item(), 2.5)
