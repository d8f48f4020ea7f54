"""Linear algebra against PyTorch: products (matmul family, einsum, tensordot, kron, cross),
decompositions and solvers (ember.linalg), norms; gradients numerically (gradcheck,
gradgradcheck) and against torch; error types and messages."""
import math

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck, gradgradcheck
from oracle import assert_close, check_op, rand, requires_torch, torch, to_torch

pytestmark = requires_torch

F32, F64 = np.float32, np.float64
DTYPES = [F32, F64]


def T(*shape, dtype=F64, seed=0, requires_grad=True, low=-1.0, high=1.0):
    return rand(*shape, dtype=dtype, seed=seed, requires_grad=requires_grad, low=low, high=high)


def spd(n, batch=(), dtype=F64, seed=0, requires_grad=True):
    """A well-conditioned symmetric positive-definite matrix (batched)."""
    a = np.random.default_rng(seed).uniform(-1, 1, batch + (n, n))
    a = a @ np.swapaxes(a, -1, -2) + n * np.eye(n)
    return ember.tensor(a.astype(dtype), requires_grad=requires_grad)


def well(n, m=None, batch=(), dtype=F64, seed=0, requires_grad=True):
    """A well-conditioned matrix with distinct singular values (U diag(s) V^T)."""
    m = n if m is None else m
    rng = np.random.default_rng(seed)
    k = min(n, m)
    U = np.linalg.qr(rng.standard_normal(batch + (n, n)))[0][..., :k]
    V = np.linalg.qr(rng.standard_normal(batch + (m, m)))[0][..., :k]
    s = np.linspace(2.0, 1.0, k) + 0.3 * np.arange(k)[::-1] / max(k, 1)
    a = (U * s) @ np.swapaxes(V, -1, -2)
    return ember.tensor(a.astype(dtype), requires_grad=requires_grad)


def sym(A, lib):
    """Symmetrize inside the function, so that gradients of ops that read one triangle are
    checked against a differentiable input."""
    return (A + A.transpose(-2, -1)) * 0.5


def check_error(efn, tfn, exc=RuntimeError, contains=None):
    """ember raises ``exc`` with the same message PyTorch gives (``torch.`` read as
    ``ember.``), or one containing ``contains`` where the texts cannot be identical."""
    with pytest.raises(exc) as e_info:
        efn()
    msg = str(e_info.value)
    if contains is not None:
        assert contains in msg, msg
        return msg
    with pytest.raises(Exception) as t_info:
        tfn()
    assert isinstance(t_info.value, exc), type(t_info.value)
    assert msg == str(t_info.value).replace("torch.", "ember."), (msg, str(t_info.value))
    return msg


def fix_signs(V):
    """Make the largest-magnitude entry of each column positive (singular vectors and
    eigenvectors are defined up to sign)."""
    V = np.asarray(V)
    idx = np.argmax(np.abs(V), axis=-2)[..., None, :]
    s = np.sign(np.take_along_axis(V, idx, axis=-2))
    return V * np.where(s == 0, 1, s)


# ---------------------------------------------------------------------------------------
# matmul and friends: values, dtypes and gradients against torch

MATMUL_SHAPES = [
    ((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((2, 1, 2, 3), (5, 3, 4)),
    ((3,), (5, 3, 4)), ((5, 2, 3), (3,)), ((0, 3), (3, 4)), ((2, 0), (0, 4)),
    ((1, 2, 3), (4, 3, 2)), ((2, 2, 3), (3,)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_vs_torch(sa, sb, dtype):
    a, b = T(*sa, dtype=dtype, seed=1), T(*sb, dtype=dtype, seed=2)
    out = check_op(ember.matmul, torch.matmul, [a, b])
    check_op(lambda x, y: x @ y, lambda x, y: x @ y, [a, b])
    assert out.dtype == a.dtype


def test_matmul_noncontiguous_and_transposed_views():
    a, w = T(4, 6, seed=1), T(5, 6, seed=2)
    check_op(lambda x, y: x @ y.t(), lambda x, y: x @ y.t(), [a, w])
    check_op(lambda x, y: x.t() @ y, lambda x, y: x.t() @ y, [T(6, 4, seed=4), T(6, 3, seed=5)])
    check_op(lambda x, y: x.t() @ y.t(), lambda x, y: x.t() @ y.t(), [T(6, 4), T(3, 6, seed=5)])
    assert gradgradcheck(lambda x, y: x.t() @ y.t(), [T(3, 2), T(2, 3, seed=1)])
    b = T(6, 2, 3, seed=3)
    check_op(lambda x, y: x.transpose(0, 1) @ y, lambda x, y: x.transpose(0, 1) @ y, [b, T(3, 4)])


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_matmul_integer(dtype):
    a = ember.tensor(np.arange(6).reshape(2, 3).astype(dtype))
    b = ember.tensor(np.arange(12).reshape(3, 4).astype(dtype))
    r = a @ b
    assert r.dtype == a.dtype
    assert_close(r, torch.from_numpy(a.numpy()) @ torch.from_numpy(b.numpy()))
    v = ember.tensor(np.arange(3))
    assert_close(ember.dot(v, v), torch.dot(torch.arange(3), torch.arange(3)))


def test_matmul_keeps_float32():
    a, b = T(4, 5, dtype=F32), T(5, 3, dtype=F32)
    out = a @ b
    out.backward(ember.tensor(np.ones((4, 3), F32)))
    assert out.dtype == ember.float32
    assert a.grad.dtype == ember.float32 and b.grad.dtype == ember.float32


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,shapes,kwargs", [
    ("mm", [(2, 3), (3, 4)], {}),
    ("bmm", [(2, 3, 4), (2, 4, 5)], {}),
    ("mv", [(2, 3), (3,)], {}),
    ("dot", [(4,), (4,)], {}),
    ("vdot", [(4,), (4,)], {}),
    ("outer", [(3,), (4,)], {}),
    ("ger", [(3,), (4,)], {}),
    ("inner", [(2, 3), (4, 3)], {}),
    ("inner", [(3,), (3,)], {}),
    ("inner", [(), (2, 3)], {}),
    ("addmm", [(2, 4), (2, 3), (3, 4)], {}),
    ("addmm", [(4,), (2, 3), (3, 4)], dict(beta=0.5, alpha=2.0)),
    ("addmm", [(2, 4), (2, 3), (3, 4)], dict(beta=0, alpha=-1.5)),
    ("addmv", [(2,), (2, 3), (3,)], dict(beta=2.0, alpha=0.5)),
    ("addmv", [(1,), (2, 3), (3,)], {}),
    ("addr", [(3, 4), (3,), (4,)], dict(beta=0.5, alpha=3.0)),
    ("addbmm", [(2, 4), (3, 2, 5), (3, 5, 4)], dict(beta=0.5, alpha=2.0)),
    ("baddbmm", [(3, 2, 4), (3, 2, 5), (3, 5, 4)], dict(alpha=2.0)),
    ("baddbmm", [(2, 4), (3, 2, 5), (3, 5, 4)], dict(beta=0.0)),
    ("kron", [(2, 3), (3, 2)], {}),
    ("kron", [(2, 1, 3), (3, 2)], {}),
    ("kron", [(2,), (3, 2)], {}),
    ("chain_matmul", [(2, 3), (3, 4), (4, 2)], {}),
])
def test_products_vs_torch(name, shapes, kwargs, dtype):
    xs = [T(*s, dtype=dtype, seed=i) for i, s in enumerate(shapes)]
    check_op(lambda *a: getattr(ember, name)(*a, **kwargs),
             lambda *a: getattr(torch, name)(*a, **kwargs), xs)
    if name not in ("chain_matmul", "kron"):         # the Tensor methods too
        check_op(lambda x, *a: getattr(x, name)(*a, **kwargs),
                 lambda x, *a: getattr(x, name)(*a, **kwargs), xs)


def test_addmm_beta_zero_ignores_nan():
    inp = ember.tensor(np.full((2, 2), np.nan))
    r = ember.addmm(inp, T(2, 3), T(3, 2), beta=0)
    assert np.isfinite(r.detach().numpy()).all()


def test_addmm_integer_casts_scalars():
    i = ember.tensor(np.full((2, 2), 3))
    o = ember.tensor(np.ones((2, 2), dtype=np.int64))
    r = ember.addmm(i, o, o, beta=0.5, alpha=1.5)
    t = torch.addmm(torch.full((2, 2), 3), torch.ones(2, 2, dtype=torch.long),
                    torch.ones(2, 2, dtype=torch.long), beta=0.5, alpha=1.5)
    assert_close(r, t)


@pytest.mark.parametrize("name", ["addmm_", "addmv_", "addr_", "baddbmm_", "addbmm_"])
def test_inplace_addmm_family(name):
    shapes = {"addmm_": [(2, 4), (2, 3), (3, 4)], "addmv_": [(2,), (2, 3), (3,)],
              "addr_": [(3, 4), (3,), (4,)], "baddbmm_": [(3, 2, 4), (3, 2, 5), (3, 5, 4)],
              "addbmm_": [(2, 4), (3, 2, 5), (3, 5, 4)]}[name]
    xs = [T(*s, seed=i, requires_grad=False) for i, s in enumerate(shapes)]
    ts = [to_torch(x) for x in xs]
    r = getattr(xs[0], name)(*xs[1:], beta=0.5, alpha=2.0)
    getattr(ts[0], name)(*ts[1:], beta=0.5, alpha=2.0)
    assert r is xs[0]
    assert_close(xs[0], ts[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dims,sa,sb", [
    (2, (3, 4, 5), (4, 5, 2)), (1, (3, 4), (4, 5)), (0, (2, 3), (3,)),
    (([1, 2], [1, 0]), (3, 4, 5), (5, 4, 2)), (([0], [2]), (3, 4), (2, 5, 3)),
    (([-1], [0]), (2, 3), (3, 2)),
])
def test_tensordot_vs_torch(dims, sa, sb, dtype):
    a, b = T(*sa, dtype=dtype, seed=1), T(*sb, dtype=dtype, seed=2)
    check_op(lambda x, y: ember.tensordot(x, y, dims=dims),
             lambda x, y: torch.tensordot(x, y, dims=dims), [a, b])


def test_tensordot_tensor_dims():
    a, b = T(3, 4, 5), T(5, 4, 2)
    r = ember.tensordot(a, b, dims=ember.tensor([[1, 2], [1, 0]]))
    assert_close(r, torch.tensordot(to_torch(a), to_torch(b), dims=torch.tensor([[1, 2], [1, 0]])))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb,dim", [
    ((3,), (3,), -1), ((4, 3), (4, 3), 1), ((3, 2), (3, 2), 0), ((2, 3), (1, 3), -1),
    ((2, 3, 4), (2, 3, 4), 1),
])
def test_cross_vs_torch(sa, sb, dim, dtype):
    a, b = T(*sa, dtype=dtype, seed=1), T(*sb, dtype=dtype, seed=2)
    check_op(lambda x, y: ember.cross(x, y, dim=dim), lambda x, y: torch.cross(x, y, dim=dim),
             [a, b])
    check_op(lambda x, y: ember.linalg.cross(x, y, dim=dim),
             lambda x, y: torch.linalg.cross(x, y, dim=dim), [a, b])


