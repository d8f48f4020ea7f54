"""dtypes against PyTorch: the promotion table, result_type for every operand kind, can_cast,
the default dtype, finfo/iinfo, dtype attributes, repr and pickling, and bfloat16's
behaviour without the optional ml_dtypes package.

Tests marked ``xfail(strict=True, reason="lead: ...")`` show a bug in a core file (_dtype.py,
_tensor.py); they start passing (and then fail as XPASS) once it is fixed, so the mark must
be removed with the fix.
"""
from __future__ import annotations

import copy
import itertools
import pickle

import numpy as np
import pytest

import ember
from oracle import requires_torch, torch

pytestmark = requires_torch

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
         "complex64", "complex128"]
FLOATS = ["float16", "float32", "float64"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]
SCALARS = [True, 3, 2.5, 1 + 2j]

try:
    import ml_dtypes  # noqa: F401
    HAVE_ML_DTYPES = True
except ImportError:
    HAVE_ML_DTYPES = False


def E(name):
    return getattr(ember, name)


def T(name):
    return getattr(torch, name)


def tname(d):
    """'float32' for torch.float32. torch's complex32 (complex half) has no NumPy type, so
    ember has no such dtype: where PyTorch picks complex32 ember gives complex64, the
    nearest complex type that holds the values (see test_complex32_is_complex64)."""
    name = str(d).replace("torch.", "")
    return "complex64" if name == "complex32" else name


@pytest.fixture
def restore_default_dtype():
    """Put the default dtype back (for both libraries) even when a test fails."""
    e, t = ember.get_default_dtype(), torch.get_default_dtype()
    yield
    ember.set_default_dtype(e)
    torch.set_default_dtype(t)


# ------------------------------------------------------------------------ promote_types
@pytest.mark.parametrize("a", NAMES)
def test_promote_types_table(a):
    # one test per row keeps the output readable; each row checks all 11 columns
    got = [ember.promote_types(E(a), E(b)).name for b in NAMES]
    want = [tname(torch.promote_types(T(a), T(b))) for b in NAMES]
    assert got == want
    assert all(isinstance(ember.promote_types(E(a), E(b)), ember.dtype) for b in NAMES)


@pytest.mark.parametrize("a", NAMES + ["bfloat16"])
def test_promote_types_bfloat16(a):
    # the promotion rules of bfloat16 are pure logic: they work without ml_dtypes
    for x, y in ((a, "bfloat16"), ("bfloat16", a)):
        assert ember.promote_types(E(x), E(y)).name == tname(torch.promote_types(T(x), T(y)))




@pytest.mark.parametrize("py, name", [(bool, "bool"), (int, "int64"),
                                      pytest.param(float, "float64"),
                                      pytest.param(complex, "complex128")])
def test_python_types_as_dtypes(py, name):
    # torch maps the Python types to fixed dtypes (float -> float64, whatever the default)
    assert tname(torch.promote_types(py, torch.bool)) == name
    assert ember.promote_types(py, ember.bool).name == name


@pytest.mark.parametrize("py, name", [(bool, "bool"), (int, "int64")])
def test_python_types_as_dtypes_in_creation(py, name):
    assert ember.zeros(2, dtype=py).dtype.name == name
    assert ember.zeros(2).to(py).dtype.name == name


@pytest.mark.parametrize("py, name", [(float, "float64"), (complex, "complex128")])
def test_python_float_complex_as_dtypes_in_creation(py, name):
    assert str(torch.zeros(2, dtype=py).dtype) == "torch." + name
    assert ember.zeros(2, dtype=py).dtype.name == name
    assert ember.zeros(2).to(py).dtype.name == name


# ------------------------------------------------------------------------ result_type
def _pair(lib, name, zero_dim):
    return lib.zeros(() if zero_dim else (2,), dtype=getattr(lib, name))


KINDS = [("dim", False), ("0d", True)]


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("ka, kb", list(itertools.product(KINDS, KINDS)),
                         ids=lambda k: k[0] if isinstance(k, tuple) else str(k))
def test_result_type_tensor_tensor(a, ka, kb):
    # the left operand's dtype is parametrised, the right one runs over all 11 dtypes
    got = [ember.result_type(_pair(ember, a, ka[1]), _pair(ember, b, kb[1])).name
           for b in NAMES]
    want = [tname(torch.result_type(_pair(torch, a, ka[1]), _pair(torch, b, kb[1])))
            for b in NAMES]
    assert got == want


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("zero_dim", [False, True], ids=["dim", "0d"])
@pytest.mark.parametrize("scalar_first", [False, True], ids=["tensor_scalar", "scalar_tensor"])
def test_result_type_tensor_scalar(a, zero_dim, scalar_first):
    def run(lib, s):
        t = _pair(lib, a, zero_dim)
        return lib.result_type(s, t) if scalar_first else lib.result_type(t, s)
    assert [run(ember, s).name for s in SCALARS] == [tname(run(torch, s)) for s in SCALARS]


@pytest.mark.parametrize("x, y", list(itertools.product(SCALARS, SCALARS)))
def test_result_type_scalar_scalar(x, y):
    assert ember.result_type(x, y).name == tname(torch.result_type(x, y))


