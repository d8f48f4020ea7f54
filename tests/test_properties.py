"""Property tests (Hypothesis) for shapes, broadcasting, views and indexing, against NumPy
as the reference for the array semantics."""
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import ember  # noqa: E402

shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)
nonempty_shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)


def _arr(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
       st.sampled_from(["add", "sub", "mul", "div"]))
def test_binary_broadcasting_matches_numpy(bs, op):
    a_shape, b_shape = bs.input_shapes
    a, b = _arr(a_shape, 1), _arr(b_shape, 2) + 3.0
    ea = ember.tensor(a, requires_grad=True)
    eb = ember.tensor(b, requires_grad=True)
    out = getattr(ember, op)(ea, eb)
    expected = {"add": np.add, "sub": np.subtract, "mul": np.multiply,
                "div": np.divide}[op](a, b)
    assert tuple(out.shape) == bs.result_shape == expected.shape
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12)
    # the gradient of a broadcast input is the output gradient summed back to its shape
    g = _arr(expected.shape, 3)
    ga, gb = ember.autograd.grad(out, (ea, eb), ember.tensor(g))
    assert ga.shape == a_shape and gb.shape == b_shape
    if op == "add":
        lead = len(expected.shape) - len(a_shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(a_shape)
                                          if s == 1 and expected.shape[lead + i] != 1)
        np.testing.assert_allclose(ga.numpy(), g.sum(axis=axes).reshape(a_shape), rtol=1e-12)


@st.composite
def shape_and_reshape(draw):
    shape = draw(shapes)
    n = int(np.prod(shape))
    # a random factorisation of n into a new shape, with one -1 sometimes
    new, rest = [], n
    for _ in range(draw(st.integers(0, 3))):
        divisors = [d for d in range(1, 5) if rest % d == 0] if rest else [0, 1, 2]
        d = draw(st.sampled_from(divisors))
        new.append(d)
        rest = rest // d if d else 0
    if rest or not new or n == 0:
        new.append(rest if n else 0)
    if n and draw(st.booleans()):
        new[draw(st.integers(0, len(new) - 1))] = -1
    return shape, tuple(new)


@given(shape_and_reshape())
def test_reshape_view_round_trip(case):
    shape, new = case
    a = _arr(shape)
    x = ember.tensor(a)
    y = x.view(new)
    np.testing.assert_array_equal(y.numpy(), a.reshape(new))
    assert np.shares_memory(y.numpy(), x.numpy()) or a.size == 0
    np.testing.assert_array_equal(y.view(shape).numpy(), a)
    np.testing.assert_array_equal(y.reshape(shape).numpy(), a)
    np.testing.assert_array_equal(x.flatten().numpy(), a.reshape(-1))


@given(nonempty_shapes, st.data())
def test_permute_inverse(shape, data):
    a = _arr(shape)
    x = ember.tensor(a, requires_grad=True)
    perm = data.draw(st.permutations(range(len(shape))))
    y = x.permute(*perm)
    np.testing.assert_array_equal(y.detach().numpy(), a.transpose(perm))
    inv = tuple(int(i) for i in np.argsort(perm))
    np.testing.assert_array_equal(y.permute(inv).detach().numpy(), a)
    g = _arr(y.shape, 5)
    (gx,) = ember.autograd.grad(y, x, ember.tensor(g))
    np.testing.assert_array_equal(gx.numpy(), g.transpose(inv))


@given(nonempty_shapes, st.data())
def test_transpose_twice_is_identity(shape, data):
    a = _arr(shape)
    nd = len(shape)
    d0 = data.draw(st.integers(-nd, nd - 1))
    d1 = data.draw(st.integers(-nd, nd - 1))
    y = ember.tensor(a).transpose(d0, d1)
    np.testing.assert_array_equal(y.numpy(), np.swapaxes(a, d0, d1))
    np.testing.assert_array_equal(y.transpose(d0, d1).numpy(), a)


@st.composite
def basic_index(draw, shape):
    """A random basic index: ints, slices with positive steps, None and Ellipsis."""
    items = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "slice", "skip"]))
        if kind == "int" and n > 0:
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice" or (kind == "int" and n == 0):
            start = draw(st.none() | st.integers(-n - 2, n + 2))
            stop = draw(st.none() | st.integers(-n - 2, n + 2))
            step = draw(st.none() | st.integers(1, 3))
            items.append(slice(start, stop, step))
        else:
            break
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    if draw(st.booleans()) and len(items) < len(shape):
        # at the end, so that each int/slice still meets the dimension it was drawn for
        items.append(Ellipsis)
    return tuple(items)