def test_cross_default_dim_warns():
    a, b = T(3, 2, seed=1), T(3, 2, seed=2)
    with pytest.warns(UserWarning, match="without specifying the dim"):
        r = ember.cross(a, b)
    with pytest.warns(UserWarning):
        t = torch.cross(to_torch(a), to_torch(b))
    assert_close(r, t)


# ---------------------------------------------------------------------------------------
# einsum

EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("i,i", [(3,), (3,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,...jk", [(2, 2, 3), (3, 4)]),
    ("ij...,jk...->ik...", [(2, 3, 4), (3, 2, 1)]),
    ("...,...", [(2, 3), (3,)]),
    ("iij,jk->ik", [(2, 2, 3), (3, 4)]),
    ("ijj->ij", [(2, 3, 3)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("i,i,i->", [(3,), (3,), (3,)]),
    ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 2)]),
    ("Ba,aC", [(2, 3), (3, 4)]),
    ("ij,kl->ijkl", [(2, 1), (2, 3)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 2), (2, 2)]),
    ("ij,jk->i", [(2, 3), (3, 4)]),
    ("i j , j k -> i k", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eq,shapes", EINSUM_CASES)
def test_einsum_vs_torch(eq, shapes, dtype):
    xs = [T(*s, dtype=dtype, seed=i) for i, s in enumerate(shapes)]
    check_op(lambda *a: ember.einsum(eq, *a), lambda *a: torch.einsum(eq, *a), xs)


def test_einsum_list_operands_and_int():
    a, b = T(2, 3), T(3, 4)
    assert_close(ember.einsum("ij,jk", [a, b]), torch.einsum("ij,jk", [to_torch(a), to_torch(b)]))
    x = ember.tensor(np.arange(6).reshape(2, 3))
    r = ember.einsum("ij->j", x)
    assert r.dtype == ember.int64
    assert r.tolist() == [3, 5, 7]


def test_einsum_output_is_not_a_view():
    a = T(3, 3, requires_grad=False)
    d = ember.einsum("ii->i", a)
    d._data[0] = 100.0
    assert a.numpy()[0, 0] != 100.0


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk", [(2, 3), (3, 2)]), ("ii->i", [(3, 3)]), ("ij->", [(2, 3)]),
    ("...ij,...jk", [(2, 2, 3), (3, 2)]), ("iij,jk->ik", [(2, 2, 3), (3, 2)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]), ("i,i,i->", [(3,), (3,), (3,)]),
])
def test_einsum_gradcheck(eq, shapes):
    xs = [T(*s, seed=i) for i, s in enumerate(shapes)]
    f = lambda *a: ember.einsum(eq, *a)  # noqa: E731
    assert gradcheck(f, xs)
    assert gradgradcheck(f, xs)


# ---------------------------------------------------------------------------------------
# gradients of the products: numerical checks, first and second order

