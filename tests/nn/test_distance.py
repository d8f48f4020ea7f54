"""Distances: ``pairwise_distance``, ``cosine_similarity``, ``pdist``, ``cdist`` and the
``PairwiseDistance`` / ``CosineSimilarity`` layers, against PyTorch, with numerical gradient
checks."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close, check_op, rand, requires_torch, torch

import ember
from ember.ops import distance as _distance

enn = ember.nn
F = enn.functional
TF = torch.nn.functional if torch is not None else None
gradcheck, gradgradcheck = ember.autograd.gradcheck, ember.autograd.gradgradcheck
cdist = getattr(ember, "cdist", _distance.cdist)

DTYPES = [np.float32, np.float64]
PS = [2.0, 1.0, 3.0, 0.5, float("inf")]


def outcome(fn):
    try:
        r = fn()
        return "ok", tuple(r.shape), str(r.dtype).replace("torch", "ember")
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch", "ember")


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p,s1,s2", [
    (p, s1, s2) for p in PS + [-1.0]
    for s1, s2 in [((4, 3), (4, 3)), ((4, 3), (3,)), ((3,), (2, 3)), ((), ()),
                   ((2, 1, 3), (4, 3)), ((2, 0), (2, 0))]
    if not (s1 == (2, 0) and p in (float("inf"), -1.0))])   # empty max/min: both raise
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance_matches_torch(dtype, p, s1, s2, keepdim):
    args = [rand(*s1, dtype=dtype), rand(*s2, dtype=dtype, seed=1)]
    check_op(lambda a, b: F.pairwise_distance(a, b, p=p, keepdim=keepdim),
             lambda a, b: TF.pairwise_distance(a, b, p=p, keepdim=keepdim), args)


@requires_torch
def test_pairwise_distance_p0_and_integers_match_torch():
    a, b = rand(4, 3, requires_grad=False), rand(4, 3, seed=1, requires_grad=False)
    check_op(lambda a, b: F.pairwise_distance(a, b, p=0), lambda a, b: TF.pairwise_distance(
        a, b, p=0), [a, b], grad=False)
    i = ember.tensor([[1, 2], [3, 4]])
    check_op(F.pairwise_distance, TF.pairwise_distance, [i, i + 1], grad=False)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("s1,s2,dim", [((4, 3), (4, 3), 1), ((4, 3), (4, 3), 0),
                                       ((4, 3), (3,), -1), ((2, 3, 4), (1, 3, 1), 1),
                                       ((3,), (3,), 0), ((), (), 0), ((2, 0), (2, 0), 1)])
def test_cosine_similarity_matches_torch(dtype, s1, s2, dim):
    args = [rand(*s1, dtype=dtype), rand(*s2, dtype=dtype, seed=1)]
    check_op(lambda a, b: F.cosine_similarity(a, b, dim=dim),
             lambda a, b: TF.cosine_similarity(a, b, dim=dim), args)


@requires_torch
def test_cosine_similarity_clamps_each_norm_like_torch():
    # tiny vectors: the clamp acts on each norm separately, and the gradient flows as if
    # unclamped (PyTorch clamps in place under no_grad)
    a = ember.tensor([[3e-5, 4e-5], [1.0, 2.0]], dtype=ember.float64, requires_grad=True)
    b = ember.tensor([[1e-5, 0.0], [0.0, 0.0]], dtype=ember.float64, requires_grad=True)
    for eps in (1e-8, 1e-4):
        check_op(lambda a, b, eps=eps: F.cosine_similarity(a, b, eps=eps),
                 lambda a, b, eps=eps: TF.cosine_similarity(a, b, eps=eps), [a, b])
    # mixed dtypes promote
    check_op(F.cosine_similarity, TF.cosine_similarity,
             [rand(2, 3, dtype=np.float32), ember.tensor([[1, 2, 3], [4, 5, 6]])], grad=False)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", PS + [0.0])
@pytest.mark.parametrize("shape", [(5, 3), (2, 4), (1, 3), (0, 3), (4, 0)])
def test_pdist_matches_torch(dtype, p, shape):
    # (PyTorch's pdist backward crashes on a 0-row input: forward only there)
    check_op(lambda x: F.pdist(x, p), lambda x: TF.pdist(x, p), [rand(*shape, dtype=dtype)],
             grad=p != 0 and shape[0] > 0)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("s1,s2", [((4, 3), (5, 3)), ((2, 4, 3), (5, 3)), ((2, 1, 4, 3), (3, 2, 3)),
                                   ((0, 3), (4, 3)), ((2, 0), (4, 0))])
def test_cdist_matches_torch(dtype, p, s1, s2):
    check_op(lambda a, b: cdist(a, b, p), lambda a, b: torch.cdist(a, b, p),
             [rand(*s1, dtype=dtype), rand(*s2, dtype=dtype, seed=1)])


@requires_torch
@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                                  "donot_use_mm_for_euclid_dist"])
def test_cdist_compute_modes_match_torch(mode):
    for s1, s2 in [((30, 3), (4, 3)), ((2, 3), (4, 3))]:
        a, b = rand(*s1, dtype=np.float32), rand(*s2, dtype=np.float32, seed=1)
        check_op(lambda a, b: cdist(a, b, compute_mode=mode),
                 lambda a, b: torch.cdist(a, b, compute_mode=mode), [a, b], atol=1e-4)


@pytest.mark.parametrize("name,fn,shapes", [
    ("pairwise", lambda a, b: F.pairwise_distance(a, b), [(2, 3), (2, 3)]),
    ("pairwise p=3", lambda a, b: F.pairwise_distance(a, b, p=3), [(2, 3), (3,)]),
    ("cosine", lambda a, b: F.cosine_similarity(a, b), [(2, 3), (2, 3)]),
    ("cosine dim0", lambda a, b: F.cosine_similarity(a, b, dim=0), [(3, 2), (3, 1)]),
    ("pdist", lambda a: F.pdist(a), [(3, 2)]),
    ("pdist p=1.5", lambda a: F.pdist(a, 1.5), [(3, 2)]),
    ("cdist", lambda a, b: cdist(a, b), [(2, 3), (3, 3)]),
    ("cdist mm", lambda a, b: cdist(a, b, compute_mode="use_mm_for_euclid_dist"),
     [(2, 3), (3, 3)]),
    ("cdist p=1", lambda a, b: cdist(a, b, 1.0), [(2, 2), (2, 2)]),
])
def test_distance_gradcheck(name, fn, shapes):
    args = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    assert gradcheck(fn, args)
    assert gradgradcheck(fn, args)


@requires_torch
def test_distance_errors_match_torch():
    def cases(L):
        f, z = L.nn.functional, L.zeros
        return [
            lambda: f.pairwise_distance(z(2, 3), z(4, 3)),
            lambda: f.pairwise_distance(z(2, 3), z(2, 3, dtype=L.float64)),
            lambda: f.cosine_similarity(z(2, 3), z(4, 3)),
            lambda: f.cosine_similarity(z(2, 3), z(2, 3), dim=2),
            lambda: f.cosine_similarity(z(3), z(3)),
            lambda: f.cosine_similarity(z(2, 3, dtype=L.int64), z(2, 3, dtype=L.int64)),
            lambda: f.cosine_similarity(z(2, 3), z(2, 3, dtype=L.float64)),
            lambda: f.pdist(z(3)),
            lambda: f.pdist(z(2, 3, 3)),
            lambda: f.pdist(z(4, 3), p=-1),
            lambda: f.pdist(z(4, 3, dtype=L.int64)),
            lambda: L.cdist(z(3), z(3, 3)) if L is torch else cdist(z(3), z(3, 3)),
            lambda: L.cdist(z(2, 3), z(3)) if L is torch else cdist(z(2, 3), z(3)),
            lambda: L.cdist(z(2, 3), z(3, 4)) if L is torch else cdist(z(2, 3), z(3, 4)),
            lambda: L.cdist(z(2, 3), z(3, 3), p=-1) if L is torch else cdist(z(2, 3), z(3, 3),
                                                                              p=-1),
            lambda: (L.cdist if L is torch else cdist)(z(2, 2, 3), z(3, 2, 3)),
            lambda: (L.cdist if L is torch else cdist)(z(2, 3), z(4, 3), compute_mode="foo"),
            lambda: (L.cdist if L is torch else cdist)(z(2, 3, dtype=L.int64),
                                                       z(4, 3, dtype=L.int64)),
            lambda: (L.cdist if L is torch else cdist)(z(2, 3), z(4, 3, dtype=L.float64)),
        ]

    for i, (fe, ft) in enumerate(zip(cases(ember), cases(torch))):
        assert outcome(fe) == outcome(ft), i


@requires_torch
def test_distance_modules_match_torch():
    for em, tm in [(enn.PairwiseDistance(), torch.nn.PairwiseDistance()),
                   (enn.PairwiseDistance(p=1.0, eps=0.1, keepdim=True),
                    torch.nn.PairwiseDistance(p=1.0, eps=0.1, keepdim=True)),
                   (enn.CosineSimilarity(), torch.nn.CosineSimilarity()),
                   (enn.CosineSimilarity(dim=0, eps=1e-3), torch.nn.CosineSimilarity(0, 1e-3))]:
        assert repr(em) == repr(tm)
        check_op(em, tm, [rand(3, 4, dtype=np.float32), rand(3, 4, dtype=np.float32, seed=1)])
    assert enn.PairwiseDistance(p=3.0).norm == 3.0


def test_normalize_is_available():
    # nn.functional.normalize lives with the normalization family; cosine similarity agrees
    a, b = rand(3, 4), rand(3, 4, seed=1)
    assert_close((F.normalize(a) * F.normalize(b)).sum(1), F.cosine_similarity(a, b))