@pytest.mark.parametrize("default", ["float64", "float16"])
@pytest.mark.parametrize("a", NAMES)
def test_result_type_follows_default_dtype(a, default, restore_default_dtype):
    ember.set_default_dtype(E(default))
    torch.set_default_dtype(T(default))
    for zero_dim in (False, True):
        got = [ember.result_type(_pair(ember, a, zero_dim), s).name for s in SCALARS]
        want = [tname(torch.result_type(_pair(torch, a, zero_dim), s)) for s in SCALARS]
        assert got == want, zero_dim


def test_result_type_examples():
    # the cases the promotion docs spell out, as a readable cross-check of the tables
    f32, i64 = ember.zeros(2), ember.zeros(2, dtype=ember.int64)
    assert ember.result_type(f32, 2.5) is ember.float32
    assert ember.result_type(i64, 2.5) is ember.float32
    assert ember.result_type(i64, ember.zeros(2, dtype=ember.float32)) is ember.float32
    assert ember.result_type(f32, ember.tensor(1.0, dtype=ember.float64)) is ember.float32
    assert ember.result_type(ember.zeros(2, dtype=ember.uint8), ember.tensor(5)) is ember.uint8
    assert ember.result_type(ember.zeros(2, dtype=ember.int8), 1000) is ember.int8
    assert ember.result_type(f32, 1j) is ember.complex64
    assert ember.result_type(ember.zeros(2, dtype=ember.float64), 1j) is ember.complex128


def test_complex32_is_complex64():
    # Documented difference: PyTorch's complex32 has no NumPy equivalent, so float16 with a
    # complex operand gives complex64 in ember where PyTorch gives complex32.
    assert str(torch.result_type(torch.zeros(2, dtype=torch.float16), 1j)) == "torch.complex32"
    assert ember.result_type(ember.zeros(2, dtype=ember.float16), 1j) is ember.complex64
    assert ember.float16.to_complex() is ember.complex64
    assert not hasattr(ember, "complex32")


# ------------------------------------------------------------------------ can_cast
@pytest.mark.parametrize("a", NAMES + ["bfloat16"])
def test_can_cast(a):
    names = NAMES + ["bfloat16"]
    assert [ember.can_cast(E(a), E(b)) for b in names] == \
        [torch.can_cast(T(a), T(b)) for b in names]


# ------------------------------------------------------------------------ default dtype
def test_default_dtype_is_float32():
    assert ember.get_default_dtype() is ember.float32
    assert ember.tensor([1.5]).dtype is ember.float32
    assert ember.tensor([1j]).dtype is ember.complex64
    assert ember.Tensor([1, 2]).dtype is ember.float32


@pytest.mark.parametrize("name", ["float64", "float16", "float32"])
def test_set_default_dtype(name, restore_default_dtype):
    ember.set_default_dtype(E(name))
    torch.set_default_dtype(T(name))
    assert ember.get_default_dtype() is E(name)
    for data in ([1.5], [1], [True], 2.5):
        assert ember.tensor(data).dtype.name == tname(torch.tensor(data).dtype), data
    assert ember.zeros(2).dtype is E(name)
    assert ember.Tensor([1, 2]).dtype is E(name)
    assert (ember.tensor([1, 2]) * 2.5).dtype is E(name)
    if name != "float16":                        # torch gives complex32 there (see above)
        assert ember.tensor([1j]).dtype.name == tname(torch.tensor([1j]).dtype)


@pytest.mark.parametrize("name", INTS + ["bool", "complex64", "complex128"])
def test_set_default_dtype_refuses_non_float(name, restore_default_dtype):
    with pytest.raises(TypeError, match="only floating-point types"):
        torch.set_default_dtype(T(name))
    with pytest.raises(TypeError, match="only floating-point types"):
        ember.set_default_dtype(E(name))
    assert ember.get_default_dtype() is ember.float32


# ------------------------------------------------------------------------ finfo / iinfo
FINFO_FIELDS = ["bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"]


@pytest.mark.parametrize("name", FLOATS + ["complex64", "complex128"])
def test_finfo_fields(name):
    e, t = ember.finfo(E(name)), torch.finfo(T(name))
    for field in FINFO_FIELDS:
        assert getattr(e, field) == getattr(t, field), field
        assert type(getattr(e, field)) is type(getattr(t, field)), field


def test_finfo_default():
    assert ember.finfo().dtype == torch.finfo().dtype == "float32"
    assert ember.finfo().eps == torch.finfo().eps


@pytest.mark.parametrize("name", FLOATS + ["complex64"])
def test_finfo_repr(name):
    assert repr(ember.finfo(E(name))) == repr(torch.finfo(T(name)))


@pytest.mark.parametrize("name", INTS)
def test_iinfo_fields(name):
    e, t = ember.iinfo(E(name)), torch.iinfo(T(name))
    for field in ("bits", "max", "min", "dtype"):
        assert getattr(e, field) == getattr(t, field), field
        assert type(getattr(e, field)) is type(getattr(t, field)), field




@pytest.mark.parametrize("name", ["uint8", "int8", "int16",
                                  pytest.param("int32"),
                                  pytest.param("int64")])