GRAD_PRODUCTS = [
    ("matmul", lambda a, b: ember.matmul(a, b), [(3,), (3,)]),
    ("matmul", lambda a, b: ember.matmul(a, b), [(3,), (3, 2)]),
    ("matmul", lambda a, b: ember.matmul(a, b), [(2, 3), (3,)]),
    ("matmul", lambda a, b: ember.matmul(a, b), [(2, 3), (3, 2)]),
    ("matmul", lambda a, b: ember.matmul(a, b), [(2, 2, 3), (3, 2)]),
    ("matmul", lambda a, b: ember.matmul(a, b), [(2, 1, 2, 3), (2, 3, 2)]),
    ("matmul", lambda a, b: ember.matmul(a, b), [(2, 2, 3), (3,)]),
    ("matmul", lambda a, b: ember.matmul(a, b), [(3,), (2, 3, 2)]),
    ("mm", lambda a, b: ember.mm(a, b), [(2, 3), (3, 2)]),
    ("bmm", lambda a, b: ember.bmm(a, b), [(2, 2, 3), (2, 3, 2)]),
    ("mv", lambda a, b: ember.mv(a, b), [(2, 3), (3,)]),
    ("dot", lambda a, b: ember.dot(a, b), [(3,), (3,)]),
    ("outer", lambda a, b: ember.outer(a, b), [(3,), (2,)]),
    ("inner", lambda a, b: ember.inner(a, b), [(2, 3), (2, 3)]),
    ("addmm", lambda c, a, b: ember.addmm(c, a, b, beta=0.5, alpha=2), [(2,), (2, 3), (3, 2)]),
    ("addbmm", lambda c, a, b: ember.addbmm(c, a, b), [(2, 2), (2, 2, 3), (2, 3, 2)]),
    ("baddbmm", lambda c, a, b: ember.baddbmm(c, a, b), [(2, 2), (2, 2, 3), (2, 3, 2)]),
    ("addmv", lambda c, a, b: ember.addmv(c, a, b), [(2,), (2, 3), (3,)]),
    ("addr", lambda c, a, b: ember.addr(c, a, b), [(2, 3), (2,), (3,)]),
    ("tensordot", lambda a, b: ember.tensordot(a, b, dims=([0, 2], [1, 0])),
     [(2, 3, 2), (2, 2, 2)]),
    ("kron", lambda a, b: ember.kron(a, b), [(2, 2), (2, 1)]),
    ("cross", lambda a, b: ember.linalg.cross(a, b), [(2, 3), (1, 3)]),
    ("multi_dot", lambda a, b, c: ember.linalg.multi_dot([a, b, c]), [(3,), (3, 2), (2,)]),
    ("chain_matmul", lambda a, b, c: ember.chain_matmul(a, b, c), [(2, 3), (3, 2), (2, 2)]),
    ("vdot", lambda a, b: ember.vdot(a, b), [(3,), (3,)]),
    ("vecdot", lambda a, b: ember.linalg.vecdot(a, b), [(2, 3), (3,)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRAD_PRODUCTS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(GRAD_PRODUCTS)])
def test_product_gradcheck(name, fn, shapes):
    xs = [T(*s, seed=i) for i, s in enumerate(shapes)]
    assert gradcheck(fn, xs)
    assert gradgradcheck(fn, xs)


def test_matmul_backward_with_one_input_requiring_grad():
    a = T(2, 3, requires_grad=False)
    b = T(3, 4)
    check_op(ember.matmul, torch.matmul, [a, b])
    check_op(ember.matmul, torch.matmul, [T(2, 2, 3), T(3, requires_grad=False)])


def test_matmul_grad_fn_names():
    a, b = T(2, 3), T(3, 2)
    assert (a @ b).grad_fn.name() == "MmBackward0"
    assert ember.dot(T(3), T(3)).grad_fn.name() == "DotBackward0"


# ---------------------------------------------------------------------------------------
# error types and messages of the products

def _pair(sa, sb, da=F32, db=F32):
    return (lambda: (T(*sa, dtype=da, requires_grad=False), T(*sb, dtype=db, requires_grad=False)))


MATMUL_ERRORS = [
    ("matmul", (64, 784), (785, 256), F32, F32),
    ("matmul", (2, 64, 784), (785, 256), F32, F32),
    ("matmul", (4,), (5,), F32, F32),
    ("matmul", (3, 4), (5,), F32, F32),
    ("matmul", (2, 3, 4), (5,), F32, F32),
    ("matmul", (4,), (5, 3), F32, F32),
    ("matmul", (2, 3, 4), (3, 4, 2), F32, F32),
    ("matmul", (2, 1, 3, 4), (5, 6, 2), F32, F32),
    ("matmul", (3, 4), (2, 5, 3), F32, F32),
    ("matmul", (3, 4), (4, 2), F32, F64),
    ("matmul", (2, 3, 4), (4, 2), F64, F32),
    ("matmul", (4,), (4,), F32, F64),
    ("matmul", (3, 4), (4,), F64, F32),
    ("matmul", (2, 3, 4), (2, 4, 5), F32, F64),
    ("matmul", (3, 4), (4, 2), np.int64, F32),
    ("matmul", (), (3,), F32, F32),
    ("mm", (64, 784), (785, 256), F32, F32),
    ("mm", (3,), (3, 3), F32, F32),
    ("mm", (3, 3), (3,), F32, F32),
    ("mm", (3, 4), (4, 2), F32, F64),
    ("bmm", (3, 3), (2, 3, 3), F32, F32),
    ("bmm", (2, 3, 3), (2, 3), F32, F32),
    ("bmm", (2, 3, 4), (3, 4, 3), F32, F32),
    ("bmm", (2, 3, 4), (2, 5, 3), F32, F32),
    ("bmm", (2, 3, 4), (2, 4, 5), F32, F64),
    ("mv", (2, 3), (4,), F32, F32),
    ("mv", (2, 3), (4, 1), F32, F32),
    ("mv", (2, 3), (3,), F32, F64),
    ("dot", (3,), (4,), F32, F32),
    ("dot", (3,), (3,), F32, F64),
    ("dot", (3, 1), (3,), F32, F32),
    ("vdot", (3,), (4,), F32, F32),
    ("outer", (3, 1), (4,), F32, F32),
    ("outer", (3,), (4, 1), F32, F32),
    ("inner", (2, 3), (4,), F32, F32),
    ("inner", (3,), (3,), F32, F64),
    ("kron", (2,), (3,), F32, F32),
]


@pytest.mark.parametrize("name,sa,sb,da,db", MATMUL_ERRORS)
def test_product_errors_match_torch(name, sa, sb, da, db):
    a = ember.tensor(np.ones(sa, dtype=da))
    b = ember.tensor(np.ones(sb, dtype=db))
    if name == "kron":            # (no error: kron promotes dtypes like mul)
        assert_close(ember.kron(a, b), torch.kron(to_torch(a), to_torch(b)))
        return
    check_error(lambda: getattr(ember, name)(a, b),
                lambda: getattr(torch, name)(to_torch(a), to_torch(b)))


def test_matmul_error_names_both_shapes():
    a, b = ember.ones(64, 784), ember.ones(785, 256)
    with pytest.raises(RuntimeError, match=r"\(64x784 and 785x256\)"):
        a @ b


@pytest.mark.parametrize("call", [
    lambda m: m.addmm(m.ones(3, 2), m.ones(3, 4), m.ones(4, 2, dtype=m.float64)),
    lambda m: m.addmm(m.ones(3), m.ones(3, 4), m.ones(4, 2)),
    lambda m: m.addmm(m.ones(2, 2), m.ones(3), m.ones(3, 2)),
    lambda m: m.addmm(m.ones(2, 2), m.ones(2, 3), m.ones(2, 3)),
    lambda m: m.addr(m.ones(2, 3), m.ones(2, 1), m.ones(3)),
    lambda m: m.addbmm(m.ones(2, 2), m.ones(2, 2, 3), m.ones(3, 3, 2)),
    lambda m: m.baddbmm(m.ones(2, 2), m.ones(2, 2, 3), m.ones(2, 4, 2)),
    lambda m: m.tensordot(m.ones(3, 4, 5), m.ones(5, 4, 2), dims=([1, 2], [0, 1])),
    lambda m: m.tensordot(m.ones(3, 4, 5), m.ones(5, 4, 2), dims=-1),
    lambda m: m.tensordot(m.ones(3, 4), m.ones(4, 2, dtype=m.float64), dims=1),
    lambda m: m.cross(m.ones(2, 3), m.ones(3), dim=-1),
    lambda m: m.cross(m.ones(2, 4), m.ones(2, 4), dim=1),
    lambda m: m.linalg.cross(m.ones(3, 2), m.ones(3, 2)),
    lambda m: m.linalg.cross(m.ones(2, 3), m.ones(2, 3, dtype=m.float64)),
    lambda m: m.chain_matmul(),
    lambda m: m.chain_matmul(m.ones(2, 3), m.ones(3)),
    lambda m: m.linalg.multi_dot([m.ones(3)]),
    lambda m: m.linalg.multi_dot([m.ones(2, 3, 4), m.ones(4)]),
    lambda m: m.linalg.multi_dot([m.ones(2, 3), m.ones(3, 4, 1), m.ones(4)]),
    lambda m: m.linalg.multi_dot([m.ones(2, 3), m.ones(3, dtype=m.float64)]),
    lambda m: m.linalg.multi_dot([m.ones(2, 3), m.ones(3, 3), m.ones(4, 2)]),
])
def test_more_product_errors(call):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_error(lambda: call(ember), lambda: call(torch))


EINSUM_ERRORS = [
    ("ij,jk", [(3, 4), (5, 2)]),
    ("ij,ij->ij", [(2, 4), (3, 4)]),
    ("ij", [(3, 4, 5)]),
    ("ij,jk", [(3, 4)]),
    ("ij", [(3, 4), (4, 3)]),
    ("ij->iij", [(3, 4)]),
    ("ij->k", [(3, 4)]),
    ("i1->i", [(3, 4)]),
    ("ii->i", [(3, 4)]),
    ("...ijk", [(3, 4)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_ERRORS)
def test_einsum_errors_match_torch(eq, shapes):
    xs = [ember.ones(*s) for s in shapes]
    check_error(lambda: ember.einsum(eq, *xs), lambda: torch.einsum(eq, *[to_torch(x) for x in xs]))


def test_einsum_dtype_mismatch():
    check_error(lambda: ember.einsum("ij,jk", ember.ones(3, 4), ember.ones(4, 2,
                                                                          dtype=ember.float64)),
                lambda: torch.einsum("ij,jk", torch.ones(3, 4), torch.ones(4, 2,
                                                                           dtype=torch.float64)))


# ---------------------------------------------------------------------------------------
# inverse, determinants, solvers

BATCHES = [(), (2,), (2, 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
def test_inv_det_slogdet_vs_torch(batch, dtype):
    A = well(3, batch=batch, dtype=dtype, seed=3)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == F32 else {}
    check_op(ember.linalg.inv, torch.linalg.inv, [A], **tol)
    check_op(ember.inverse, torch.inverse, [A], **tol)
    check_op(ember.linalg.det, torch.linalg.det, [A], **tol)
    check_op(ember.det, torch.det, [A], **tol)
    check_op(lambda a: tuple(ember.linalg.slogdet(a)), lambda a: tuple(torch.linalg.slogdet(a)),
             [A], **tol)
    check_op(lambda a: a.slogdet()[1], lambda a: a.slogdet()[1], [A], **tol)
    check_op(ember.logdet, torch.logdet, [spd(3, batch, dtype)], **tol)


def test_slogdet_named_fields_and_logdet_signs():
    A = ember.tensor([[0.0, 1.0], [1.0, 0.0]])
    r = ember.linalg.slogdet(A)
    assert r.sign.item() == -1.0 and abs(r.logabsdet.item()) < 1e-7
    assert math.isnan(ember.logdet(A).item())
    assert ember.logdet(ember.zeros(2, 2)).item() == -math.inf
    assert_close(ember.linalg.det(ember.zeros(2, 0, 0)), torch.linalg.det(torch.zeros(2, 0, 0)))
    assert_close(ember.linalg.inv(ember.zeros(0, 0)), torch.linalg.inv(torch.zeros(0, 0)))


@pytest.mark.parametrize("fn", ["inv", "det", "slogdet", "logdet", "inverse"])
def test_inv_det_gradcheck(fn):
    f = {"inv": ember.linalg.inv, "det": ember.linalg.det, "inverse": ember.inverse,
         "slogdet": lambda a: ember.linalg.slogdet(a)[1], "logdet": ember.logdet}[fn]
    A = spd(3, seed=4) if fn == "logdet" else well(3, seed=4)
    assert gradcheck(f, [A])
    assert gradgradcheck(f, [A])
    B = well(2, batch=(2,), seed=5)
    assert gradcheck(f, [B])


def test_det_gradient_of_singular_matrix():
    # the gradient of det is the cofactor matrix, also where det = 0
    for a in ([[1.0, 2.0], [2.0, 4.0]], [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]]):
        A = ember.tensor(a, dtype=ember.float64, requires_grad=True)
        assert gradcheck(ember.linalg.det, [A])
    A = ember.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=ember.float64, requires_grad=True)
    (g,) = ember.autograd.grad(ember.linalg.det(A), [A])
    np.testing.assert_allclose(g.numpy(), [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    # mixed batch: one singular, one invertible
    Ab = ember.tensor(np.stack([np.array(a := [[1.0, 2.0], [2.0, 4.0]]),
                                np.array([[2.0, 1.0], [0.5, 3.0]])]), requires_grad=True)
    assert gradcheck(ember.linalg.det, [Ab])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb,left", [
    ((3, 3), (3,), True), ((3, 3), (3, 2), True), ((2, 3, 3), (2, 3), True),
    ((2, 3, 3), (3,), True), ((2, 3, 3), (3, 4), True), ((3, 3), (2, 3, 2), True),
    ((3, 3), (2, 3), False), ((2, 3, 3), (1, 4, 3), False),
])
def test_solve_vs_torch(sa, sb, left, dtype):
    A = well(3, batch=sa[:-2], dtype=dtype, seed=1)
    B = T(*sb, dtype=dtype, seed=2)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == F32 else {}
    check_op(lambda a, b: ember.linalg.solve(a, b, left=left),
             lambda a, b: torch.linalg.solve(a, b, left=left), [A, B], **tol)


def test_solve_gradcheck():
    A, B = well(3, seed=1), T(3, 2, seed=2)
    f = ember.linalg.solve
    assert gradcheck(f, [A, B]) and gradgradcheck(f, [A, B])
    assert gradcheck(lambda a, b: ember.linalg.solve(a, b, left=False), [A, T(2, 3, seed=3)])
    assert gradcheck(f, [well(2, batch=(2,), seed=4), T(2, seed=5)])


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unitriangular", [True, False])
def test_solve_triangular_vs_torch(upper, left, unitriangular):
    A = well(3, batch=(2,), seed=1)
    B = T(2, 3, 2, seed=2) if left else T(2, 2, 3, seed=2)
    kw = dict(upper=upper, left=left, unitriangular=unitriangular)
    check_op(lambda a, b: ember.linalg.solve_triangular(a, b, **kw),
             lambda a, b: torch.linalg.solve_triangular(a, b, **kw), [A, B])
    assert gradcheck(lambda a, b: ember.linalg.solve_triangular(a, b, **kw),
                     [well(2, seed=3), T(2, 2, seed=4)])


def test_cholesky_solve_inverse_triangular_solve_gradcheck():
    L = ember.tensor(np.tril(well(3, seed=6, requires_grad=False).numpy()) + 2 * np.eye(3),
                     requires_grad=True)
    b = T(3, 2, seed=7)
    low, up = ember.tensor(np.tril(np.ones((3, 3)))), ember.tensor(np.triu(np.ones((3, 3))))
    # (PyTorch's gradient for the factor is not masked to its triangle: mask the argument)
    assert gradcheck(lambda bb, ll: ember.cholesky_solve(bb, ll * low), [b, L])
    assert gradgradcheck(lambda bb, ll: ember.cholesky_solve(bb, ll * low), [b, L])
    assert gradcheck(lambda ll: ember.cholesky_inverse(ll.mT * up, upper=True), [L])
    assert gradcheck(lambda bb, aa: ember.triangular_solve(bb, aa, upper=False).solution, [b, L])


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_inverse_vs_torch(upper):
    # the factor is used as is: its other triangle is ignored in forward, and the gradient
    # is PyTorch's (that of A^-1 B through A = L L^T, not masked to the triangle)
    F = well(3, batch=(2,), seed=8)
    F = ember.tensor(F.detach().numpy() + 3 * np.eye(3), requires_grad=True)
    b = T(2, 3, 2, seed=9)
    check_op(lambda x, f: ember.cholesky_solve(x, f, upper),
             lambda x, f: torch.cholesky_solve(x, f, upper), [b, F])
    check_op(lambda f: ember.cholesky_inverse(f, upper),
             lambda f: torch.cholesky_inverse(f, upper), [F])
    for call in (lambda m: m.cholesky_solve(m.ones(3), m.ones(3, 3)),
                 lambda m: m.cholesky_solve(m.ones(3, 2), m.ones(3, 3, dtype=m.float64)),
                 lambda m: m.cholesky_solve(m.ones(3, 2), m.ones(3, 2))):
        check_error(lambda: call(ember), lambda: call(torch))


def test_legacy_triangular_and_cholesky_solvers():
    A, b = spd(3, seed=1, requires_grad=False), T(3, 2, seed=2, requires_grad=False)
    L = ember.linalg.cholesky(A)
    tA, tb, tL = to_torch(A), to_torch(b), torch.linalg.cholesky(to_torch(A))
    assert_close(ember.cholesky_solve(b, L), torch.cholesky_solve(tb, tL))
    assert_close(ember.cholesky_solve(b, L.mT, upper=True),
                 torch.cholesky_solve(tb, tL.mT, upper=True))
    assert_close(ember.cholesky_inverse(L), torch.cholesky_inverse(tL))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = torch.triangular_solve(tb, tA, upper=False, transpose=True)
    es = ember.triangular_solve(b, A, upper=False, transpose=True)
    assert_close(es.solution, ts.solution)
    assert_close(es.cloned_coefficient, ts.cloned_coefficient)


# ---------------------------------------------------------------------------------------
# Cholesky, eigh, eig

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [(), (2,)])
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_vs_torch(batch, upper, dtype):
    A = spd(3, batch, dtype, seed=2)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == F32 else {}
    check_op(lambda a: ember.linalg.cholesky(sym(a, ember), upper=upper),
             lambda a: torch.linalg.cholesky(sym(a, torch), upper=upper), [A], **tol)
    # the gradient PyTorch gives for a matrix used as is (only the lower half is read)
    check_op(lambda a: ember.linalg.cholesky(a), lambda a: torch.linalg.cholesky(a), [A], **tol)


def test_cholesky_gradcheck():
    f = lambda a: ember.linalg.cholesky(sym(a, ember))  # noqa: E731
    A = spd(3, seed=3)
    assert gradcheck(f, [A])
    assert gradgradcheck(f, [spd(2, seed=4)])
    assert gradcheck(lambda a: ember.linalg.cholesky(sym(a, ember), upper=True), [spd(2, (2,))])


def test_cholesky_ex():
    A = ember.tensor(np.stack([np.eye(2), [[1.0, 2.0], [2.0, 1.0]]]))
    L, info = ember.linalg.cholesky_ex(A)
    tL, tinfo = torch.linalg.cholesky_ex(to_torch(A))
    assert info.tolist() == tinfo.tolist() == [0, 2]
    assert_close(L[0], tL[0])
    assert info.dtype == ember.int32


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("UPLO", ["L", "U"])
def test_eigh_vs_torch(UPLO, dtype):
    A = spd(4, (2,), dtype, seed=5)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == F32 else dict(rtol=1e-8, atol=1e-9)
    w, V = ember.linalg.eigh(A.detach(), UPLO=UPLO)
    tw, tV = torch.linalg.eigh(to_torch(A.detach()), UPLO=UPLO)
    assert_close(w, tw, **tol)
    np.testing.assert_allclose(fix_signs(V.numpy()), fix_signs(tV.numpy()), **tol)
    assert_close(ember.linalg.eigvalsh(A.detach(), UPLO=UPLO), tw, **tol)
    # gradients of sign-invariant functions of the eigenvectors
    Wt = np.random.default_rng(0).uniform(size=(4, 4)).astype(dtype)
    check_op(lambda a: (ember.linalg.eigh(sym(a, ember), UPLO)[0],
                        _sq_weighted(ember.linalg.eigh(sym(a, ember), UPLO)[1],
                                     ember.tensor(Wt))),
             lambda a: (torch.linalg.eigh(sym(a, torch), UPLO)[0],
                        _sq_weighted(torch.linalg.eigh(sym(a, torch), UPLO)[1],
                                     torch.from_numpy(Wt))), [A], **tol)
    check_op(lambda a: ember.linalg.eigvalsh(sym(a, ember)),
             lambda a: torch.linalg.eigvalsh(sym(a, torch)), [A], **tol)


def _sq_weighted(V, W):
    return V * V * W


def test_eigh_gradcheck():
    A = spd(3, seed=6)
    f = lambda a: (lambda w, V: (w, V * V))(*ember.linalg.eigh(sym(a, ember)))  # noqa: E731
    assert gradcheck(f, [A])
    assert gradcheck(lambda a: ember.linalg.eigvalsh(sym(a, ember)), [A])
    assert gradgradcheck(lambda a: ember.linalg.eigvalsh(sym(a, ember)), [spd(2, seed=7)])
    assert gradgradcheck(f, [spd(2, seed=8)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_eig_eigvals(dtype):
    A = T(3, 3, dtype=dtype, seed=9, requires_grad=False)
    w, V = ember.linalg.eig(A)
    tw = torch.linalg.eigvals(to_torch(A))
    assert w.dtype == (ember.complex64 if dtype == F32 else ember.complex128)
    key = lambda z: np.lexsort((np.round(z.imag, 4), np.round(z.real, 4)))  # noqa: E731
    ew, twn = w.numpy(), tw.numpy()
    np.testing.assert_allclose(ew[key(ew)], twn[key(twn)], rtol=1e-4, atol=1e-5)
    An = A.numpy().astype(V.numpy().dtype)
    np.testing.assert_allclose(An @ V.numpy(), V.numpy() * ew, rtol=1e-4, atol=1e-5)
    ev = ember.linalg.eigvals(A).numpy()
    np.testing.assert_allclose(ev[key(ev)], twn[key(twn)], rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------------
# SVD, QR

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 4, 3)])
@pytest.mark.parametrize("full", [True, False])
def test_svd_vs_torch(shape, full, dtype):
    A = well(*shape[-2:], batch=shape[:-2], dtype=dtype, seed=10)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == F32 else dict(rtol=1e-9, atol=1e-10)
    U, S, Vh = ember.linalg.svd(A.detach(), full_matrices=full)
    tU, tS, tVh = torch.linalg.svd(to_torch(A.detach()), full_matrices=full)
    assert_close(S, tS, **tol)
    k = min(shape[-2:])
    assert tuple(U.shape) == tuple(tU.shape) and tuple(Vh.shape) == tuple(tVh.shape)
    np.testing.assert_allclose(fix_signs(U.numpy()[..., :k]), fix_signs(tU.numpy()[..., :k]),
                               **tol)
    np.testing.assert_allclose(fix_signs(np.swapaxes(Vh.numpy(), -1, -2)[..., :k]),
                               fix_signs(np.swapaxes(tVh.numpy(), -1, -2)[..., :k]), **tol)
    # gradients through sign-invariant functions of U and Vh
    rng = np.random.default_rng(1)
    W1 = rng.uniform(size=tuple(U.shape)).astype(dtype)
    W2 = rng.uniform(size=tuple(Vh.shape)).astype(dtype)

    def f(lib, W1, W2):
        def g(a):
            U, S, Vh = lib.linalg.svd(a, full_matrices=full)
            if full:               # only the first k columns of U / rows of Vh are unique
                U, Vh = U[..., :k], Vh[..., :k, :]
                return U * U * W1[..., :k], S, Vh * Vh * W2[..., :k, :]
            return U * U * W1, S, Vh * Vh * W2
        return g
    check_op(f(ember, ember.tensor(W1), ember.tensor(W2)),
             f(torch, torch.from_numpy(W1), torch.from_numpy(W2)), [A], **tol)
    check_op(ember.linalg.svdvals, torch.linalg.svdvals, [A], **tol)


@pytest.mark.parametrize("shape", [(3, 2), (2, 3), (2, 2)])
def test_svd_gradcheck(shape):
    A = well(*shape, seed=11)
    f = lambda a: (lambda U, S, Vh: (U * U, S, Vh * Vh))(*ember.linalg.svd(  # noqa: E731
        a, full_matrices=False))
    assert gradcheck(f, [A])
    assert gradcheck(ember.linalg.svdvals, [A])
    assert gradgradcheck(ember.linalg.svdvals, [A])
    assert gradgradcheck(f, [well(2, seed=12)])


def test_svd_reconstruction_gradient_is_identity():
    A = well(3, 2, seed=13)
    U, S, Vh = ember.linalg.svd(A, full_matrices=False)
    R = (U * S.reshape(1, 2)) @ Vh
    g = ember.tensor(np.random.default_rng(0).standard_normal((3, 2)))
    (gA,) = ember.autograd.grad(R, [A], g)
    np.testing.assert_allclose(gA.numpy(), g.numpy(), atol=1e-10)


@pytest.mark.parametrize("some", [True, False])
def test_legacy_svd(some):
    A = well(4, 3, seed=14)
    U, S, V = ember.svd(A.detach(), some=some)
    tU, tS, tV = torch.svd(to_torch(A.detach()), some=some)
    assert tuple(V.shape) == tuple(tV.shape) and tuple(U.shape) == tuple(tU.shape)
    assert_close(S, tS)
    np.testing.assert_allclose(fix_signs(V.numpy()[:, :3]), fix_signs(tV.numpy()[:, :3]),
                               atol=1e-10)
    r = ember.svd(A.detach(), compute_uv=False)
    t = torch.svd(to_torch(A.detach()), compute_uv=False)
    assert_close(tuple(r), tuple(t))
    check_op(lambda a: (lambda U, S, V: (U * U, S, V * V))(*ember.svd(a)),
             lambda a: (lambda U, S, V: (U * U, S, V * V))(*torch.svd(a)), [A])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,mode", [
    ((4, 3), "reduced"), ((3, 4), "reduced"), ((3, 3), "reduced"), ((2, 4, 3), "reduced"),
    ((4, 3), "complete"), ((3, 4), "complete"), ((4, 3), "r"),
])
def test_qr_vs_torch(shape, mode, dtype):
    A = well(*shape[-2:], batch=shape[:-2], dtype=dtype, seed=15)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == F32 else {}
    differentiable = mode != "r" and not (mode == "complete" and shape[-2] > shape[-1])
    if not differentiable:
        A = A.detach()
    check_op(lambda a: tuple(ember.linalg.qr(a, mode)), lambda a: tuple(torch.linalg.qr(a, mode)),
             [A], **tol)


