"""repr/str of tensors: character-for-character PyTorch's output with 'torch' replaced by
'ember', for a table of tensors (dtypes, notation, summarisation, wrapping, empty tensors,
nan/inf, complex, requires_grad and grad_fn suffixes) and under print options."""
import numpy as np
import pytest
from oracle import requires_torch, torch

import ember
from ember._print import get_printoptions, printoptions, set_printoptions, tensor_repr

pytestmark = requires_torch

nan, inf = float("nan"), float("inf")


@pytest.fixture(autouse=True)
def _default_options():
    yield
    set_printoptions(profile="default")
    torch.set_printoptions(profile="default")
    ember.set_default_dtype(ember.float32)
    torch.set_default_dtype(torch.float32)


def _arr(seed, shape, scale=1.0, dtype=np.float32):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


# each entry builds the same tensor with module m
TABLE = [
    lambda m: m.zeros(2, 3),
    lambda m: m.tensor([1, 2, 3]),
    lambda m: m.tensor([1.0, 2.0], dtype=m.float64),
    lambda m: m.tensor(3.5),
    lambda m: m.tensor(-0.0),
    lambda m: m.tensor(7),
    lambda m: m.tensor(True),
    lambda m: m.tensor([1e-5, 1e5]),
    lambda m: m.tensor([True, False]),
    lambda m: m.tensor([[True, False], [False, True]]),
    lambda m: m.zeros(0, 3),
    lambda m: m.tensor([]),
    lambda m: m.zeros(0, dtype=m.int64),
    lambda m: m.zeros(2, 0, 3, dtype=m.float64),
    lambda m: m.zeros(0, dtype=m.bool),
    lambda m: m.tensor([nan, inf, -inf, 1.5]),
    lambda m: m.tensor([nan, 0.0]),
    lambda m: m.tensor([[nan, nan, nan]]),
    lambda m: m.tensor([inf, 1e-6]),
    lambda m: m.tensor([-1.5, 2.25, 3.0]),
    lambda m: m.tensor([[1, -2], [300, 4]]),
    lambda m: m.tensor([-0.0, 0.0]),
    lambda m: m.tensor([1e10, 1.0]),
    lambda m: m.tensor([123456789.0]),
    lambda m: m.tensor([1e-8]),
    lambda m: m.tensor([1e-4, 1.0]),
    lambda m: m.tensor([0.00009999, 1.0]),
    lambda m: m.tensor([1, 1000.5]),
    lambda m: m.tensor([1, 1001.0]),
    lambda m: m.tensor([1e8]),
    lambda m: m.tensor([1.1e8]),
    lambda m: m.tensor([100000.5]),
    lambda m: m.tensor([2.0 ** 70] * 2, dtype=m.float64),
    lambda m: m.tensor([1e300, 1e-300], dtype=m.float64),
    lambda m: m.tensor([2 ** 62, -2 ** 62]),
    lambda m: m.tensor([1, 2], dtype=m.int32),
    lambda m: m.tensor([1, 2], dtype=m.uint8),
    lambda m: m.tensor([1.5, -2], dtype=m.float16),
    lambda m: m.tensor([1 + 2j, -3.5 - 1j]),
    lambda m: m.tensor(1 + 1j),
    lambda m: m.tensor([1 - 0j, -0.0 - 1j]),
    lambda m: m.tensor([1 + 2j], dtype=m.complex128),
    lambda m: m.from_numpy(_arr(0, (4, 5, 6))),
    lambda m: m.from_numpy(_arr(1, (2, 3, 4, 5), 1000)),
    lambda m: m.from_numpy(_arr(2, (10, 10), 1e-5)),
    lambda m: m.from_numpy(_arr(3, (3,), 1e9, np.float64)),
    lambda m: m.from_numpy(_arr(4, (1200,))),
    lambda m: m.from_numpy(_arr(5, (5, 300))),
    lambda m: m.from_numpy(_arr(6, (300, 5))),
    lambda m: m.from_numpy(_arr(7, (1001,), 1.0, np.float64)),
    lambda m: m.from_numpy(_arr(8, (3, 400)) + 1j * _arr(9, (3, 400))),
    lambda m: m.from_numpy(_arr(10, (4,)) + 1e-6j * _arr(11, (4,))),
    lambda m: m.from_numpy(np.arange(2000.0, dtype=np.float32).reshape(40, 50)),
    lambda m: m.from_numpy(np.arange(1001)),
    lambda m: m.from_numpy(np.arange(100)),
    lambda m: m.from_numpy(np.arange(30.0, dtype=np.float32) / 7),
    lambda m: m.from_numpy(np.arange(12).reshape(2, 2, 3)),
    lambda m: m.tensor([[[1.0]]]),
    lambda m: m.ones(30),
    lambda m: m.ones(2, 3, requires_grad=True),
    lambda m: m.ones(3, dtype=m.float64, requires_grad=True),
    lambda m: m.ones(100, requires_grad=True),
    lambda m: m.ones(17, dtype=m.float64, requires_grad=True),
    lambda m: m.ones(18, requires_grad=True),
    lambda m: m.zeros(0, 2, requires_grad=True),
    lambda m: m.tensor(2.5, requires_grad=True),
]