def test_iinfo_repr(name):
    assert repr(ember.iinfo(E(name))) == repr(torch.iinfo(T(name)))


@pytest.mark.parametrize("name", INTS + ["bool"])
def test_finfo_refuses_integers(name):
    with pytest.raises(TypeError):
        torch.finfo(T(name))
    with pytest.raises(TypeError, match="floating point"):
        ember.finfo(E(name))


@pytest.mark.parametrize("name", FLOATS + ["complex64"])
def test_iinfo_refuses_floats(name):
    with pytest.raises(TypeError):
        torch.iinfo(T(name))
    with pytest.raises(TypeError, match="integer"):
        ember.iinfo(E(name))


def test_iinfo_refuses_bool():
    with pytest.raises(TypeError):
        torch.iinfo(torch.bool)
    with pytest.raises(TypeError, match="bool"):
        ember.iinfo(ember.bool)


# ------------------------------------------------------------------------ dtype objects
@pytest.mark.parametrize("name", NAMES + ["bfloat16"])
def test_dtype_attributes(name):
    e, t = E(name), T(name)
    assert e.is_floating_point == t.is_floating_point
    assert e.is_complex == t.is_complex
    assert e.is_signed == t.is_signed
    assert e.itemsize == t.itemsize
    assert isinstance(e, ember.dtype)


@pytest.mark.parametrize("name", ["float32", "float64", "complex64", "complex128"])
def test_dtype_to_real_to_complex(name):
    assert E(name).to_real().name == tname(T(name).to_real())
    assert E(name).to_complex().name == tname(T(name).to_complex())


def test_bfloat16_to_complex():
    assert tname(torch.bfloat16.to_complex()) == "complex64"
    assert ember.bfloat16.to_complex() is ember.complex64


@pytest.mark.parametrize("name", NAMES + ["bfloat16"])
def test_dtype_repr_and_str(name):
    assert repr(E(name)) == "ember." + name
    assert str(E(name)) == repr(T(name)).replace("torch", "ember")


@pytest.mark.parametrize("alias, name", [("float", "float32"), ("double", "float64"),
                                         ("half", "float16"), ("long", "int64"),
                                         ("int", "int32"), ("short", "int16"),
                                         ("cfloat", "complex64"), ("cdouble", "complex128")])
def test_dtype_aliases(alias, name):
    assert getattr(torch, alias) is T(name)
    assert getattr(ember, alias) is E(name)
    assert repr(getattr(ember, alias)) == "ember." + name


@pytest.mark.parametrize("name", NAMES + ["bfloat16"])
def test_dtype_pickle_and_copy(name):
    d = E(name)
    assert pickle.loads(pickle.dumps(d)) is d
    assert copy.copy(d) is d and copy.deepcopy(d) is d
    # inside containers too (the way a checkpoint stores them)
    assert pickle.loads(pickle.dumps({"dtype": d}))["dtype"] is d


def test_dtype_eq_hash():
    assert ember.float32 == ember.float and hash(ember.float32) == hash(ember.float)
    assert ember.float32 != ember.float64
    assert (ember.float32 == "float32") == (torch.float32 == "float32")   # both False
    assert len({E(n) for n in NAMES}) == len(NAMES)


# ------------------------------------------------------------------------ bfloat16
_WITHOUT_ML_DTYPES = r"""
import sys
sys.modules["ml_dtypes"] = None          # as if the optional package were not installed
import ember
cases = {
    "tensor": lambda: ember.tensor([1.0], dtype=ember.bfloat16),
    "zeros": lambda: ember.zeros(2, dtype=ember.bfloat16),
    "method": lambda: ember.ones(2).bfloat16(),
    "to": lambda: ember.ones(2).to(ember.bfloat16),
    "finfo": lambda: ember.finfo(ember.bfloat16),
    "set_default_dtype": lambda: ember.set_default_dtype(ember.bfloat16),
}
for name, make in cases.items():
    try:
        make()
    except TypeError as e:
        assert "ml_dtypes" in str(e), (name, str(e))
        print(name, "TypeError")
    else:
        print(name, "no error")
assert ember.get_default_dtype() is ember.float32
"""


def test_bfloat16_without_ml_dtypes():
    """Without the optional ml_dtypes package, every way of making a bfloat16 tensor (and
    making bfloat16 the default) raises a TypeError naming the package. Run in a fresh
    interpreter where the package is blocked, so the test runs whether or not it is
    installed here."""
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", _WITHOUT_ML_DTYPES], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split("\n")
    for name in ("tensor", "zeros", "method", "to", "finfo", "set_default_dtype"):
        assert f"{name} TypeError" in lines, proc.stdout


@pytest.mark.skipif(not HAVE_ML_DTYPES, reason="needs the optional ml_dtypes package")
def test_bfloat16_with_ml_dtypes():
    x = [1.1, -2.7, 3.14159, 1e30]
    e = ember.tensor(x).bfloat16()
    t = torch.tensor(x).bfloat16()
    assert e.dtype is ember.bfloat16
    np.testing.assert_array_equal(e.float().numpy(), t.float().numpy())