@pytest.mark.parametrize("shape", [(3, 2), (2, 2), (2, 3)])
def test_qr_gradcheck(shape):
    A = well(*shape, seed=16)
    f = lambda a: tuple(ember.linalg.qr(a))  # noqa: E731
    assert gradcheck(f, [A])
    assert gradgradcheck(f, [A])


def test_qr_backward_errors():
    A = well(3, 2, seed=17)
    Q, R = ember.linalg.qr(A, mode="complete")
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete'"):
        ember.autograd.grad(Q, [A], ember.ones(3, 3, dtype=ember.float64))
    Q, R = ember.linalg.qr(A, mode="r")
    assert tuple(Q.shape) == (0,)
    with pytest.raises(RuntimeError, match="depends on Q, which is not computed"):
        ember.autograd.grad(R, [A], ember.ones(2, 2, dtype=ember.float64))
    Q, R = ember.qr(A.detach())
    tQ, tR = torch.linalg.qr(to_torch(A.detach()))
    assert_close(Q, tQ)
    assert_close(R, tR)


# ---------------------------------------------------------------------------------------
# pinv, lstsq, rank, powers, exp, cond

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3)])
def test_pinv_vs_torch(shape, dtype):
    A = well(*shape[-2:], batch=shape[:-2], dtype=dtype, seed=18)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == F32 else {}
    check_op(ember.linalg.pinv, torch.linalg.pinv, [A], **tol)
    check_op(ember.pinverse, torch.pinverse, [A], **tol)


