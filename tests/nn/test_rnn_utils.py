"""``ember.nn.utils.rnn`` against PyTorch: pad_sequence, pack_padded_sequence,
pad_packed_sequence, pack_sequence, unpack_sequence, unpad_sequence, PackedSequence and
invert_permutation; values, dtypes, gradients (also second order) and errors."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close, requires_torch, torch

import ember

R = ember.nn.utils.rnn
gradcheck, gradgradcheck = ember.autograd.gradcheck, ember.autograd.gradgradcheck


def TR():
    return torch.nn.utils.rnn


def outcome(fn):
    try:
        fn()
        return "ok"
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch", "ember")


def _seqs(lengths, trailing=(2,), dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n,) + trailing).astype(dtype) for n in lengths]


def _both(arrays, requires_grad=False):
    e = [ember.tensor(a, requires_grad=requires_grad) for a in arrays]
    t = [torch.tensor(a, requires_grad=requires_grad) for a in arrays]
    return e, t


def _assert_packed(ep, tp):
    assert isinstance(ep, R.PackedSequence)
    assert_close(ep.data, tp.data)
    assert_close(ep.batch_sizes, tp.batch_sizes)
    assert_close(ep.sorted_indices, tp.sorted_indices)
    assert_close(ep.unsorted_indices, tp.unsorted_indices)


# ------------------------------------------------------------------ pad_sequence
@requires_torch
@pytest.mark.parametrize("lengths", [[3, 1, 4], [2], [0, 2], [2, 2]])
@pytest.mark.parametrize("trailing", [(), (2,), (2, 3)])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_torch(lengths, trailing, batch_first, padding_side):
    es, ts = _both(_seqs(lengths, trailing), requires_grad=True)
    eo = R.pad_sequence(es, batch_first, -1.5, padding_side)
    to = TR().pad_sequence(ts, batch_first, -1.5, padding_side)
    assert_close(eo, to)
    g = np.random.default_rng(1).standard_normal(tuple(to.shape))
    eg = ember.autograd.grad(eo, es, ember.tensor(g))
    tg = torch.autograd.grad(to, ts, torch.tensor(g))
    assert_close(list(eg), list(tg))


@requires_torch
def test_pad_sequence_dtypes_and_broadcasting_match_torch():
    a = np.ones((2, 3), np.float32)
    b = np.full((3, 1), 2.0, np.float32)
    assert_close(R.pad_sequence([ember.tensor(a), ember.tensor(b)]),
                 TR().pad_sequence([torch.tensor(a), torch.tensor(b)]))
    ints = [np.arange(2), np.ones(3, np.float32)]      # the first sequence's dtype wins
    assert_close(R.pad_sequence([ember.tensor(v) for v in ints], padding_value=2.5),
                 TR().pad_sequence([torch.tensor(v) for v in ints], padding_value=2.5))
    # a tensor is an iterable of sequences
    x = np.arange(6.0).reshape(2, 3)
    assert_close(R.pad_sequence(ember.tensor(x)), TR().pad_sequence(torch.tensor(x)))
    # float32 and float64 mixed: grads come back in each input's dtype
    es = [ember.tensor(np.ones(2), requires_grad=True),
          ember.tensor(np.ones(3, np.float32), requires_grad=True)]
    out = R.pad_sequence(es)
    assert out.dtype == ember.float64
    out.sum().backward()
    assert es[1].grad.dtype == ember.float32 and es[1].grad.numpy().tolist() == [1, 1, 1]


@requires_torch
@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.utils.rnn.pad_sequence([]),
    lambda lib: lib.nn.utils.rnn.pad_sequence(5),
    lambda lib: lib.nn.utils.rnn.pad_sequence([lib.ones(2)], padding_side="middle"),
    lambda lib: lib.nn.utils.rnn.pad_sequence([lib.ones(2, 3), lib.ones(3, 2)]),
    lambda lib: lib.nn.utils.rnn.pad_sequence([lib.ones(2), lib.ones(3, 2)]),
    lambda lib: lib.nn.utils.rnn.pad_sequence([lib.ones(2, 3), lib.ones(3, 3, 1)]),
])
def test_pad_sequence_errors_match_torch(make):
    res = outcome(lambda: make(ember))
    assert res != "ok"
    assert res == outcome(lambda: make(torch))


def test_pad_sequence_rejects_0d_and_non_tensors():
    with pytest.raises(RuntimeError, match="0-dimensional"):
        R.pad_sequence([ember.tensor(1.0), ember.ones(3)])
    with pytest.raises(TypeError, match="must be tuple of Tensors"):
        R.pad_sequence([[1.0, 2.0]])


# ------------------------------------------------------------------ pack / pad packed
@requires_torch
@pytest.mark.parametrize("lengths,enforce_sorted", [
    ([4, 3, 1], True), ([4, 4, 4], True), ([2, 4, 1], False), ([1, 3, 3, 2, 4], False),
    ([4, 3, 1], False),
])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("trailing", [(), (2,)])
@pytest.mark.parametrize("lengths_as_tensor", [False, True])
def test_pack_padded_sequence_matches_torch(lengths, enforce_sorted, batch_first, trailing,
                                            lengths_as_tensor):
    batch, steps = len(lengths), max(lengths) + 1          # (one step of padding too many)
    shape = ((batch, steps) if batch_first else (steps, batch)) + trailing
    x = np.random.default_rng(0).standard_normal(shape)
    (ex,), (tx,) = _both([x], requires_grad=True)
    el = ember.tensor(lengths) if lengths_as_tensor else lengths
    tl = torch.tensor(lengths) if lengths_as_tensor else lengths
    ep = R.pack_padded_sequence(ex, el, batch_first, enforce_sorted)
    tp = TR().pack_padded_sequence(tx, tl, batch_first, enforce_sorted)
    _assert_packed(ep, tp)
    g = np.random.default_rng(1).standard_normal(tuple(tp.data.shape))
    assert_close(ember.autograd.grad(ep.data, ex, ember.tensor(g), retain_graph=True)[0],
                 torch.autograd.grad(tp.data, tx, torch.tensor(g), retain_graph=True)[0])
    # and back
    for total in (None, steps + 2):
        eo, elen = R.pad_packed_sequence(ep, batch_first, 7.0, total)
        to, tlen = TR().pad_packed_sequence(tp, batch_first, 7.0, total)
        assert_close(eo, to)
        assert_close(elen, tlen)
        g = np.random.default_rng(2).standard_normal(tuple(to.shape))
        assert_close(ember.autograd.grad(eo, ex, ember.tensor(g), retain_graph=True)[0],
                     torch.autograd.grad(to, tx, torch.tensor(g), retain_graph=True)[0])


@requires_torch
def test_pack_sorts_ties_like_torch_for_small_batches():
    lengths = [2, 3, 2, 3, 1, 3, 2, 2, 3, 1, 1, 1, 2, 3, 3, 3]      # 16: torch sorts stably
    x = np.zeros((3, len(lengths)))
    _assert_packed(R.pack_padded_sequence(ember.tensor(x), lengths, enforce_sorted=False),
                   TR().pack_padded_sequence(torch.tensor(x), lengths, enforce_sorted=False))


@requires_torch
def test_pack_accepts_integer_like_lengths_like_torch():
    x = np.arange(12.0).reshape(4, 3)
    for lens in (np.array([4, 3, 1], np.int32), [4.0, 3.0, 1.0]):
        _assert_packed(R.pack_padded_sequence(ember.tensor(x), ember.tensor(lens)),
                       TR().pack_padded_sequence(torch.tensor(x), torch.tensor(lens)))


@requires_torch
@pytest.mark.parametrize("x_shape,lengths,kw", [
    ((4, 3, 2), [2, 3, 1], {}),
    ((4, 3, 2), [4, 3, 0], {}),
    ((4, 3, 2), [0, 3, 1], {}),
    ((4, 3, 2), [4, 3], {}),
    ((4, 3, 2), [4, 3, 1], dict(batch_first=True)),
    ((4,), [4], {}),
    ((0, 3, 2), [0, 0, 0], {}),
    ((4, 0, 2), [], {}),
    ((4, 3, 0), [4, 3, 1], {}),
    ((4, 3, 2), [4, -1, 1], dict(enforce_sorted=False)),
])
def test_pack_errors_match_torch(x_shape, lengths, kw):
    x = np.zeros(x_shape)
    res = outcome(lambda: R.pack_padded_sequence(ember.tensor(x), lengths, **kw))
    assert res != "ok"
    assert res == outcome(lambda: TR().pack_padded_sequence(torch.tensor(x), lengths, **kw))


@requires_torch
def test_pack_lengths_must_be_1d_like_torch():
    x = np.zeros((4, 3))
    assert outcome(lambda: R.pack_padded_sequence(ember.tensor(x), ember.tensor([[4, 3, 1]]))) \
        == outcome(lambda: TR().pack_padded_sequence(torch.tensor(x), torch.tensor([[4, 3, 1]])))


def test_pack_rejects_lengths_beyond_the_padding():
    # (PyTorch reads past the end of the input here)
    with pytest.raises(RuntimeError, match="larger than the padded length"):
        R.pack_padded_sequence(ember.zeros(4, 3), [5, 3, 1])


@requires_torch
def test_pad_packed_total_length_error_matches_torch():
    x = np.zeros((4, 3, 2))
    ep = R.pack_padded_sequence(ember.tensor(x), [4, 3, 1])
    tp = TR().pack_padded_sequence(torch.tensor(x), [4, 3, 1])
    assert outcome(lambda: R.pad_packed_sequence(ep, total_length=2)) == \
        outcome(lambda: TR().pad_packed_sequence(tp, total_length=2))
    assert outcome(lambda: R.pad_packed_sequence(ep, total_length=2))[0] == "ValueError"


@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_pad_gradcheck(batch_first):
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((3, 4, 2) if batch_first else (4, 3, 2)),
                     requires_grad=True)

    def f(x):
        p = R.pack_padded_sequence(x, [2, 4, 1], batch_first, enforce_sorted=False)
        return R.pad_packed_sequence(p, batch_first, 0.5, total_length=5)[0] * 2.0

    def g(x):
        return R.pack_padded_sequence(x, [4, 2, 1], batch_first).data
    for fn in (f, g):
        assert gradcheck(fn, [x])
        assert gradgradcheck(fn, [x])


def test_pad_sequence_gradcheck():
    rng = np.random.default_rng(0)
    seqs = [ember.tensor(rng.standard_normal((n, 2)), requires_grad=True) for n in (2, 3, 1)]
    for side in ("right", "left"):
        def fn(*s, side=side):
            return R.pad_sequence(s, True, 1.0, side)
        assert gradcheck(fn, seqs)
        assert gradgradcheck(fn, seqs)


# ------------------------------------------------------------------ sequences round trips
@requires_torch
@pytest.mark.parametrize("lengths,enforce_sorted", [([3, 2, 1], True), ([1, 3, 2], False),
                                                    ([2, 2], True)])
def test_pack_sequence_and_unpack_match_torch(lengths, enforce_sorted):
    es, ts = _both(_seqs(lengths, (2,)), requires_grad=True)
    ep = R.pack_sequence(es, enforce_sorted)
    tp = TR().pack_sequence(ts, enforce_sorted)
    _assert_packed(ep, tp)
    eu, tu = R.unpack_sequence(ep), TR().unpack_sequence(tp)
    assert_close(eu, tu)
    for a, b in zip(eu, es):                                  # the round trip is exact
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    g = [np.random.default_rng(k).standard_normal(tuple(t.shape)) for k, t in enumerate(tu)]
    eg = ember.autograd.grad(eu, es, [ember.tensor(v) for v in g])
    tg = torch.autograd.grad(tu, ts, [torch.tensor(v) for v in g])
    assert_close(list(eg), list(tg))


@requires_torch
def test_pack_sequence_unsorted_error_matches_torch():
    es, ts = _both(_seqs([2, 3]))
    assert outcome(lambda: R.pack_sequence(es)) == outcome(lambda: TR().pack_sequence(ts))
    assert outcome(lambda: R.pack_sequence([])) == outcome(lambda: TR().pack_sequence([]))


@requires_torch
@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence_matches_torch(batch_first):
    seqs = _seqs([3, 1, 4], (2,))
    es, ts = _both(seqs, requires_grad=True)
    ep = R.pad_sequence(es, batch_first)
    tp = TR().pad_sequence(ts, batch_first)
    lengths = [3, 1, 4]
    eu = R.unpad_sequence(ep, ember.tensor(lengths), batch_first)
    tu = TR().unpad_sequence(tp, torch.tensor(lengths), batch_first)
    assert_close(eu, tu)
    assert tuple(ep.shape) == ((3, 4, 2) if batch_first else (4, 3, 2))   # left untouched
    eg = ember.autograd.grad([u.sum() for u in eu], es)
    tg = torch.autograd.grad([u.sum() for u in tu], ts)
    assert_close(list(eg), list(tg))


# ------------------------------------------------------------------ PackedSequence
@requires_torch
def test_packed_sequence_object_matches_torch():
    es, ts = _both([np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0])])
    ep, tp = R.pack_sequence(es, False), TR().pack_sequence(ts, False)
    assert repr(ep).replace("ember", "torch") == repr(tp)
    data, batch_sizes, sorted_indices, unsorted_indices = ep        # a 4-tuple
    assert data is ep.data and batch_sizes is ep[1]
    assert sorted_indices is ep.sorted_indices and unsorted_indices is ep[3]
    assert ep._fields == tp._fields
    assert ep.batch_sizes.dtype == ember.int64 and ep.sorted_indices.dtype == ember.int64
    assert not ep.is_cuda and ep.is_pinned() is False
    # by hand: unsorted_indices is derived from sorted_indices
    hand = R.PackedSequence(ep.data, ep.batch_sizes, ember.tensor([1, 0]))
    assert_close(hand.unsorted_indices, torch.tensor([1, 0]))
    pair = R.PackedSequence((ep.data, ep.batch_sizes))
    assert pair.data is ep.data and pair.sorted_indices is None
    with pytest.raises(AssertionError):
        R.PackedSequence(ep.data)


def test_packed_sequence_to_and_dtype_conversions():
    p = R.pack_sequence([ember.ones(3), ember.ones(2)])
    assert p.to(ember.float32) is p                          # unchanged: the same object
    d = p.to(ember.float64)
    assert isinstance(d, R.PackedSequence) and d.data.dtype == ember.float64
    assert d.batch_sizes is p.batch_sizes
    assert p.double().data.dtype == ember.float64 and p.long().data.dtype == ember.int64
    assert p.half().data.dtype == ember.float16 and p.int().data.dtype == ember.int32
    assert p.cpu() is p and p.float() is p


@requires_torch
def test_invert_permutation_matches_torch():
    perm = [2, 0, 3, 1]
    assert_close(R.invert_permutation(ember.tensor(perm)),
                 TR().invert_permutation(torch.tensor(perm)))
    assert R.invert_permutation(None) is None