@pytest.mark.parametrize("i", range(len(TABLE)))
def test_repr_matches_torch(i):
    ours, theirs = TABLE[i](ember), TABLE[i](torch)
    expected = repr(theirs).replace("torch.", "ember.")
    assert repr(ours) == expected
    assert str(ours) == expected


GRAD_FNS = [
    lambda m, x: x * 2, lambda m, x: x + 1, lambda m, x: x - 1, lambda m, x: x - x,
    lambda m, x: x / 3, lambda m, x: -x, lambda m, x: x.reshape(2, 2),
    lambda m, x: x.reshape(2, 2).permute(1, 0), lambda m, x: x.reshape(1, 4).expand(3, 4),
    lambda m, x: (x * 2).double(), lambda m, x: x.reshape(4, 1) * m.ones(1, 30),
]


@pytest.mark.parametrize("i", range(len(GRAD_FNS)))
def test_grad_fn_suffix(i):
    x = ember.tensor([1.0, 2.5, -3.0, 4.0], requires_grad=True)
    tx = torch.tensor([1.0, 2.5, -3.0, 4.0], requires_grad=True)
    expected = repr(GRAD_FNS[i](torch, tx)).replace("torch.", "ember.")
    assert repr(GRAD_FNS[i](ember, x)) == expected


def test_grad_fn_example():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    with ember.no_grad():
        assert repr(x * 2) == "tensor([2., 4.])"


OPTIONS = [
    {"precision": 2}, {"precision": 8, "linewidth": 120}, {"threshold": 10},
    {"edgeitems": 1, "threshold": 5}, {"linewidth": 40}, {"sci_mode": True},
    {"sci_mode": False}, {"profile": "short"}, {"profile": "full"},
    {"edgeitems": 0, "threshold": 3}, {"profile": "short", "precision": 6},
]


@pytest.mark.parametrize("opts", OPTIONS, ids=str)
def test_print_options(opts):
    set_printoptions(**opts)
    torch.set_printoptions(**opts)
    for i in (0, 3, 7, 15, 19, 22, 25, 38, 42, 43, 44, 46, 47, 50, 53, 56, 60):
        ours, theirs = TABLE[i](ember), TABLE[i](torch)
        assert repr(ours) == repr(theirs).replace("torch.", "ember."), (opts, i)


