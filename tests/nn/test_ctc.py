"""CTC loss (``ember.nn.functional.ctc_loss`` and ``nn.CTCLoss``) against PyTorch: random
batches (several sizes, target lengths including 0, repeated labels, padded and concatenated
targets, lengths as tensors or tuples), every reduction, zero_infinity with impossible
alignments, values and gradients; numerical gradient checks through log_softmax; errors."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import check_op, requires_torch, to_torch, torch

import ember

enn = ember.nn
F = enn.functional
if torch is not None:
    TF = torch.nn.functional


def outcome(fn):
    try:
        fn()
        return "ok"
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch", "ember")


def log_probs(T, N, C, dtype=np.float64, seed=0, requires_grad=True, batched=True):
    """Normalised log-probabilities (a log_softmax of random logits)."""
    x = np.random.default_rng(seed).standard_normal((T, N, C) if batched else (T, C)) * 2
    x = x - np.log(np.exp(x).sum(-1, keepdims=True))
    return ember.tensor(x.astype(dtype), requires_grad=requires_grad)


def targets(N, S, C, blank=0, seed=0, repeats=False):
    rng = np.random.default_rng(seed + 100)
    labels = np.array([c for c in range(C) if c != blank])
    t = rng.choice(labels, size=(N, S))
    if repeats:                         # runs of equal labels need a blank between them
        t[:, 1::2] = t[:, 0::2][:, :t[:, 1::2].shape[1]]
    return t


def lengths(values, as_tensor):
    return ember.tensor(np.array(values, dtype=np.int64)) if as_tensor else tuple(values)


def compare(lp, tg, il, tl, **kw):
    """Forward and gradient with respect to the log-probabilities, against torch."""
    def ours(x):
        return F.ctc_loss(x, ember.tensor(tg), il, tl, **kw)

    def theirs(x):
        conv = (lambda v: to_torch(v)) if isinstance(il, ember.Tensor) else (lambda v: v)
        return TF.ctc_loss(x, torch.from_numpy(np.asarray(tg)), conv(il), conv(tl), **kw)
    return check_op(ours, theirs, [lp])


CASES = [
    # T, N, C, S, input lengths, target lengths
    (6, 1, 4, 3, [6], [3]),
    (6, 3, 5, 3, [6, 5, 4], [3, 2, 1]),
    (8, 4, 3, 4, [8, 8, 7, 2], [4, 0, 2, 1]),          # target length 0
    (12, 8, 6, 5, [12, 11, 10, 12, 9, 8, 12, 5], [5, 4, 3, 0, 5, 2, 1, 2]),
    (5, 2, 4, 2, [0, 5], [0, 2]),                       # input length 0 with target length 0
]


@requires_torch
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[f"T{c[0]}N{c[1]}" for c in CASES])
@pytest.mark.parametrize("form", ["padded-tensor", "padded-tuple", "concat-tensor"])
def test_ctc_matches_torch(case, dtype, reduction, form):
    T, N, C, S, il, tl = case
    lp = log_probs(T, N, C, dtype)
    tg = targets(N, S, C)
    if form == "concat-tensor":
        tg = np.concatenate([tg[i, :tl[i]] for i in range(N)]).astype(np.int64)
    as_tensor = form != "padded-tuple"
    compare(lp, tg, lengths(il, as_tensor), lengths(tl, as_tensor), reduction=reduction)


@requires_torch
@pytest.mark.parametrize("seed", range(6))
def test_ctc_random_batches_match_torch(seed):
    rng = np.random.default_rng(seed)
    N = int(rng.integers(1, 7))
    C = int(rng.integers(2, 7))
    T = int(rng.integers(1, 15))
    S = int(rng.integers(0, 6))
    blank = int(rng.integers(0, C))
    tl = rng.integers(0, S + 1, N)
    il = rng.integers(0, T + 1, N)
    lp = log_probs(T, N, C, seed=seed)
    tg = targets(N, S, C, blank=blank, seed=seed, repeats=bool(seed % 2))
    # some of these alignments are impossible (too short an input): compare with and
    # without zero_infinity
    for zi in (False, True):
        for reduction in ("none", "mean", "sum"):
            compare(lp, tg, lengths(il, True), lengths(tl, True), blank=blank,
                    reduction=reduction, zero_infinity=zi)


@requires_torch
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_impossible_alignments_match_torch(zero_infinity):
    # repeated labels need a blank in between: 3 repeats need 5 frames, and 4 frames fail
    lp = log_probs(5, 3, 4)
    tg = np.array([[1, 1, 1], [2, 2, 2], [1, 2, 3]])
    out = compare(lp, tg, lengths([5, 4, 2], True), lengths([3, 3, 3], True),
                  reduction="none", zero_infinity=zero_infinity)
    v = out.detach().numpy()
    assert np.isfinite(v[0])
    assert (v[1:] == 0).all() if zero_infinity else np.isinf(v[1:]).all()


@requires_torch
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_ctc_unbatched_matches_torch(batched, reduction):
    lp = log_probs(7, 1, 5, batched=False)
    tg = np.array([1, 3, 3, 2])
    il = ember.tensor(np.int64(7)) if batched else (7,)
    tl = ember.tensor(np.int64(4)) if batched else (4,)
    compare(lp, tg, il, tl, reduction=reduction)


@requires_torch
def test_ctc_long_sequence_float32_matches_torch():
    T, N, C, S = 60, 5, 12, 15
    rng = np.random.default_rng(3)
    lp = log_probs(T, N, C, np.float32)
    tg = targets(N, S, C, seed=3, repeats=True)
    il, tl = rng.integers(40, T + 1, N), rng.integers(1, S + 1, N)
    compare(lp, tg, lengths(il, True), lengths(tl, True), reduction="mean")


@requires_torch
def test_ctc_float_targets_and_int32_lengths_match_torch():
    lp = log_probs(6, 2, 4)
    tg = targets(2, 3, 4).astype(np.float32)
    il = ember.tensor(np.array([6, 5], dtype=np.int32))
    tl = ember.tensor(np.array([3, 2], dtype=np.int32))
    compare(lp, tg, il, tl)


@requires_torch
def test_ctc_unnormalised_input_gradient_is_torchs():
    # PyTorch's gradient is exp(lp) - occupancy, whatever lp is: not normalised here
    lp = ember.tensor(np.random.default_rng(0).standard_normal((6, 2, 4)), requires_grad=True)
    compare(lp, targets(2, 3, 4), lengths([6, 6], True), lengths([3, 2], True))


@requires_torch
def test_ctc_module_matches_torch():
    m, tm = enn.CTCLoss(blank=2, zero_infinity=True), torch.nn.CTCLoss(blank=2,
                                                                      zero_infinity=True)
    assert repr(m) == repr(tm)
    lp = log_probs(6, 3, 4)
    tg = targets(3, 3, 4, blank=2)
    il, tl = ember.tensor(np.array([6, 2, 5])), ember.tensor(np.array([3, 3, 1]))
    check_op(lambda x: m(x, ember.tensor(tg), il, tl),
             lambda x: tm(x, torch.from_numpy(tg), to_torch(il), to_torch(tl)), [lp])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_ctc_gradcheck_through_log_softmax(reduction):
    # the gradient with respect to the logits of ctc(log_softmax(x)) is exact
    x = ember.tensor(np.random.default_rng(1).standard_normal((5, 2, 3)), requires_grad=True)
    tg = ember.tensor(np.array([[1, 2], [1, 1]]))

    def fn(x):
        return F.ctc_loss(F.log_softmax(x, 2), tg, (5, 4), (2, 1), reduction=reduction)
    assert ember.autograd.gradcheck(fn, (x,))


@requires_torch
def test_ctc_double_backward_is_refused_like_torch():
    lp = log_probs(5, 2, 4)
    tg = targets(2, 2, 4)

    def run(f, x, t):
        loss = f.ctc_loss(x, t, (5, 4), (2, 2))
        g = (ember.autograd.grad if f is F else torch.autograd.grad)(loss, x,
                                                                     create_graph=True)[0]
        g.sum().backward()
    ours = outcome(lambda: run(F, lp, ember.tensor(tg)))
    assert ours == outcome(lambda: run(TF, to_torch(lp), torch.from_numpy(tg)))
    assert ours[0] == "RuntimeError"


def test_ctc_grad_fn_name():
    loss = F.ctc_loss(log_probs(4, 1, 3), ember.tensor(np.array([[1]])), (4,), (1,),
                      reduction="none")
    assert loss.grad_fn.name() == "CtcLossBackward0"


def _lp(T=5, N=2, C=4, **kw):
    return log_probs(T, N, C, requires_grad=False, **kw)


_TG = np.array([[1, 2, 3], [1, 1, 2]])

ERRORS = [
    ("input-length-too-long", lambda f, t: f.ctc_loss(_lp(), t(_TG), (6, 4), (3, 2))),
    ("target-length-too-long", lambda f, t: f.ctc_loss(_lp(), t(_TG), (5, 4), (4, 2))),
    ("input-lengths-batch", lambda f, t: f.ctc_loss(_lp(), t(_TG), (5, 4, 3), (3, 2))),
    ("target-lengths-batch", lambda f, t: f.ctc_loss(_lp(), t(_TG), (5, 4), (3, 2, 1))),
    ("float-lengths", lambda f, t: f.ctc_loss(_lp(), t(_TG), t(np.array([5., 4.])),
                                              t(np.array([3, 2])))),
    ("blank-range", lambda f, t: f.ctc_loss(_lp(), t(_TG), (5, 4), (3, 2), blank=4)),
    ("blank-negative", lambda f, t: f.ctc_loss(_lp(), t(_TG), (5, 4), (3, 2), blank=-1)),
    ("concat-size", lambda f, t: f.ctc_loss(_lp(), t(np.array([1, 2, 3, 1, 1])), (5, 4),
                                            (3, 3))),
    ("reduction", lambda f, t: f.ctc_loss(_lp(), t(_TG), (5, 4), (3, 2), reduction="foo")),
    ("negative-target-length", lambda f, t: f.ctc_loss(_lp(), t(_TG), (5, 4), (3, -1))),
    ("negative-input-length", lambda f, t: f.ctc_loss(_lp(), t(_TG), (5, -1), (3, 1))),
    ("targets-batch", lambda f, t: f.ctc_loss(_lp(), t(_TG[:1]), (5, 4), (3, 2))),
    ("targets-3d", lambda f, t: f.ctc_loss(_lp(), t(np.ones((2, 3, 2), np.int64)), (5, 4),
                                           (3, 2))),
    ("empty", lambda f, t: f.ctc_loss(_lp(N=0), t(np.zeros((0, 3), np.int64)),
                                      t(np.zeros(0, np.int64)), t(np.zeros(0, np.int64)))),
    ("int-log-probs", lambda f, t: f.ctc_loss(t(np.zeros((5, 2, 4), np.int32)), t(_TG),
                                              (5, 4), (3, 2))),
    ("mixed-length-types", lambda f, t: f.ctc_loss(_lp(), t(_TG), t(np.array([5, 4])),
                                                   (3, 2))),
]


@requires_torch
@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_ctc_errors_match_torch(case):
    _, fn = case
    ours = outcome(lambda: fn(F, ember.tensor))
    assert ours != "ok"
    theirs = outcome(lambda: fn(_TorchF(), lambda a: torch.from_numpy(np.asarray(a))))
    if case[0] == "mixed-length-types":       # torch's overload-resolution text differs
        assert ours[0] == theirs[0] == "TypeError"
    else:
        assert ours == theirs


class _TorchF:
    def ctc_loss(self, lp, *args, **kw):
        return TF.ctc_loss(to_torch(lp), *args, **kw)


def test_ctc_target_out_of_range_is_an_error():
    # PyTorch reads out of bounds here (undefined); ember refuses
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        F.ctc_loss(_lp(), ember.tensor(np.array([[1, 7, 1], [1, 1, 2]])), (5, 4), (2, 1))