@pytest.mark.parametrize("kw", [dict(), dict(rtol=0.6), dict(atol=1.5), dict(atol=0.1, rtol=0.9),
                                dict(hermitian=True)])
def test_pinv_tolerances(kw):
    A = spd(3, seed=19, requires_grad=False) if kw.get("hermitian") else \
        ember.tensor(np.array([[2.0, 0, 0], [0, 1.0, 0], [0, 0, 1e-12], [0, 0, 0]]))
    assert_close(ember.linalg.pinv(A, **kw), torch.linalg.pinv(to_torch(A), **kw))
    assert_close(ember.linalg.matrix_rank(A, **kw), torch.linalg.matrix_rank(to_torch(A), **kw))
    assert_close(ember.linalg.matrix_rank(A, tol=0.5), torch.linalg.matrix_rank(to_torch(A),
                                                                                tol=0.5))


def test_pinv_gradcheck():
    for shape in [(3, 2), (2, 3)]:
        A = well(*shape, seed=20)
        assert gradcheck(ember.linalg.pinv, [A])
    assert gradgradcheck(ember.linalg.pinv, [well(2, 3, seed=21)])
    assert gradcheck(lambda a: ember.linalg.pinv(sym(a, ember), hermitian=True), [spd(2, seed=2)])


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("sa,sb", [((5, 3), (5, 2)), ((5, 3), (5,)), ((2, 5, 3), (2, 5)),
                                   ((3, 5), (3, 2))])
def test_lstsq_vs_torch(sa, sb, driver):
    A = well(*sa[-2:], batch=sa[:-2], seed=22)
    B = T(*sb, seed=23)
    if sa[-2] < sa[-1] and driver in ("gels",):
        A = A.detach()                       # (torch's gels needs full column rank)
        return
    e = ember.linalg.lstsq(A, B, driver=driver)
    t = torch.linalg.lstsq(to_torch(A), to_torch(B), driver=driver)
    for name in ("solution", "residuals", "rank", "singular_values"):
        assert_close(getattr(e, name), getattr(t, name), msg=name)
    check_op(lambda a, b: tuple(ember.linalg.lstsq(a, b, driver=driver))[:2],
             lambda a, b: tuple(torch.linalg.lstsq(a, b, driver=driver))[:2], [A, B])