@given(shapes, st.data())
def test_basic_indexing_matches_numpy(shape, data):
    a = _arr(shape)
    idx = data.draw(basic_index(shape))
    x = ember.tensor(a, requires_grad=True)
    y = x[idx]
    np.testing.assert_array_equal(y.detach().numpy(), a[idx])
    assert y._base is x                          # basic indexing is a view
    g = _arr(a[idx].shape, 7)
    (gx,) = ember.autograd.grad(y, x, ember.tensor(g))
    expected = np.zeros_like(a)
    expected[idx] = g
    np.testing.assert_array_equal(gx.numpy(), expected)


@given(shapes, st.data())
def test_basic_setitem_matches_numpy(shape, data):
    a = _arr(shape)
    idx = data.draw(basic_index(shape))
    x = ember.tensor(a.copy())
    v = _arr(a[idx].shape, 9)
    x[idx] = ember.tensor(v)
    expected = a.copy()
    expected[idx] = v
    np.testing.assert_array_equal(x.numpy(), expected)


@given(nonempty_shapes, st.data())
def test_split_cat_round_trip(shape, data):
    a = _arr(shape)
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1))
    n = shape[dim]
    x = ember.tensor(a, requires_grad=True)
    if data.draw(st.booleans()):
        size = data.draw(st.integers(1, n + 1))
        pieces = x.split(size, dim)
    else:
        cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))
        sizes = [b - a_ for a_, b in zip([0] + cuts, cuts + [n])]
        pieces = x.split(sizes, dim)
    assert sum(p.shape[dim] for p in pieces) == n
    y = ember.cat(pieces, dim)
    np.testing.assert_array_equal(y.detach().numpy(), a)
    g = _arr(shape, 4)
    (gx,) = ember.autograd.grad(y, x, ember.tensor(g))
    np.testing.assert_array_equal(gx.numpy(), g)
    chunks = x.chunk(data.draw(st.integers(1, 4)), dim)
    np.testing.assert_array_equal(ember.cat(chunks, dim).detach().numpy(), a)


@given(nonempty_shapes, st.data())
def test_stack_unbind_round_trip(shape, data):
    a = _arr(shape)
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1))
    x = ember.tensor(a)
    np.testing.assert_array_equal(ember.stack(x.unbind(dim), dim).numpy(), a)


@given(shapes, st.data())
def test_flip_twice_is_identity(shape, data):
    a = _arr(shape)
    nd = len(shape)
    dims = data.draw(st.lists(st.integers(0, nd - 1), unique=True)) if nd else []
    x = ember.tensor(a)
    y = x.flip(dims)
    np.testing.assert_array_equal(y.numpy(), np.flip(a, dims) if dims else a)
    assert not np.shares_memory(y.numpy(), x.numpy()) or a.size == 0
    np.testing.assert_array_equal(y.flip(dims).numpy(), a)


@given(nonempty_shapes, st.data())
def test_roll_inverse(shape, data):
    a = _arr(shape)
    nd = len(shape)
    dim = data.draw(st.integers(0, nd - 1))
    k = data.draw(st.integers(-6, 6))
    x = ember.tensor(a)
    y = x.roll(k, dim)
    np.testing.assert_array_equal(y.numpy(), np.roll(a, k, dim))
    np.testing.assert_array_equal(y.roll(-k, dim).numpy(), a)


@given(nonempty_shapes, st.data())
def test_squeeze_unsqueeze_round_trip(shape, data):
    a = _arr(shape)
    nd = len(shape)
    dim = data.draw(st.integers(-nd - 1, nd))
    x = ember.tensor(a)
    y = x.unsqueeze(dim)
    np.testing.assert_array_equal(y.numpy(), np.expand_dims(a, dim))
    np.testing.assert_array_equal(y.squeeze(dim).numpy(), a)
    np.testing.assert_array_equal(x.squeeze().numpy(), np.squeeze(a))


@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), st.data())
def test_gather_matches_take_along_axis(shape, data):
    a = _arr(shape)
    nd = len(shape)
    dim = data.draw(st.integers(0, nd - 1))
    idx_shape = tuple(data.draw(st.integers(1, 4)) if d == dim else shape[d]
                      for d in range(nd))
    idx = np.random.default_rng(1).integers(0, shape[dim], idx_shape)
    x = ember.tensor(a, requires_grad=True)
    y = ember.gather(x, dim, ember.tensor(idx))
    np.testing.assert_array_equal(y.detach().numpy(), np.take_along_axis(a, idx, dim))
    g = _arr(idx_shape, 2)
    (gx,) = ember.autograd.grad(y, x, ember.tensor(g))
    expected = np.zeros_like(a)
    np.put_along_axis(expected, idx, 0, dim)
    grid = np.indices(idx_shape)
    grid[dim] = idx
    np.add.at(expected, tuple(grid), g)
    np.testing.assert_allclose(gx.numpy(), expected, rtol=1e-12, atol=1e-12)