def test_fuzz_against_torch():
    """Random shapes, dtypes, magnitudes, special values and options."""
    rng = np.random.default_rng(1)
    dtypes = [np.float32, np.float64, np.int64, np.int32, np.bool_, np.complex64,
              np.float16, np.uint8, np.int8, np.complex128]
    for k in range(400):
        if k % 50 == 0:
            opts = OPTIONS[rng.integers(len(OPTIONS))]
            set_printoptions(**opts)
            torch.set_printoptions(**opts)
        shape = tuple(int(s) for s in rng.integers(0, 7, size=rng.integers(0, 4)))
        dt = np.dtype(dtypes[rng.integers(len(dtypes))])
        a = rng.standard_normal(shape) * 10.0 ** rng.integers(-9, 12)
        if rng.random() < 0.3:
            a = np.round(a)
        if rng.random() < 0.2 and a.size:
            a.flat[rng.integers(a.size)] = [nan, inf, -inf, 0.0, -0.0][rng.integers(5)]
        if dt.kind == "c":
            a = a + 1j * rng.standard_normal(shape)
        with np.errstate(all="ignore"):
            if dt.kind in "iub":
                a = np.clip(np.nan_to_num(a, nan=0, posinf=0, neginf=0), -1e15, 1e15)
            arr = np.asarray(a.astype(dt))
        t, e = torch.from_numpy(arr.copy()), ember.from_numpy(arr.copy())
        if dt.kind in "fc" and rng.random() < 0.3:
            t.requires_grad_()
            e.requires_grad_()
        assert repr(e) == repr(t).replace("torch.", "ember."), (arr, get_printoptions())


def test_default_dtype_float64():
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    for data, dt in (([1.0, 2.0], np.float64), ([1.0, 2.0], np.float32),
                     ([1 + 1j], np.complex128), ([1 + 1j], np.complex64), ([], np.float32),
                     ([], np.float64)):
        arr = np.array(data, dtype=dt)
        assert repr(ember.from_numpy(arr)) == \
            repr(torch.from_numpy(arr)).replace("torch.", "ember.")


def test_set_get_printoptions():
    set_printoptions(precision=2, sci_mode=True)
    assert get_printoptions() == {"precision": 2, "threshold": 1000, "edgeitems": 3,
                                  "linewidth": 80, "sci_mode": True}
    assert list(get_printoptions()) == ["precision", "threshold", "edgeitems", "linewidth",
                                        "sci_mode"]
    set_printoptions(linewidth=100)              # as in torch, sci_mode resets to None
    assert get_printoptions()["sci_mode"] is None and get_printoptions()["precision"] == 2
    set_printoptions(profile="full")
    assert get_printoptions()["threshold"] == float("inf")
    assert ember.set_printoptions is set_printoptions
    with pytest.raises(ValueError, match="profile"):
        set_printoptions(profile="long")
    set_printoptions(profile="default")
    with printoptions(precision=1):
        assert repr(ember.tensor([1.25, 2.0])) == "tensor([1.2, 2.0])"
    assert repr(ember.tensor([1.25, 2.0])) == "tensor([1.2500, 2.0000])"


def test_prefix_and_contents_for_subclasses():
    t = ember.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    # nn.Parameter prints "Parameter containing:\n" + the plain tensor repr
    assert tensor_repr(t) == ("tensor([[1., 2.],\n"
                              "        [3., 4.]], requires_grad=True)")
    assert tensor_repr(t, prefix="param(") == ("param([[1., 2.],\n"
                                               "       [3., 4.]], requires_grad=True)")
    assert tensor_repr(t, tensor_contents="...") == "tensor(..., requires_grad=True)"

    class MyTensor(ember.Tensor):
        pass
    sub = MyTensor([1.0, 2.0])
    assert repr(sub) == "MyTensor([1., 2.])"

    class Parameter(ember.Tensor):
        pass
    assert repr(Parameter([1.0])) == "tensor([1.])"


def test_wide_and_deep_layout():
    t = ember.arange(24.0).reshape(2, 3, 4) / 3
    expected = repr(torch.arange(24.0).reshape(2, 3, 4) / 3).replace("torch.", "ember.")
    assert repr(t) == expected
    big = ember.from_numpy(np.arange(3 * 4 * 500, dtype=np.int64).reshape(3, 4, 500))
    assert repr(big) == repr(torch.from_numpy(
        np.arange(3 * 4 * 500, dtype=np.int64).reshape(3, 4, 500)))