def test_lstsq_rank_deficient_and_gradcheck():
    A = ember.tensor(np.ones((5, 3)))
    B = T(5, 2, requires_grad=False)
    e = ember.linalg.lstsq(A, B, driver="gelsd")
    t = torch.linalg.lstsq(to_torch(A), to_torch(B), driver="gelsd")
    assert_close(e.solution, t.solution)
    assert e.rank.item() == 1 and tuple(e.residuals.shape) == (0,)
    assert gradcheck(lambda a, b: ember.linalg.lstsq(a, b).solution, [well(4, 3, seed=24),
                                                                       T(4, 2, seed=25)])


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, -1, -2])
def test_matrix_power(n):
    A = well(3, batch=(2,), seed=26)
    check_op(lambda a: ember.linalg.matrix_power(a, n), lambda a: torch.linalg.matrix_power(a, n),
             [A])
    check_op(lambda a: a.matrix_power(n), lambda a: a.matrix_power(n), [A])
    if n:
        assert gradcheck(lambda a: ember.matrix_power(a, n), [well(2, seed=27)])


def test_matrix_power_integer():
    A = ember.tensor(np.arange(4).reshape(2, 2))
    assert_close(ember.linalg.matrix_power(A, 3), torch.linalg.matrix_power(to_torch(A), 3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", [0.1, 1.0, 30.0])
def test_matrix_exp_vs_torch(scale, dtype):
    A = T(2, 3, 3, dtype=dtype, seed=28)
    A = ember.tensor((A.detach().numpy() * scale).astype(dtype), requires_grad=True)
    tol = dict(rtol=2e-4, atol=1e-4) if dtype == F32 else dict(rtol=1e-9, atol=1e-9)
    check_op(ember.linalg.matrix_exp, torch.linalg.matrix_exp, [A], **tol)
    check_op(ember.matrix_exp, torch.matrix_exp, [A], **tol)


def test_matrix_exp_gradcheck():
    A = T(2, 2, seed=29)
    assert gradcheck(ember.linalg.matrix_exp, [A])
    assert gradgradcheck(ember.linalg.matrix_exp, [A])


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, math.inf, -math.inf])
def test_cond(p):
    A = well(3, batch=(2,), seed=30)
    # (torch's own backward of cond fails for these orders: compare values with torch and
    # gradients numerically)
    check_op(lambda a: ember.linalg.cond(a, p), lambda a: torch.linalg.cond(a, p), [A],
             grad=p in (None, 2, -2))
    assert gradcheck(lambda a: ember.linalg.cond(a, p), [well(2, seed=31)])


def test_cond_singular_and_nonsquare():
    S = ember.tensor([[1.0, 2.0], [2.0, 4.0]])
    assert ember.linalg.cond(S, 1).item() == math.inf
    R = T(2, 3, requires_grad=False)
    assert_close(ember.linalg.cond(R), torch.linalg.cond(to_torch(R)))


# ---------------------------------------------------------------------------------------
# norms

VECTOR_NORMS = [
    (2, None, False), (2, 1, True), (1, (0, 1), False), (3, -1, False), (0.5, 0, False),
    (math.inf, None, False), (-math.inf, 1, True), (0, None, False), (-1, 1, False),
    (-1.5, None, False), (2, (), False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord,dim,keepdim", VECTOR_NORMS)
def test_vector_norm_vs_torch(ord, dim, keepdim, dtype):
    x = T(3, 4, dtype=dtype, seed=32)
    check_op(lambda a: ember.linalg.vector_norm(a, ord, dim, keepdim),
             lambda a: torch.linalg.vector_norm(a, ord, dim, keepdim), [x])
    if dtype == F64:
        assert gradcheck(lambda a: ember.linalg.vector_norm(a, ord, dim, keepdim), [x])


def test_vector_norm_at_zero_and_dtype():
    z = ember.zeros(3, dtype=ember.float64, requires_grad=True)
    check_op(ember.linalg.vector_norm, torch.linalg.vector_norm, [z])
    x = T(3, dtype=F32)
    r = ember.linalg.vector_norm(x, dtype=ember.float64)
    assert r.dtype == ember.float64
    assert_close(r, torch.linalg.vector_norm(to_torch(x), dtype=torch.float64))
    assert_close(ember.linalg.vector_norm(ember.tensor(-3.0)), torch.tensor(3.0))
    assert gradgradcheck(lambda a: ember.linalg.vector_norm(a), [T(3, seed=33)])
    assert gradgradcheck(lambda a: ember.linalg.vector_norm(a, 3), [T(3, seed=33)])


MATRIX_NORMS = ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", MATRIX_NORMS)
def test_matrix_norm_vs_torch(ord, dtype):
    A = well(3, 4, batch=(2,), dtype=dtype, seed=34)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == F32 else {}
    check_op(lambda a: ember.linalg.matrix_norm(a, ord),
             lambda a: torch.linalg.matrix_norm(a, ord), [A], **tol)
    check_op(lambda a: ember.linalg.matrix_norm(a, ord, dim=(0, 2), keepdim=True),
             lambda a: torch.linalg.matrix_norm(a, ord, dim=(0, 2), keepdim=True), [A], **tol)
    if dtype == F64:
        assert gradcheck(lambda a: ember.linalg.matrix_norm(a, ord), [well(2, 3, seed=35)])


@pytest.mark.parametrize("ord,dim", [
    (None, None), (None, 1), (3, 1), (2, None), ("fro", None), ("nuc", None), (math.inf, None),
    (None, (0, 1)), ("nuc", (1, 0)), (-1, (0,)),
])
def test_linalg_norm_vs_torch(ord, dim):
    x = T(3, 4, seed=36)
    check_op(lambda a: ember.linalg.norm(a, ord, dim), lambda a: torch.linalg.norm(a, ord, dim),
             [x])
    v = T(5, seed=37)
    if dim is None and not isinstance(ord, str):
        check_op(lambda a: ember.linalg.norm(a, ord), lambda a: torch.linalg.norm(a, ord), [v])


def test_norm_empty_and_errors():
    assert_close(ember.linalg.vector_norm(ember.ones(0, 4)),
                 torch.linalg.vector_norm(torch.ones(0, 4)))
    assert_close(ember.linalg.vector_norm(ember.ones(0, 4), math.inf, 1),
                 torch.linalg.vector_norm(torch.ones(0, 4), math.inf, 1))
    assert_close(ember.linalg.matrix_norm(ember.ones(0, 3), 1),
                 torch.linalg.matrix_norm(torch.ones(0, 3), 1))
    calls = [
        lambda m: m.linalg.vector_norm(m.ones(0, 4), ord=math.inf),
        lambda m: m.linalg.vector_norm(m.ones(0, 4), ord=-1),
        lambda m: m.linalg.vector_norm(m.ones(3, 4, dtype=m.int64)),
        lambda m: m.linalg.vector_norm(m.ones(3, 3), dim=(0, 0)),
        lambda m: m.linalg.matrix_norm(m.ones(3, 4), 3),
        lambda m: m.linalg.matrix_norm(m.ones(4)),
        lambda m: m.linalg.matrix_norm(m.ones(3, 4, dtype=m.int64)),
        lambda m: m.linalg.matrix_norm(m.ones(3, 3), dim=(0, 0)),
        lambda m: m.linalg.matrix_norm(m.ones(3, 3), dim=(0,)),
        lambda m: m.linalg.norm(m.ones(3, 4, 5), ord=2),
        lambda m: m.linalg.norm(m.ones(3, 4), ord="fro", dim=1),
        lambda m: m.linalg.cond(m.ones(2, 3), "fro"),
        lambda m: m.linalg.cond(m.ones(2, 2), 3),
    ]
    for call in calls:
        check_error(lambda: call(ember), lambda: call(torch))
    check_error(lambda: ember.linalg.vector_norm(ember.ones(3), ord="fro"),
                lambda: torch.linalg.vector_norm(torch.ones(3), ord="fro"), TypeError)


def test_vecdot_multi_dot_tensorinv_tensorsolve_diagonal():
    x, y = T(2, 3, seed=39), T(3, seed=40)
    check_op(ember.linalg.vecdot, torch.linalg.vecdot, [x, y])
    check_op(lambda a, b: ember.linalg.vecdot(a, b, dim=0),
             lambda a, b: torch.linalg.vecdot(a, b, dim=0), [T(3, 2), T(3, 1, seed=2)])
    chain = [T(3, seed=1), T(3, 4, seed=2), T(4, 2, seed=3), T(2, 5, seed=4), T(5, seed=5)]
    check_op(lambda *a: ember.linalg.multi_dot(a), lambda *a: torch.linalg.multi_dot(a), chain)
    check_op(lambda *a: ember.linalg.multi_dot(a), lambda *a: torch.linalg.multi_dot(a),
             [T(2, 3), T(3, 4, seed=1), T(4, 6, seed=2)])
    check_op(lambda *a: ember.linalg.multi_dot(a), lambda *a: torch.linalg.multi_dot(a),
             [T(2, 3), T(3, seed=1)])
    A = ember.tensor(well(6, requires_grad=False).numpy().reshape(6, 2, 3), requires_grad=True)
    check_op(lambda a: ember.linalg.tensorinv(a, ind=1), lambda a: torch.linalg.tensorinv(a, ind=1),
             [A])
    B = ember.tensor(well(6, requires_grad=False).numpy().reshape(2, 3, 6), requires_grad=True)
    check_op(ember.linalg.tensorsolve, torch.linalg.tensorsolve, [B, T(2, 3, seed=3)])
    check_error(lambda: ember.linalg.vecdot(ember.ones(2, 3), ember.ones(3, dtype=ember.float64)),
                lambda: torch.linalg.vecdot(torch.ones(2, 3), torch.ones(3, dtype=torch.float64)))
    check_error(lambda: ember.linalg.vecdot(ember.ones(3, dtype=ember.int64),
                                            ember.ones(3, dtype=ember.int64)),
                lambda: torch.linalg.vecdot(torch.ones(3, dtype=torch.long),
                                            torch.ones(3, dtype=torch.long)))
    check_op(ember.linalg.diagonal, torch.linalg.diagonal, [T(2, 3, 4)])
    check_op(lambda a: ember.linalg.diagonal(a, offset=1, dim1=0, dim2=2),
             lambda a: torch.linalg.diagonal(a, offset=1, dim1=0, dim2=2), [T(3, 2, 4)])


# ---------------------------------------------------------------------------------------
# decomposition errors

SING = [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]]


@pytest.mark.parametrize("call", [
    lambda m: m.linalg.inv(m.ones(2, 3)),
    lambda m: m.linalg.inv(m.ones(3)),
    lambda m: m.linalg.inv(m.ones(3, 3, dtype=m.int64)),
    lambda m: m.linalg.inv(m.ones(3, 3, dtype=m.float16)),
    lambda m: m.linalg.inv(m.tensor(SING)),
    lambda m: m.linalg.inv(m.tensor(np.stack([np.eye(3), SING]).astype(np.float32))),
    lambda m: m.linalg.inv(m.zeros(3, 3)),
    lambda m: m.linalg.det(m.ones(2, 3)),
    lambda m: m.linalg.det(m.ones(3)),
    lambda m: m.linalg.det(m.ones(3, 3, dtype=m.int64)),
    lambda m: m.linalg.cholesky(m.ones(3, 3)),
    lambda m: m.linalg.cholesky(m.tensor(np.stack([np.eye(3), np.ones((3, 3))]).astype(
        np.float32))),
    lambda m: m.linalg.cholesky(-m.ones(1, 1)),
    lambda m: m.linalg.cholesky(m.ones(2, 3)),
    lambda m: m.linalg.solve(m.ones(3, 3), m.ones(2, 3)),
    lambda m: m.linalg.solve(m.ones(3, 3), m.ones(4)),
    lambda m: m.linalg.solve(m.ones(3, 3), m.ones(4, 5)),
    lambda m: m.linalg.solve(m.ones(3, 3), m.ones(3), left=False),
    lambda m: m.linalg.solve(m.ones(3, 3), m.ones(3, dtype=m.float64)),
    lambda m: m.linalg.solve(m.ones(3, 3, dtype=m.int64), m.ones(3, dtype=m.int64)),
    lambda m: m.linalg.solve(m.ones(2, 3, 3), m.ones(4, 3, 4)),
    lambda m: m.linalg.solve(m.tensor(SING), m.ones(3)),
    lambda m: m.linalg.solve_triangular(m.ones(3, 3), m.ones(3), upper=True),
    lambda m: m.linalg.solve_triangular(m.ones(3, 3), m.ones(4, 2), upper=True),
    lambda m: m.linalg.eigh(m.ones(2, 3)),
    lambda m: m.linalg.eigh(m.ones(3, 3), UPLO="X"),
    lambda m: m.linalg.eig(m.ones(3, 4)),
    lambda m: m.linalg.svd(m.ones(3)),
    lambda m: m.linalg.svd(m.ones(3, 3, dtype=m.int64)),
    lambda m: m.linalg.qr(m.ones(3)),
    lambda m: m.linalg.qr(m.ones(4, 3), mode="x"),
    lambda m: m.linalg.qr(m.ones(3, 3, dtype=m.int64)),
    lambda m: m.linalg.pinv(m.ones(4, 3), hermitian=True),
    lambda m: m.linalg.matrix_rank(m.ones(4, 3), hermitian=True),
    lambda m: m.linalg.matrix_power(m.ones(3, 2), 2),
    lambda m: m.linalg.matrix_power(m.ones(3, 3), -1),
    lambda m: m.linalg.matrix_power(m.ones(3, 3, dtype=m.int64), -2),
    lambda m: m.linalg.matrix_exp(m.ones(3, 3, dtype=m.int64)),
    lambda m: m.linalg.lstsq(m.ones(5, 3), m.ones(4, 2)),
    lambda m: m.linalg.lstsq(m.ones(5, 3), m.ones(5, 2, dtype=m.float64)),
    lambda m: m.linalg.lstsq(m.ones(5, 3), m.ones(5, 2), driver="foo"),
])
def test_decomposition_errors_match_torch(call):
    check_error(lambda: call(ember), lambda: call(torch))


def test_linalg_error_type():
    assert issubclass(ember.linalg.LinAlgError, RuntimeError)
    with pytest.raises(ember.linalg.LinAlgError):
        ember.linalg.inv(ember.zeros(2, 2))
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        ember.linalg.eigh(ember.ones(3, 3, dtype=ember.int64))


def test_inv_ex_and_solve_ex():
    A = ember.tensor(np.stack([np.eye(2), [[1.0, 2.0], [2.0, 4.0]]]))
    inv, info = ember.linalg.inv_ex(A)
    assert info.tolist() == torch.linalg.inv_ex(to_torch(A)).info.tolist() == [0, 2]
    assert_close(inv[0], torch.eye(2, dtype=torch.float64))
    with pytest.raises(ember.linalg.LinAlgError, match=r"\(Batch element 1\)"):
        ember.linalg.inv_ex(A, check_errors=True)
    r, info = ember.linalg.solve_ex(A, ember.ones(2, 2, dtype=ember.float64))
    assert info.tolist() == [0, 2]
    assert_close(r[0], torch.ones(2, dtype=torch.float64))


# ---------------------------------------------------------------------------------------
# speed: matmul forward + backward at an MLP layer's size stays close to raw NumPy

def _mlp_layer():
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((64, 784)).astype(F32))
    w = ember.tensor(rng.standard_normal((256, 784)).astype(F32) * 0.01, requires_grad=True)
    g = ember.tensor(rng.standard_normal((64, 256)).astype(F32))
    return x, w, g


def test_matmul_calls_blas_once_per_product_in_float32(monkeypatch):
    x, w, g = _mlp_layer()
    calls = []
    real = np.matmul

    def counting(a, b, *args, **kw):
        calls.append((a.dtype, b.dtype, a.shape, b.shape))
        return real(a, b, *args, **kw)
    monkeypatch.setattr(np, "matmul", counting)
    (x @ w.t()).backward(g)
    # one product forward, one for w's gradient (x needs none); all float32, no upcast
    assert len(calls) == 2, calls
    assert all(a == np.float32 and b == np.float32 for a, b, _, _ in calls)
    monkeypatch.setattr(np, "matmul", real)
    np.testing.assert_allclose(w.grad.numpy(), g.numpy().T @ x.numpy(), rtol=1e-4, atol=1e-3)
    assert w.grad.dtype == ember.float32 and w.grad.numpy().flags.c_contiguous


# ---------------------------------------------------------------------------------------
# complex inputs, empty inputs, namespaces and odds and ends

def _c(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _hpd(n, seed=0):
    m = _c(n, n, seed=seed)
    return m @ m.conj().T + n * np.eye(n)


COMPLEX_CASES = [
    ("matmul", lambda m: lambda a, b: m.matmul(a, b), [_c(2, 3), _c(3, 4, seed=1)]),
    ("matmul-mv", lambda m: lambda a, b: m.matmul(a, b), [_c(2, 3), _c(3, seed=1)]),
    ("dot", lambda m: m.dot, [_c(3), _c(3, seed=1)]),
    ("vdot", lambda m: m.vdot, [_c(3), _c(3, seed=1)]),
    ("einsum", lambda m: lambda a, b: m.einsum("ij,jk", a, b), [_c(2, 3), _c(3, 2, seed=1)]),
    ("cross", lambda m: lambda a, b: m.linalg.cross(a, b), [_c(2, 3), _c(2, 3, seed=1)]),
    ("kron", lambda m: m.kron, [_c(2, 2), _c(2, 1, seed=1)]),
    ("inv", lambda m: m.linalg.inv, [_c(3, 3) + 3 * np.eye(3)]),
    ("det", lambda m: m.linalg.det, [_c(3, 3) + 3 * np.eye(3)]),
    ("slogdet", lambda m: lambda a: m.linalg.slogdet(a)[1], [_c(3, 3) + 3 * np.eye(3)]),
    ("solve", lambda m: m.linalg.solve, [_c(3, 3) + 3 * np.eye(3), _c(3, 2, seed=1)]),
    ("cholesky", lambda m: m.linalg.cholesky, [_hpd(3)]),
    ("eigvalsh", lambda m: m.linalg.eigvalsh, [_hpd(3)]),
    ("svdvals", lambda m: m.linalg.svdvals, [_c(3, 2)]),
    ("qr", lambda m: lambda a: tuple(m.linalg.qr(a)), [_c(3, 2)]),
    ("pinv", lambda m: m.linalg.pinv, [_c(3, 2)]),
    ("lstsq", lambda m: lambda a, b: m.linalg.lstsq(a, b).solution, [_c(4, 2), _c(4, 1, seed=1)]),
    ("matrix_exp", lambda m: m.linalg.matrix_exp, [_c(2, 2)]),
    ("vector_norm", lambda m: lambda a: m.linalg.vector_norm(a, 3), [_c(3, 2)]),
    ("matrix_norm", lambda m: lambda a: m.linalg.matrix_norm(a, "nuc"), [_c(3, 2)]),
    # (vecdot: its conj(x) * y is the vdot case; torch's conj-bit views defeat check_op)
]


@pytest.mark.parametrize("name,make,arrays", COMPLEX_CASES, ids=[c[0] for c in COMPLEX_CASES])
def test_complex_vs_torch(name, make, arrays):
    xs = [ember.tensor(a, requires_grad=True) for a in arrays]
    check_op(make(ember), make(torch), xs)


def test_complex_vecdot():
    x, y = _c(4, 2), _c(4, 2, seed=1)
    r = ember.linalg.vecdot(ember.tensor(x), ember.tensor(y), dim=0)
    t = torch.linalg.vecdot(torch.tensor(x), torch.tensor(y), dim=0).resolve_conj()
    assert_close(r, t)


def test_complex_eigh_and_svd_gradients():
    rng = np.random.default_rng(1)
    H, A = _hpd(3, seed=2), _c(3, 2, seed=3)
    W, W1, W2 = rng.uniform(size=(3, 3)), rng.uniform(size=(3, 2)), rng.uniform(size=(2, 2))

    def eigh_loss(m, a):        # phase-invariant: |V|^2
        w, V = m.linalg.eigh(a)
        return m.einsum("i->", w) + m.einsum("ij,ij->", (V * V.conj()).real, m.tensor(W))

    def svd_loss(m, a):
        U, S, Vh = m.linalg.svd(a, full_matrices=False)
        return (m.einsum("ij,ij->", (U * U.conj()).real, m.tensor(W1)) + m.einsum("i->", S)
                + m.einsum("ij,ij->", (Vh * Vh.conj()).real, m.tensor(W2)))
    for loss, x in ((eigh_loss, H), (svd_loss, A)):
        e = ember.tensor(x, requires_grad=True)
        t = torch.tensor(x, requires_grad=True)
        (eg,) = ember.autograd.grad(loss(ember, e), [e])
        (tg,) = torch.autograd.grad(loss(torch, t), [t])
        assert_close(eg, tg)


EMPTY_CASES = [
    ("svd", lambda m, a: tuple(m.linalg.svd(a)), (0, 3)),
    ("svd-reduced", lambda m, a: tuple(m.linalg.svd(a, full_matrices=False)), (3, 0)),
    ("svdvals", lambda m, a: m.linalg.svdvals(a), (2, 0, 3)),
    ("eigh", lambda m, a: tuple(m.linalg.eigh(a)), (0, 0)),
    ("qr", lambda m, a: tuple(m.linalg.qr(a)), (0, 3)),
    ("cholesky", lambda m, a: m.linalg.cholesky(a), (0, 0)),
    ("inv", lambda m, a: m.linalg.inv(a), (2, 0, 0)),
    ("slogdet", lambda m, a: tuple(m.linalg.slogdet(a)), (0, 0)),
    ("pinv", lambda m, a: m.linalg.pinv(a), (0, 3)),
    ("matrix_rank", lambda m, a: m.linalg.matrix_rank(a), (0, 3)),
    ("matrix_exp", lambda m, a: m.linalg.matrix_exp(a), (0, 0)),
    ("matrix_norm-2", lambda m, a: m.linalg.matrix_norm(a, 2), (0, 3)),
    ("matrix_norm-nuc", lambda m, a: m.linalg.matrix_norm(a, "nuc"), (3, 0)),
    ("matrix_norm-inf", lambda m, a: m.linalg.matrix_norm(a, math.inf), (0, 3)),
    ("vector_norm", lambda m, a: m.linalg.vector_norm(a, 0.5), (0, 3)),
    ("matrix_power", lambda m, a: m.linalg.matrix_power(a, 3), (0, 0)),
    ("cond", lambda m, a: m.linalg.cond(a), (2, 0, 0)),
    ("einsum", lambda m, a: m.einsum("ij->j", a), (0, 3)),
    ("solve", lambda m, a: m.linalg.solve(a, a), (0, 0)),
]


@pytest.mark.parametrize("name,fn,shape", EMPTY_CASES, ids=[c[0] for c in EMPTY_CASES])
def test_empty_inputs_vs_torch(name, fn, shape):
    x = ember.zeros(*shape, dtype=ember.float64)
    assert_close(fn(ember, x), fn(torch, to_torch(x)))


def test_linalg_namespace():
    assert ember.linalg.__name__ == "ember.linalg"
    for name in ember.linalg.__all__:
        assert hasattr(torch.linalg, name), name
        assert callable(getattr(ember.linalg, name)) or name == "LinAlgError"
    for name in ("matmul", "mm", "bmm", "mv", "dot", "vdot", "outer", "ger", "inner", "addmm",
                 "kron", "cross", "svd", "det", "inverse", "pinverse", "cholesky", "logdet",
                 "slogdet", "matrix_power", "matrix_exp", "qr", "addmm_", "baddbmm_"):
        assert hasattr(ember.Tensor, name), name


def test_legacy_cholesky_and_out():
    A = spd(3, seed=5)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for upper in (False, True):
            check_op(lambda a: ember.cholesky(sym(a, ember), upper),
                     lambda a: torch.cholesky(sym(a, torch), upper), [A])
    a, b = T(2, 3, requires_grad=False), T(3, 4, requires_grad=False)
    out = ember.empty(0, dtype=ember.float64)
    r = ember.matmul(a, b, out=out)
    assert r is out and tuple(out.shape) == (2, 4)
    assert_close(out, to_torch(a) @ to_torch(b))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        ember.mm(T(2, 3), b, out=ember.empty(2, 4, dtype=ember.float64))


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_eig_gradient_vs_torch(dtype):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 3)).astype(dtype)
    if dtype == np.complex128:
        a = a + 1j * rng.standard_normal((3, 3))
    W, gw = rng.uniform(size=(3, 3)), rng.standard_normal(3)

    def loss(m, x):             # phase-invariant functions of the eigenvectors
        w, V = m.linalg.eig(x)
        return (m.einsum("i,i->", (w * w.conj()).real, m.tensor(gw)) + m.einsum("i->", w.real)
                + m.einsum("ij,ij->", (V * V.conj()).real, m.tensor(W)))
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (eg,) = ember.autograd.grad(loss(ember, e), [e])
    (tg,) = torch.autograd.grad(loss(torch, t), [t])
    assert_close(eg, tg)


def test_einsum_sublist_form():
    a, b = T(2, 3), T(3, 4, seed=1)
    check_op(lambda x, y: ember.einsum(x, [0, 1], y, [1, 2], [0, 2]),
             lambda x, y: torch.einsum(x, [0, 1], y, [1, 2], [0, 2]), [a, b])
    check_op(lambda x, y: ember.einsum(x, [Ellipsis, 1], y, [1, 2]),
             lambda x, y: torch.einsum(x, [Ellipsis, 1], y, [1, 2]), [a, b])


@pytest.mark.parametrize("dtype", [F32, F64, np.int64])
@pytest.mark.parametrize("shape,N", [((3,), None), ((2, 3), 4), ((4,), 2)])
def test_vander(shape, N, dtype):
    x = T(*shape, dtype=F64, seed=3, requires_grad=False)
    x = ember.tensor((x.numpy() * 3).astype(dtype), requires_grad=dtype != np.int64)
    check_op(lambda a: ember.linalg.vander(a, N=N), lambda a: torch.linalg.vander(a, N=N), [x])
    if dtype == F64:
        assert gradcheck(lambda a: ember.linalg.vander(a, N=N), [x])
        assert gradgradcheck(lambda a: ember.linalg.vander(a, N=N), [x])
    check_error(lambda: ember.linalg.vander(ember.ones(3), N=1),
                lambda: torch.linalg.vander(torch.ones(3), N=1))
