"""Loss functions (``ember.nn.functional.*_loss``, ``cross_entropy``, ...) and loss Modules
against PyTorch: every loss x reduction x option in float32 and float64, forward and
gradients (input, and target/weight where PyTorch differentiates them), numerical gradient
checks in float64, the legacy ``size_average``/``reduce`` mapping, module reprs and buffers,
and PyTorch's errors. CTC has its own file (test_ctc.py)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from oracle import assert_close, check_op, rand, requires_torch, to_torch, torch

import ember

enn = ember.nn
F = enn.functional
gradcheck, gradgradcheck = ember.autograd.gradcheck, ember.autograd.gradgradcheck
if torch is not None:
    TF = torch.nn.functional

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["none", "mean", "sum"]


def const(arr, dtype=None):
    a = np.asarray(arr)
    return ember.tensor(a.astype(dtype) if dtype is not None else a)


def outcome(fn):
    """(exception type name, message with 'torch' -> 'ember'), or 'ok'."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
        return "ok"
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch", "ember")


def signs(n, seed=0, dtype=np.float64):
    return const(np.where(np.random.default_rng(seed).random(n) < 0.5, -1.0, 1.0), dtype)


def probs(*shape, dtype, seed=0, requires_grad=True):
    """Rows that sum to 1 along dim 1 (dim 0 for 1-D)."""
    a = np.random.default_rng(seed).uniform(0.1, 1, size=shape)
    a /= a.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
    return ember.tensor(a.astype(dtype), requires_grad=requires_grad)


# =======================================================================================
# The parity table: (id, call(f, *args, reduction), make(dtype) -> args). ``f`` is ember's
# or torch's functional module; args are ember tensors (converted for torch); every
# floating input that requires grad has its gradient compared.

def _idx(*vals):
    return const(np.array(vals, dtype=np.int64))


CASES = [
    # ------------------------------------------------------------- pointwise regression
    ("l1", lambda f, x, y, r: f.l1_loss(x, y, reduction=r),
     lambda d: [rand(3, 4, dtype=d), rand(3, 4, dtype=d, seed=1)]),
    ("l1-broadcast", lambda f, x, y, r: f.l1_loss(x, y, reduction=r),
     lambda d: [rand(3, 4, dtype=d), rand(4, dtype=d, seed=1)]),
    ("l1-weight", lambda f, x, y, w, r: f.l1_loss(x, y, reduction=r, weight=w),
     lambda d: [rand(3, 4, dtype=d), rand(3, 4, dtype=d, seed=1),
                rand(3, 4, dtype=d, seed=2, low=0.1)]),
    ("l1-0d", lambda f, x, y, r: f.l1_loss(x, y, reduction=r),
     lambda d: [rand(dtype=d), rand(dtype=d, seed=1)]),
    ("mse", lambda f, x, y, r: f.mse_loss(x, y, reduction=r),
     lambda d: [rand(3, 4, dtype=d), rand(3, 4, dtype=d, seed=1)]),
    ("mse-broadcast", lambda f, x, y, r: f.mse_loss(x, y, reduction=r),
     lambda d: [rand(2, 1, 4, dtype=d), rand(3, 1, dtype=d, seed=1)]),
    ("mse-weight", lambda f, x, y, w, r: f.mse_loss(x, y, reduction=r, weight=w),
     lambda d: [rand(3, 4, dtype=d), rand(3, 4, dtype=d, seed=1),
                rand(3, 4, dtype=d, seed=2, low=0.1)]),
    ("mse-empty", lambda f, x, y, r: f.mse_loss(x, y, reduction=r),
     lambda d: [rand(0, 3, dtype=d), rand(0, 3, dtype=d, seed=1)]),
    ("smooth_l1", lambda f, x, y, r: f.smooth_l1_loss(x, y, reduction=r),
     lambda d: [rand(4, 5, dtype=d, low=-2, high=2), rand(4, 5, dtype=d, seed=1)]),
    ("smooth_l1-beta0.5", lambda f, x, y, r: f.smooth_l1_loss(x, y, reduction=r, beta=0.5),
     lambda d: [rand(4, 5, dtype=d, low=-2, high=2), rand(4, 5, dtype=d, seed=1)]),
    ("smooth_l1-beta0", lambda f, x, y, r: f.smooth_l1_loss(x, y, reduction=r, beta=0.0),
     lambda d: [rand(4, 5, dtype=d), rand(4, 5, dtype=d, seed=1)]),
    ("huber", lambda f, x, y, r: f.huber_loss(x, y, reduction=r),
     lambda d: [rand(4, 5, dtype=d, low=-2, high=2), rand(4, 5, dtype=d, seed=1)]),
    ("huber-delta0.3", lambda f, x, y, r: f.huber_loss(x, y, reduction=r, delta=0.3),
     lambda d: [rand(4, 5, dtype=d, low=-2, high=2), rand(4, 5, dtype=d, seed=1)]),
    ("huber-weight", lambda f, x, y, w, r: f.huber_loss(x, y, reduction=r, delta=0.5, weight=w),
     lambda d: [rand(4, 5, dtype=d, low=-2, high=2), rand(4, 5, dtype=d, seed=1),
                rand(4, 5, dtype=d, seed=2, low=0.1)]),
    # ------------------------------------------------------------- binary cross entropy
    ("bce", lambda f, x, y, r: f.binary_cross_entropy(x, y, reduction=r),
     lambda d: [rand(3, 4, dtype=d, low=0.05, high=0.95), rand(3, 4, dtype=d, seed=1, low=0)]),
    ("bce-weight-bcast", lambda f, x, y, w, r: f.binary_cross_entropy(x, y, w, reduction=r),
     lambda d: [rand(3, 4, dtype=d, low=0.05, high=0.95), rand(3, 4, dtype=d, seed=1, low=0),
                rand(4, dtype=d, seed=2, low=0.1, requires_grad=False)]),
    ("bce-weight-full", lambda f, x, y, w, r: f.binary_cross_entropy(x, y, w, reduction=r),
     lambda d: [rand(3, 4, dtype=d, low=0.05, high=0.95), rand(3, 4, dtype=d, seed=1, low=0),
                rand(3, 4, dtype=d, seed=2, low=0.1, requires_grad=False)]),
    ("bce-edges", lambda f, x, y, r: f.binary_cross_entropy(x, y, reduction=r),
     lambda d: [ember.tensor(np.array([0., 1., 1e-30, 0.5, 1e-8], dtype=d), requires_grad=True),
                const([1., 0., 1., 0.5, 0.], d)]),
    ("bce_logits", lambda f, x, y, r: f.binary_cross_entropy_with_logits(x, y, reduction=r),
     lambda d: [rand(3, 4, dtype=d, low=-4, high=4), rand(3, 4, dtype=d, seed=1, low=0)]),
    ("bce_logits-large", lambda f, x, y, r: f.binary_cross_entropy_with_logits(x, y, reduction=r),
     lambda d: [ember.tensor(np.array([100., -100., 30., -30.], dtype=d), requires_grad=True),
                const([0., 1., 0.5, 1.], d)]),
    ("bce_logits-weights",
     lambda f, x, y, w, pw, r: f.binary_cross_entropy_with_logits(x, y, w, reduction=r,
                                                                   pos_weight=pw),
     lambda d: [rand(3, 4, dtype=d, low=-4, high=4), rand(3, 4, dtype=d, seed=1, low=0),
                rand(3, 1, dtype=d, seed=2, low=0.1, requires_grad=False),
                rand(4, dtype=d, seed=3, low=0.5, high=3, requires_grad=False)]),
    ("bce_logits-posw-3d",
     lambda f, x, y, pw, r: f.binary_cross_entropy_with_logits(x, y, reduction=r,
                                                                pos_weight=pw),
     lambda d: [rand(2, 3, 4, dtype=d, low=-4, high=4), rand(2, 3, 4, dtype=d, seed=1, low=0),
                rand(4, dtype=d, seed=3, low=0.5, high=3, requires_grad=False)]),
    # ------------------------------------------------------------- cross entropy, nll
    ("ce", lambda f, x, t, r: f.cross_entropy(x, t, reduction=r),
     lambda d: [rand(5, 4, dtype=d, low=-3, high=3), _idx(0, 3, 1, 2, 3)]),
    ("ce-weight", lambda f, x, t, w, r: f.cross_entropy(x, t, w, reduction=r),
     lambda d: [rand(5, 4, dtype=d, low=-3, high=3), _idx(0, 3, 1, 2, 3),
                rand(4, dtype=d, seed=2, low=0.1, requires_grad=False)]),
    ("ce-ignore", lambda f, x, t, w, r: f.cross_entropy(x, t, w, ignore_index=3, reduction=r),
     lambda d: [rand(5, 4, dtype=d, low=-3, high=3), _idx(0, 3, 1, 2, 3),
                rand(4, dtype=d, seed=2, low=0.1, requires_grad=False)]),
    ("ce-ignore-default", lambda f, x, t, r: f.cross_entropy(x, t, reduction=r),
     lambda d: [rand(5, 4, dtype=d), _idx(0, -100, 1, -100, 3)]),
    ("ce-all-ignored", lambda f, x, t, r: f.cross_entropy(x, t, reduction=r),
     lambda d: [rand(2, 4, dtype=d), _idx(-100, -100)]),
    ("ce-byte-target", lambda f, x, t, r: f.cross_entropy(x, t, reduction=r),
     lambda d: [rand(3, 4, dtype=d), const(np.array([0, 3, 1], dtype=np.uint8))]),
    ("ce-smooth", lambda f, x, t, r: f.cross_entropy(x, t, reduction=r, label_smoothing=0.1),
     lambda d: [rand(5, 4, dtype=d, low=-3, high=3), _idx(0, 3, 1, 2, 3)]),
    ("ce-smooth-weight-ignore",
     lambda f, x, t, w, r: f.cross_entropy(x, t, w, ignore_index=1, reduction=r,
                                           label_smoothing=0.25),
     lambda d: [rand(5, 4, dtype=d, low=-3, high=3), _idx(0, 3, 1, 2, 3),
                rand(4, dtype=d, seed=2, low=0.1, requires_grad=False)]),
    ("ce-smooth-kdim",
     lambda f, x, t, r: f.cross_entropy(x, t, ignore_index=0, reduction=r,
                                        label_smoothing=0.3),
     lambda d: [rand(2, 3, 2, 2, dtype=d), _idx([[0, 1], [2, 1]], [[2, 2], [0, 1]])]),
    ("ce-probs", lambda f, x, t, r: f.cross_entropy(x, t, reduction=r),
     lambda d: [rand(5, 4, dtype=d, low=-3, high=3), probs(5, 4, dtype=d)]),
    ("ce-probs-weight-smooth",
     lambda f, x, t, w, r: f.cross_entropy(x, t, w, reduction=r, label_smoothing=0.2),
     lambda d: [rand(5, 4, dtype=d, low=-3, high=3), probs(5, 4, dtype=d),
                rand(4, dtype=d, seed=2, low=0.1)]),
    ("ce-probs-kdim", lambda f, x, t, w, r: f.cross_entropy(x, t, w, reduction=r),
     lambda d: [rand(2, 3, 2, 2, dtype=d), probs(2, 3, 2, 2, dtype=d),
                rand(3, dtype=d, seed=2, low=0.1)]),
    ("ce-probs-unbatched", lambda f, x, t, r: f.cross_entropy(x, t, reduction=r),
     lambda d: [rand(4, dtype=d), probs(4, dtype=d)]),
    ("ce-kdim", lambda f, x, t, w, r: f.cross_entropy(x, t, w, reduction=r),
     lambda d: [rand(2, 3, 2, 2, dtype=d), _idx([[0, 1], [2, 1]], [[2, 2], [0, 1]]),
                rand(3, dtype=d, seed=2, low=0.1, requires_grad=False)]),
    ("ce-3d", lambda f, x, t, r: f.cross_entropy(x, t, ignore_index=2, reduction=r),
     lambda d: [rand(2, 3, 4, dtype=d), _idx([0, 1, 2, 1], [2, 2, 0, 1])]),
    ("ce-5d", lambda f, x, t, r: f.cross_entropy(x, t, reduction=r),
     lambda d: [rand(2, 3, 2, 1, 2, dtype=d),
                const(np.random.default_rng(0).integers(0, 3, (2, 2, 1, 2)))]),
    ("ce-unbatched", lambda f, x, t, w, r: f.cross_entropy(x, t, w, reduction=r),
     lambda d: [rand(4, dtype=d), const(np.int64(2)),
                rand(4, dtype=d, seed=2, low=0.1, requires_grad=False)]),
    # (a 1-element target of a 1-D input: PyTorch's backward fails on it, so forward only)
    ("ce-unbatched-1elem", lambda f, x, t, r: f.cross_entropy(x, t, reduction=r),
     lambda d: [rand(4, dtype=d, requires_grad=False), _idx(3)]),
    ("ce-empty", lambda f, x, t, r: f.cross_entropy(x, t, reduction=r),
     lambda d: [rand(0, 4, dtype=d), const(np.zeros(0, dtype=np.int64))]),
    ("ce-extreme", lambda f, x, t, r: f.cross_entropy(x, t, reduction=r),
     lambda d: [ember.tensor(np.array([[1000., -1000., 0.], [-1e4, 1e4, 3.]], dtype=d),
                             requires_grad=True), _idx(1, 1)]),
    ("nll", lambda f, x, t, r: f.nll_loss(x, t, reduction=r),
     lambda d: [rand(5, 4, dtype=d, low=-3, high=0), _idx(0, 3, 1, 2, 3)]),
    ("nll-weight-ignore", lambda f, x, t, w, r: f.nll_loss(x, t, w, ignore_index=3,
                                                           reduction=r),
     lambda d: [rand(5, 4, dtype=d, low=-3, high=0), _idx(0, 3, 1, 2, 3),
                rand(4, dtype=d, seed=2, low=0.1, requires_grad=False)]),
    ("nll-kdim", lambda f, x, t, w, r: f.nll_loss(x, t, w, reduction=r),
     lambda d: [rand(2, 3, 2, 2, dtype=d), _idx([[0, 1], [2, 1]], [[2, 2], [0, 1]]),
                rand(3, dtype=d, seed=2, low=0.1, requires_grad=False)]),
    ("nll-3d-ignore", lambda f, x, t, r: f.nll_loss(x, t, ignore_index=1, reduction=r),
     lambda d: [rand(2, 3, 4, dtype=d), _idx([0, 1, 2, 1], [2, 2, 0, 1])]),
    ("nll-unbatched", lambda f, x, t, r: f.nll_loss(x, t, reduction=r),
     lambda d: [rand(4, dtype=d), const(np.int64(1))]),
    ("nll-unbatched-1elem", lambda f, x, t, w, r: f.nll_loss(x, t, w, reduction=r),
     lambda d: [rand(4, dtype=d, requires_grad=False), _idx(3),
                rand(4, dtype=d, seed=2, low=0.1, requires_grad=False)]),
    ("nll-byte-target", lambda f, x, t, r: f.nll_loss(x, t, reduction=r),
     lambda d: [rand(3, 4, dtype=d), const(np.array([0, 3, 1], dtype=np.uint8))]),
    # ------------------------------------------------------------- poisson, gaussian, kl
    ("poisson", lambda f, x, y, r: f.poisson_nll_loss(x, y, reduction=r),
     lambda d: [rand(3, 4, dtype=d), rand(3, 4, dtype=d, seed=1, low=0, high=3)]),
    ("poisson-full", lambda f, x, y, r: f.poisson_nll_loss(x, y, full=True, reduction=r),
     lambda d: [rand(3, 4, dtype=d), rand(3, 4, dtype=d, seed=1, low=0.2, high=3)]),
    ("poisson-rate", lambda f, x, y, r: f.poisson_nll_loss(x, y, log_input=False, reduction=r),
     lambda d: [rand(3, 4, dtype=d, low=0.1, high=2), rand(3, 4, dtype=d, seed=1, low=0,
                                                          high=3)]),
    ("poisson-rate-full-eps",
     lambda f, x, y, r: f.poisson_nll_loss(x, y, log_input=False, full=True, eps=0.5,
                                           reduction=r),
     lambda d: [rand(3, 4, dtype=d, low=0, high=2), rand(3, 4, dtype=d, seed=1, low=0.2,
                                                        high=3)]),
    ("poisson-int-target", lambda f, x, y, r: f.poisson_nll_loss(x, y, full=True, reduction=r),
     lambda d: [rand(4, dtype=d), _idx(0, 1, 2, 5)]),
    ("gaussian", lambda f, x, y, v, r: f.gaussian_nll_loss(x, y, v, reduction=r),
     lambda d: [rand(3, 4, dtype=d), rand(3, 4, dtype=d, seed=1),
                rand(3, 4, dtype=d, seed=2, low=0.1, high=2)]),
    ("gaussian-full-eps", lambda f, x, y, v, r: f.gaussian_nll_loss(x, y, v, full=True,
                                                                    eps=0.3, reduction=r),
     lambda d: [rand(3, 4, dtype=d), rand(3, 4, dtype=d, seed=1),
                rand(3, 4, dtype=d, seed=2, low=0.0, high=1)]),
    ("gaussian-var-drop-last", lambda f, x, y, v, r: f.gaussian_nll_loss(x, y, v, reduction=r),
     lambda d: [rand(3, 4, dtype=d), rand(3, 4, dtype=d, seed=1),
                rand(3, dtype=d, seed=2, low=0.1, high=2)]),
    ("gaussian-var-one-dim", lambda f, x, y, v, r: f.gaussian_nll_loss(x, y, v, reduction=r),
     lambda d: [rand(3, 4, dtype=d), rand(3, 4, dtype=d, seed=1),
                rand(1, 4, dtype=d, seed=2, low=0.1, high=2)]),
    ("gaussian-var-last1", lambda f, x, y, v, r: f.gaussian_nll_loss(x, y, v, reduction=r),
     lambda d: [rand(3, 4, dtype=d), rand(3, 4, dtype=d, seed=1),
                rand(3, 1, dtype=d, seed=2, low=0.1, high=2)]),
    ("gaussian-target-bcast", lambda f, x, y, v, r: f.gaussian_nll_loss(x, y, v, reduction=r),
     lambda d: [rand(3, 4, dtype=d), rand(3, 1, dtype=d, seed=1),
                rand(3, 4, dtype=d, seed=2, low=0.1, high=2)]),
    ("gaussian-float-var", lambda f, x, y, r: f.gaussian_nll_loss(x, y, 0.7, reduction=r),
     lambda d: [rand(3, 4, dtype=d), rand(3, 4, dtype=d, seed=1)]),
    ("kl", lambda f, x, y, r: f.kl_div(x, y, reduction=r),
     lambda d: [rand(3, 4, dtype=d, low=-3, high=0), rand(3, 4, dtype=d, seed=1, low=0.05)]),
    ("kl-zero-target", lambda f, x, y, r: f.kl_div(x, y, reduction=r),
     lambda d: [rand(4, dtype=d, low=-3, high=0), const([0., 0.5, 0.2, 0.3], d)]),
    ("kl-log-target", lambda f, x, y, r: f.kl_div(x, y, reduction=r, log_target=True),
     lambda d: [rand(3, 4, dtype=d, low=-3, high=0), rand(3, 4, dtype=d, seed=1, low=-3,
                                                         high=0)]),
    # ------------------------------------------------------------- margin losses
    ("margin_ranking", lambda f, a, b, t, r: f.margin_ranking_loss(a, b, t, reduction=r),
     lambda d: [rand(6, dtype=d), rand(6, dtype=d, seed=1), signs(6, dtype=d)]),
    ("margin_ranking-m", lambda f, a, b, t, r: f.margin_ranking_loss(a, b, t, margin=0.4,
                                                                     reduction=r),
     lambda d: [rand(6, dtype=d), rand(6, dtype=d, seed=1), signs(6, dtype=d)]),
    ("margin_ranking-target-grad",
     lambda f, a, b, t, r: f.margin_ranking_loss(a, b, t, margin=0.1, reduction=r),
     lambda d: [rand(6, dtype=d), rand(6, dtype=d, seed=1), rand(6, dtype=d, seed=2)]),
    ("hinge", lambda f, x, t, r: f.hinge_embedding_loss(x, t, reduction=r),
     lambda d: [rand(6, dtype=d, low=-2, high=2), signs(6, dtype=d)]),
    ("hinge-m-2d-int", lambda f, x, t, r: f.hinge_embedding_loss(x, t, margin=0.5,
                                                                 reduction=r),
     lambda d: [rand(2, 3, dtype=d, low=-2, high=2), _idx([1, -1, 1], [-1, -1, 1])]),
    ("soft_margin", lambda f, x, t, r: f.soft_margin_loss(x, t, reduction=r),
     lambda d: [rand(3, 4, dtype=d, low=-3, high=3), signs(12, dtype=d).reshape(3, 4)]),
    ("multilabel_soft_margin",
     lambda f, x, t, r: f.multilabel_soft_margin_loss(x, t, reduction=r),
     lambda d: [rand(3, 4, dtype=d, low=-3, high=3),
                const(np.random.default_rng(0).integers(0, 2, (3, 4)), d)]),
    ("multilabel_soft_margin-weight",
     lambda f, x, t, w, r: f.multilabel_soft_margin_loss(x, t, w, reduction=r),
     lambda d: [rand(3, 4, dtype=d, low=-3, high=3),
                rand(3, 4, dtype=d, seed=1, low=0), rand(4, dtype=d, seed=2, low=0.1)]),
    ("multi_margin", lambda f, x, t, r: f.multi_margin_loss(x, t, reduction=r),
     lambda d: [rand(4, 5, dtype=d), _idx(0, 4, 2, 2)]),
    ("multi_margin-p2-m-w",
     lambda f, x, t, w, r: f.multi_margin_loss(x, t, p=2, margin=0.7, weight=w, reduction=r),
     lambda d: [rand(4, 5, dtype=d), _idx(0, 4, 2, 2),
                rand(5, dtype=d, seed=2, low=0.1, requires_grad=False)]),
    ("multi_margin-unbatched", lambda f, x, t, r: f.multi_margin_loss(x, t, reduction=r),
     lambda d: [rand(5, dtype=d), const(np.int64(3))]),
    ("multi_margin-unbatched-1", lambda f, x, t, r: f.multi_margin_loss(x, t, p=2, reduction=r),
     lambda d: [rand(5, dtype=d), _idx(3)]),
    ("multi_margin-0d", lambda f, x, t, r: f.multi_margin_loss(x, t, reduction=r),
     lambda d: [rand(dtype=d), const(np.int64(0))]),
    ("multilabel_margin", lambda f, x, t, r: f.multilabel_margin_loss(x, t, reduction=r),
     lambda d: [rand(3, 5, dtype=d), _idx([3, 0, -1, 1, 2], [1, 2, 3, 4, 0],
                                           [-1, 1, 2, 0, 0])]),
    ("multilabel_margin-dups", lambda f, x, t, r: f.multilabel_margin_loss(x, t, reduction=r),
     lambda d: [rand(2, 4, dtype=d), _idx([1, 1, 2, -1], [0, 3, 3, 0])]),
    ("multilabel_margin-unbatched",
     lambda f, x, t, r: f.multilabel_margin_loss(x, t, reduction=r),
     lambda d: [rand(5, dtype=d), _idx(4, 1, -1, 0, 0)]),
    ("cosine_embedding", lambda f, a, b, t, r: f.cosine_embedding_loss(a, b, t, reduction=r),
     lambda d: [rand(4, 3, dtype=d), rand(4, 3, dtype=d, seed=1), _idx(1, -1, -1, 1)]),
    ("cosine_embedding-m", lambda f, a, b, t, r: f.cosine_embedding_loss(a, b, t, margin=0.2,
                                                                         reduction=r),
     lambda d: [rand(4, 3, dtype=d), rand(4, 3, dtype=d, seed=1), signs(4, dtype=d)]),
    ("cosine_embedding-unbatched",
     lambda f, a, b, t, r: f.cosine_embedding_loss(a, b, t, margin=-0.5, reduction=r),
     lambda d: [rand(3, dtype=d), rand(3, dtype=d, seed=1), const(np.int64(-1))]),
    ("triplet", lambda f, a, p, n, r: f.triplet_margin_loss(a, p, n, reduction=r),
     lambda d: [rand(4, 3, dtype=d), rand(4, 3, dtype=d, seed=1), rand(4, 3, dtype=d, seed=2)]),
    ("triplet-p1-swap", lambda f, a, p, n, r: f.triplet_margin_loss(a, p, n, p=1, swap=True,
                                                                    margin=2.0, reduction=r),
     lambda d: [rand(4, 3, dtype=d), rand(4, 3, dtype=d, seed=1), rand(4, 3, dtype=d, seed=2)]),
    ("triplet-p3-eps", lambda f, a, p, n, r: f.triplet_margin_loss(a, p, n, p=3, eps=0.1,
                                                                   margin=1.5, reduction=r),
     lambda d: [rand(4, 3, dtype=d), rand(4, 3, dtype=d, seed=1), rand(4, 3, dtype=d, seed=2)]),
    ("triplet-bcast-3d", lambda f, a, p, n, r: f.triplet_margin_loss(a, p, n, swap=True,
                                                                     margin=2.0, reduction=r),
     lambda d: [rand(2, 3, 4, dtype=d), rand(2, 1, 4, dtype=d, seed=1),
                rand(2, 3, 4, dtype=d, seed=2)]),
    ("triplet-unbatched", lambda f, a, p, n, r: f.triplet_margin_loss(a, p, n, margin=3.0,
                                                                      reduction=r),
     lambda d: [rand(3, dtype=d), rand(3, dtype=d, seed=1), rand(3, dtype=d, seed=2)]),
    ("triplet_distance",
     lambda f, a, p, n, r: f.triplet_margin_with_distance_loss(a, p, n, margin=2.0,
                                                               reduction=r),
     lambda d: [rand(4, 3, dtype=d), rand(4, 3, dtype=d, seed=1), rand(4, 3, dtype=d, seed=2)]),
    ("triplet_distance-l1-swap",
     lambda f, a, p, n, r: f.triplet_margin_with_distance_loss(
         a, p, n, distance_function=lambda u, v: (u - v).abs().sum(-1), margin=2.0, swap=True,
         reduction=r),
     lambda d: [rand(4, 3, dtype=d), rand(4, 3, dtype=d, seed=1), rand(4, 3, dtype=d, seed=2)]),
]


@requires_torch
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_loss_matches_torch(case, dtype, reduction):
    _, call, make = case
    check_op(lambda *a: call(F, *a, reduction), lambda *a: call(TF, *a, reduction), make(dtype))


@requires_torch
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_batchmean_matches_torch(dtype, log_target):
    x, y = rand(3, 4, dtype=dtype, low=-3, high=0), rand(3, 4, dtype=dtype, seed=1, low=0.05)
    check_op(lambda a, b: F.kl_div(a, b, reduction="batchmean", log_target=log_target),
             lambda a, b: TF.kl_div(a, b, reduction="batchmean", log_target=log_target), [x, y])
    # a 0-d input is not divided by a batch size
    check_op(lambda a, b: F.kl_div(a, b, reduction="batchmean"),
             lambda a, b: TF.kl_div(a, b, reduction="batchmean"),
             [rand(dtype=dtype, low=-2, high=0), rand(dtype=dtype, seed=1, low=0.1)])


@requires_torch
def test_smooth_l1_and_huber_at_the_kink_match_torch():
    # differences exactly at 0, +-beta/delta: the gradient PyTorch picks at the kinks
    x = ember.tensor(np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0]), requires_grad=True)
    y = ember.tensor(np.zeros(6))
    for fn, kw in (("smooth_l1_loss", dict(beta=0.5)), ("smooth_l1_loss", dict(beta=1.0)),
                   ("huber_loss", dict(delta=0.5)), ("huber_loss", dict(delta=1.0)),
                   ("l1_loss", {})):
        check_op(lambda a, b: getattr(F, fn)(a, b, reduction="sum", **kw),
                 lambda a, b: getattr(TF, fn)(a, b, reduction="sum", **kw), [x, y])


@requires_torch
def test_cross_entropy_float16_matches_torch():
    x = ember.tensor(np.random.default_rng(0).standard_normal((4, 6)).astype(np.float16),
                     requires_grad=True)
    t = _idx(0, 5, 2, 2)
    check_op(F.cross_entropy, TF.cross_entropy, [x, t], rtol=2e-3, atol=2e-3)


@requires_torch
def test_cross_entropy_mixed_dtype_probabilities_match_torch():
    x = rand(3, 4, dtype=np.float32)
    t = probs(3, 4, dtype=np.float64)
    check_op(F.cross_entropy, TF.cross_entropy, [x, t])


@requires_torch
def test_bce_weight_of_other_dtype_matches_torch():
    x = rand(3, dtype=np.float32, low=0.1, high=0.9)
    y = rand(3, dtype=np.float32, seed=1, low=0)
    w = rand(3, dtype=np.float64, seed=2, low=0.1, requires_grad=False)
    check_op(lambda a, b: F.binary_cross_entropy(a, b, w),
             lambda a, b: TF.binary_cross_entropy(a, b, to_torch(w)), [x, y])


@requires_torch
def test_gaussian_nll_clamped_variance_gradient_is_torchs():
    # entries below eps are clamped in the forward, but their gradient passes through
    x, y = rand(4, dtype=np.float64), rand(4, dtype=np.float64, seed=1)
    v = ember.tensor(np.array([1e-9, 0.5, 1e-7, 2.0]), requires_grad=True)
    check_op(lambda a, b, c: F.gaussian_nll_loss(a, b, c, eps=1e-6),
             lambda a, b, c: TF.gaussian_nll_loss(a, b, c, eps=1e-6), [x, y, v])


@requires_torch
def test_poisson_full_target_gradient_at_zero_matches_torch():
    x = rand(3, dtype=np.float64)
    t = ember.tensor(np.array([0.0, 0.5, 2.0]), requires_grad=True)
    check_op(lambda a, b: F.poisson_nll_loss(a, b, full=True, reduction="sum"),
             lambda a, b: TF.poisson_nll_loss(a, b, full=True, reduction="sum"), [x, t])


# =======================================================================================
# cross entropy: the fused primitive

@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,target,weighted,ignore", [
    ((3, 4), [0, 3, 1], True, -100),
    ((3, 4), [0, 3, 1], False, 3),
    ((2, 3, 2), [[0, 2], [1, 1]], True, 1),
    ((4,), 2, False, -100),
])
def test_cross_entropy_double_backward_matches_torch(reduction, shape, target, weighted,
                                                     ignore):
    x = rand(*shape, dtype=np.float64, low=-2, high=2)
    t = const(np.array(target, dtype=np.int64))
    w = rand(shape[1 if len(shape) > 1 else 0], dtype=np.float64, seed=2, low=0.1,
             requires_grad=False) if weighted else None
    (g,) = ember.autograd.grad(F.cross_entropy(x, t, w, ignore_index=ignore,
                                               reduction=reduction).sum(), x,
                               create_graph=True)
    (gg,) = ember.autograd.grad((g * g).sum(), x)
    tx = to_torch(x)
    (tg,) = torch.autograd.grad(TF.cross_entropy(tx, to_torch(t), to_torch(w),
                                                 ignore_index=ignore,
                                                 reduction=reduction).sum(), tx,
                                create_graph=True)
    (tgg,) = torch.autograd.grad((tg * tg).sum(), tx)
    assert_close(g, tg)
    assert_close(gg, tgg)


def test_cross_entropy_is_one_node():
    x = rand(4, 5)
    loss = F.cross_entropy(x, _idx(0, 1, 2, 3))
    assert loss.grad_fn.name() == "NllLossBackward0"
    assert loss.grad_fn.next_functions[0][0] is x.grad_fn or \
        type(loss.grad_fn.next_functions[0][0]).__name__ == "AccumulateGrad"


def test_cross_entropy_backward_twice_with_retain_graph():
    x = rand(3, 4)
    loss = F.cross_entropy(x, _idx(0, 1, 2))
    loss.backward(retain_graph=True)
    g1 = x.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * g1)


# =======================================================================================
# numerical gradient checks (float64, tiny)

def _r(*s, seed=0, low=-1.0, high=1.0, rg=True):
    return rand(*s, dtype=np.float64, seed=seed, low=low, high=high, requires_grad=rg)


GRADCHECK = [
    ("l1", lambda x, y: F.l1_loss(x, y), lambda: [_r(2, 3), _r(2, 3, seed=1)]),
    ("mse", lambda x, y: F.mse_loss(x, y, reduction="sum"), lambda: [_r(2, 3), _r(2, 3, seed=1)]),
    ("mse-weight", lambda x, y, w: F.mse_loss(x, y, weight=w),
     lambda: [_r(2, 3), _r(2, 3, seed=1), _r(2, 3, seed=2, low=0.1)]),
    ("smooth_l1", lambda x, y: F.smooth_l1_loss(x, y, beta=0.5),
     lambda: [_r(2, 3, low=-2, high=2), _r(2, 3, seed=1)]),
    ("huber", lambda x, y: F.huber_loss(x, y, delta=0.5),
     lambda: [_r(2, 3, low=-2, high=2), _r(2, 3, seed=1)]),
    ("bce", lambda x, y: F.binary_cross_entropy(x, y),
     lambda: [_r(2, 3, low=0.1, high=0.9), _r(2, 3, seed=1, low=0.1, high=0.9)]),
    ("bce_logits", lambda x, y: F.binary_cross_entropy_with_logits(
        x, y, pos_weight=const([0.5, 2.0, 1.5])),
     lambda: [_r(2, 3, low=-3, high=3), _r(2, 3, seed=1, low=0)]),
    ("ce", lambda x: F.cross_entropy(x, _idx(0, 2), const([0.3, 1.0, 2.0])), lambda: [_r(2, 3)]),
    ("ce-smooth", lambda x: F.cross_entropy(x, _idx(0, 2), label_smoothing=0.2),
     lambda: [_r(2, 3)]),
    ("ce-probs", lambda x, t: F.cross_entropy(x, t), lambda: [_r(2, 3), _r(2, 3, seed=1,
                                                                            low=0)]),
    ("nll", lambda x: F.nll_loss(x, _idx([0, 2], [1, 1]), reduction="none"),
     lambda: [_r(2, 3, 2)]),
    ("poisson", lambda x, y: F.poisson_nll_loss(x, y, full=True),
     lambda: [_r(2, 3), _r(2, 3, seed=1, low=0.5, high=3)]),
    ("poisson-rate", lambda x, y: F.poisson_nll_loss(x, y, log_input=False),
     lambda: [_r(2, 3, low=0.2), _r(2, 3, seed=1, low=0.5, high=3)]),
    ("gaussian", lambda x, y, v: F.gaussian_nll_loss(x, y, v, full=True),
     lambda: [_r(2, 3), _r(2, 3, seed=1), _r(2, 1, seed=2, low=0.2)]),
    ("kl", lambda x, y: F.kl_div(x, y, reduction="batchmean"),
     lambda: [_r(2, 3, low=-2, high=0), _r(2, 3, seed=1, low=0.1)]),
    ("kl-log", lambda x, y: F.kl_div(x, y, reduction="sum", log_target=True),
     lambda: [_r(2, 3, low=-2, high=0), _r(2, 3, seed=1, low=-2, high=0)]),
    ("margin_ranking", lambda a, b: F.margin_ranking_loss(a, b, const([1., -1., 1.]),
                                                          margin=0.1),
     lambda: [_r(3), _r(3, seed=1)]),
    ("hinge", lambda x: F.hinge_embedding_loss(x, const([1., -1., -1.]), margin=0.7),
     lambda: [_r(3)]),
    ("soft_margin", lambda x: F.soft_margin_loss(x, const([1., -1., -1.])), lambda: [_r(3)]),
    ("multilabel_soft_margin", lambda x, y: F.multilabel_soft_margin_loss(x, y),
     lambda: [_r(2, 3), _r(2, 3, seed=1, low=0)]),
    ("multi_margin", lambda x: F.multi_margin_loss(x, _idx(0, 2), p=2, margin=0.6,
                                                   weight=const([1., 2., 0.5])),
     lambda: [_r(2, 3)]),
    ("multilabel_margin", lambda x: F.multilabel_margin_loss(x, _idx([2, 0, -1], [1, -1, 0])),
     lambda: [_r(2, 3)]),
    ("cosine_embedding", lambda a, b: F.cosine_embedding_loss(a, b, _idx(1, -1), margin=-0.9),
     lambda: [_r(2, 3), _r(2, 3, seed=1)]),
    ("triplet", lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=2.0, swap=True),
     lambda: [_r(2, 3), _r(2, 3, seed=1), _r(2, 3, seed=2)]),
    ("triplet-p3", lambda a, p, n: F.triplet_margin_loss(a, p, n, p=3, margin=2.0),
     lambda: [_r(2, 3), _r(2, 3, seed=1), _r(2, 3, seed=2)]),
    ("triplet_distance", lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n,
                                                                             margin=3.0),
     lambda: [_r(2, 3), _r(2, 3, seed=1), _r(2, 3, seed=2)]),
]


@pytest.mark.parametrize("case", GRADCHECK, ids=[c[0] for c in GRADCHECK])
def test_gradcheck(case):
    _, fn, make = case
    assert gradcheck(fn, tuple(make()))


@pytest.mark.parametrize("name", ["mse", "smooth_l1", "huber", "bce", "bce_logits", "ce",
                                  "ce-smooth", "ce-probs", "nll", "gaussian", "kl",
                                  "multi_margin", "cosine_embedding"])
def test_gradgradcheck(name):
    _, fn, make = next(c for c in GRADCHECK if c[0] == name)
    assert gradgradcheck(fn, tuple(make()))


# =======================================================================================
# legacy size_average / reduce

LEGACY = [(None, None), (True, None), (False, None), (None, True), (None, False),
          (True, True), (True, False), (False, True), (False, False)]


@requires_torch
@pytest.mark.parametrize("size_average,reduce", LEGACY)
@pytest.mark.parametrize("fn", ["l1_loss", "mse_loss", "cross_entropy", "nll_loss",
                                "binary_cross_entropy", "binary_cross_entropy_with_logits",
                                "smooth_l1_loss", "kl_div", "soft_margin_loss",
                                "multilabel_soft_margin_loss", "multi_margin_loss",
                                "poisson_nll_loss"])
def test_legacy_reduction_arguments_match_torch(fn, size_average, reduce):
    if fn in ("cross_entropy", "nll_loss", "multi_margin_loss"):
        args = [rand(3, 4), _idx(0, 3, 1)]
    elif fn == "binary_cross_entropy":
        args = [rand(3, 4, low=0.1, high=0.9), rand(3, 4, seed=1, low=0)]
    elif fn == "soft_margin_loss":
        args = [rand(3, 4), signs(12).reshape(3, 4)]
    else:
        args = [rand(3, 4), rand(3, 4, seed=1, low=0.1)]
    kw = dict(size_average=size_average, reduce=reduce, reduction="sum")
    with warnings.catch_warnings(record=True) as ew:
        warnings.simplefilter("always")
        out = getattr(F, fn)(*args, **kw)
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        tout = getattr(TF, fn)(*[to_torch(a) for a in args], **kw)
    assert_close(out, tout)
    assert [str(w.message) for w in ew] == [str(w.message) for w in tw]


@requires_torch
@pytest.mark.parametrize("size_average,reduce", LEGACY)
def test_legacy_reduction_in_modules_matches_torch(size_average, reduce):
    with warnings.catch_warnings(record=True) as ew:
        warnings.simplefilter("always")
        m = enn.MSELoss(size_average, reduce)
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        tm = torch.nn.MSELoss(size_average, reduce)
    assert m.reduction == tm.reduction
    assert [str(w.message) for w in ew] == [str(w.message) for w in tw]
    for cls, kw in ((enn.CrossEntropyLoss, {}), (enn.NLLLoss, {}), (enn.BCELoss, {}),
                    (enn.KLDivLoss, {}), (enn.MultiMarginLoss, {}),
                    (enn.TripletMarginLoss, {}), (enn.PoissonNLLLoss, {})):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert cls(size_average=size_average, reduce=reduce, **kw).reduction == tm.reduction


def test_legacy_warning_is_a_user_warning():
    with pytest.warns(UserWarning, match=r"size_average and reduce args will be deprecated, "
                                         r"please use reduction='sum' instead\."):
        F.l1_loss(rand(3), rand(3, seed=1), size_average=False)


def test_elementwise_mean_is_a_deprecated_mean():
    x, y = rand(3), rand(3, seed=1)
    with pytest.warns(UserWarning, match="elementwise_mean"):
        out = F.mse_loss(x, y, reduction="elementwise_mean")
    np.testing.assert_allclose(out.item(), F.mse_loss(x, y).item())


@requires_torch
def test_kl_div_mean_warns_like_torch():
    x, y = rand(3, 4, low=-2, high=0), rand(3, 4, seed=1, low=0.1)
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(x, y)


# =======================================================================================
# Modules: forward/backward parity, buffers, reprs

MODULES = [
    ("L1Loss", {}, lambda: [rand(3, 4), rand(3, 4, seed=1)]),
    ("MSELoss", {"reduction": "sum"}, lambda: [rand(3, 4), rand(3, 4, seed=1)]),
    ("CrossEntropyLoss", {"weight": "w4", "ignore_index": 1, "label_smoothing": 0.1},
     lambda: [rand(3, 4), _idx(0, 1, 3)]),
    ("CrossEntropyLoss", {"reduction": "none"}, lambda: [rand(3, 4), _idx(0, 1, 3)]),
    ("NLLLoss", {"weight": "w4", "reduction": "sum"}, lambda: [rand(3, 4), _idx(0, 1, 3)]),
    ("BCELoss", {"weight": "w4"}, lambda: [rand(3, 4, low=0.1, high=0.9),
                                           rand(3, 4, seed=1, low=0)]),
    ("BCEWithLogitsLoss", {"weight": "w4", "pos_weight": "w4"},
     lambda: [rand(3, 4), rand(3, 4, seed=1, low=0)]),
    ("SmoothL1Loss", {"beta": 0.3}, lambda: [rand(3, 4), rand(3, 4, seed=1)]),
    ("HuberLoss", {"delta": 0.3, "reduction": "sum"}, lambda: [rand(3, 4), rand(3, 4, seed=1)]),
    ("PoissonNLLLoss", {"log_input": False, "full": True},
     lambda: [rand(3, 4, low=0.1), rand(3, 4, seed=1, low=0, high=3)]),
    ("GaussianNLLLoss", {"full": True, "eps": 0.01},
     lambda: [rand(3, 4), rand(3, 4, seed=1), rand(3, 1, seed=2, low=0.1)]),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True},
     lambda: [rand(3, 4), rand(3, 4, seed=1)]),
    ("MarginRankingLoss", {"margin": 0.3}, lambda: [rand(4), rand(4, seed=1), signs(4)]),
    ("HingeEmbeddingLoss", {"margin": 0.5}, lambda: [rand(4), signs(4)]),
    ("MultiLabelMarginLoss", {}, lambda: [rand(2, 4), _idx([3, 0, -1, 1], [1, 2, 3, -1])]),
    ("SoftMarginLoss", {}, lambda: [rand(4), signs(4)]),
    ("MultiLabelSoftMarginLoss", {"weight": "w4"},
     lambda: [rand(3, 4), rand(3, 4, seed=1, low=0)]),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5, "weight": "w4"},
     lambda: [rand(3, 4), _idx(0, 1, 3)]),
    ("CosineEmbeddingLoss", {"margin": 0.2}, lambda: [rand(3, 4), rand(3, 4, seed=1),
                                                      _idx(1, -1, 1)]),
    ("TripletMarginLoss", {"margin": 2.0, "p": 1.0, "swap": True},
     lambda: [rand(3, 4), rand(3, 4, seed=1), rand(3, 4, seed=2)]),
    ("TripletMarginWithDistanceLoss", {"margin": 2.0, "swap": True},
     lambda: [rand(3, 4), rand(3, 4, seed=1), rand(3, 4, seed=2)]),
]


def _build(name, kw):
    w = np.random.default_rng(5).uniform(0.2, 2, 4)
    ekw = {k: (ember.tensor(w) if v == "w4" else v) for k, v in kw.items()}
    tkw = {k: (torch.tensor(w) if v == "w4" else v) for k, v in kw.items()}
    return getattr(enn, name)(**ekw), getattr(torch.nn, name)(**tkw)


@requires_torch
@pytest.mark.parametrize("case", MODULES, ids=[f"{c[0]}-{i}" for i, c in enumerate(MODULES)])
def test_module_matches_torch(case):
    name, kw, make = case
    m, tm = _build(name, kw)
    assert repr(m) == repr(tm)
    assert sorted(m.state_dict()) == sorted(tm.state_dict())
    for k, v in tm.state_dict().items():
        np.testing.assert_array_equal(m.state_dict()[k].numpy(), v.numpy())
    check_op(m, tm, make())


@requires_torch
def test_module_buffers_match_torch():
    for name, kw in (("CrossEntropyLoss", ["weight"]), ("NLLLoss", ["weight"]),
                     ("BCELoss", ["weight"]), ("MultiLabelSoftMarginLoss", ["weight"]),
                     ("MultiMarginLoss", ["weight"]), ("BCEWithLogitsLoss", ["pos_weight"]),
                     ("BCEWithLogitsLoss", ["weight", "pos_weight"])):
        kw = {k: ember.ones(3) for k in kw}
        m = getattr(enn, name)(**kw)
        tm = getattr(torch.nn, name)(**{k: torch.ones(3) for k in kw})
        assert [k for k, _ in m.named_buffers()] == [k for k, _ in tm.named_buffers()]
        assert list(m.state_dict()) == list(tm.state_dict())
        assert m.weight is kw.get("weight")
    m = enn.CrossEntropyLoss(weight=ember.ones(3)).double()
    assert m.weight.dtype is ember.float64
    assert list(enn.CrossEntropyLoss().state_dict()) == []


REPRS = [("L1Loss", {}), ("MSELoss", {"reduction": "sum"}), ("CrossEntropyLoss", {}),
         ("CrossEntropyLoss", {"ignore_index": 3, "label_smoothing": 0.2}), ("NLLLoss", {}),
         ("BCELoss", {}), ("BCEWithLogitsLoss", {}), ("SmoothL1Loss", {"beta": 0.5}),
         ("HuberLoss", {"delta": 2.0}), ("PoissonNLLLoss", {}), ("GaussianNLLLoss", {}),
         ("KLDivLoss", {"log_target": True}), ("MarginRankingLoss", {}),
         ("HingeEmbeddingLoss", {}), ("MultiLabelMarginLoss", {}), ("SoftMarginLoss", {}),
         ("MultiLabelSoftMarginLoss", {}), ("MultiMarginLoss", {"p": 2}),
         ("CosineEmbeddingLoss", {}), ("TripletMarginLoss", {}),
         ("TripletMarginWithDistanceLoss", {}), ("CTCLoss", {"blank": 3})]


@requires_torch
@pytest.mark.parametrize("name,kw", REPRS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(REPRS)])
def test_repr_matches_torch(name, kw):
    assert repr(getattr(enn, name)(**kw)) == repr(getattr(torch.nn, name)(**kw))


@requires_torch
def test_triplet_with_distance_module_custom_function_matches_torch():
    m = enn.TripletMarginWithDistanceLoss(distance_function=enn.L1Loss(reduction="none"))
    tm = torch.nn.TripletMarginWithDistanceLoss(
        distance_function=torch.nn.L1Loss(reduction="none"))
    assert repr(m) == repr(tm)
    check_op(m, tm, [rand(3, 4), rand(3, 4, seed=1), rand(3, 4, seed=2)])


@requires_torch
def test_nll_loss2d_is_deprecated_like_torch():
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        m = enn.NLLLoss2d()
    assert repr(m) == "NLLLoss2d()"
    check_op(m, torch.nn.NLLLoss(), [rand(2, 3, 2, 2), _idx([[0, 1], [2, 1]], [[2, 2], [0, 1]])])


# =======================================================================================
# errors: PyTorch's exception types and messages

def _x(*s):
    return rand(*s, requires_grad=False)


ERRORS = [
    ("ce-target-oob", lambda f: f.cross_entropy(_x(3, 10), _idx(0, 1, 10))),
    ("ce-target-neg", lambda f: f.cross_entropy(_x(3, 5), _idx(0, -1, 1))),
    ("nll-target-oob", lambda f: f.nll_loss(_x(3, 5), _idx(0, 1, 10))),
    ("nll-target-oob-kdim", lambda f: f.nll_loss(_x(2, 3, 4), _idx([0, 1, 7, 1], [0] * 4))),
    ("nll-float-target", lambda f: f.nll_loss(_x(3, 5), const([0., 1., 1.]))),
    ("ce-int32-target", lambda f: f.cross_entropy(_x(3, 5), const(np.array([0, 1, 1],
                                                                           np.int32)))),
    ("ce-batch", lambda f: f.cross_entropy(_x(3, 5), _idx(0, 1, 1, 1))),
    ("nll-batch", lambda f: f.nll_loss(_x(3, 5), _idx(0, 1, 1, 1))),
    ("nll-batch-0d-target", lambda f: f.nll_loss(_x(3, 5), const(np.int64(1)))),
    ("ce-reduction", lambda f: f.cross_entropy(_x(3, 5), _idx(0, 1, 1), reduction="mean_x")),
    ("mse-reduction", lambda f: f.mse_loss(_x(3), _x(3), reduction="mean_x")),
    ("mse-weight-reduction", lambda f: f.mse_loss(_x(3), _x(3), weight=_x(3),
                                                  reduction="foo")),
    ("mse-weight-size", lambda f: f.l1_loss(_x(3), _x(3), weight=_x(1))),
    ("mse-int", lambda f: f.mse_loss(_idx(1, 2), _idx(1, 3))),
    ("mse-bcast", lambda f: f.mse_loss(_x(3), _x(4))),
    ("nll-weight-size", lambda f: f.nll_loss(_x(3, 5), _idx(0, 1, 1), weight=_x(4))),
    ("ce-weight-2d", lambda f: f.cross_entropy(_x(3, 5), _idx(0, 1, 1), weight=_x(4, 5))),
    ("nll-weight-dtype", lambda f: f.nll_loss(_x(3, 5).float(), _idx(0, 1, 1), weight=_x(5))),
    ("ce-label-smoothing", lambda f: f.cross_entropy(_x(3, 5), _idx(0, 1, 1),
                                                     label_smoothing=1.5)),
    ("nll-multi-target", lambda f: f.nll_loss(_x(3, 5), _idx([0, 1, 1]))),
    ("nll-0d-input", lambda f: f.nll_loss(_x(), const(np.int64(0)))),
    ("nll-1d-input-2-targets", lambda f: f.nll_loss(_x(5), _idx(1, 2))),
    ("nll-3d-target-size", lambda f: f.nll_loss(_x(2, 3, 4), _idx([0, 1, 1], [0, 0, 0]))),
    ("nll-4d-target-size", lambda f: f.nll_loss(_x(2, 3, 4, 5), const(np.zeros((2, 4, 4),
                                                                            np.int64)))),
    ("nll-4d-target-dims", lambda f: f.nll_loss(_x(2, 3, 4, 5), const(np.zeros((2, 4),
                                                                            np.int64)))),
    ("nll-5d-target-size", lambda f: f.nll_loss(_x(2, 3, 4, 5, 6),
                                                const(np.zeros((2, 4, 4), np.int64)))),
    ("ce-probs-long", lambda f: f.cross_entropy(_x(), const(np.int64(0)))),
    ("ce-probs-ignore", lambda f: f.cross_entropy(_x(3, 5), _x(3, 5), ignore_index=7)),
    ("ce-wrong-prob-shape", lambda f: f.cross_entropy(_x(3, 5), _x(3, 4))),
    ("ce-int-input", lambda f: f.cross_entropy(_idx([1, 2]), _idx(0))),
    ("nll-int-input", lambda f: f.nll_loss(const(np.array([[1, 2]], np.int32)), _idx(0))),
    ("bce-size", lambda f: f.binary_cross_entropy(_x(3).clamp(0, 1), _x(3, 1).clamp(0, 1))),
    ("bce-range", lambda f: f.binary_cross_entropy(_x(3) * 2 + 2, _x(3).clamp(0, 1))),
    ("bce-target-range", lambda f: f.binary_cross_entropy(_x(3).clamp(0, 1), _x(3) * 3 + 3)),
    ("bce-target-dtype", lambda f: f.binary_cross_entropy(_x(3).clamp(0, 1).float(),
                                                          _x(3).clamp(0, 1))),
    ("bce-long-target", lambda f: f.binary_cross_entropy(_x(3).clamp(0, 1), _idx(1, 0, 1))),
    ("bce-weight-enlarges", lambda f: f.binary_cross_entropy(_x(3).clamp(0, 1),
                                                             _x(3).clamp(0, 1),
                                                             weight=_x(2, 3))),
    ("bce-logits-size", lambda f: f.binary_cross_entropy_with_logits(_x(3), _x(3, 1))),
    ("bce-logits-long-target", lambda f: f.binary_cross_entropy_with_logits(_x(3).float(),
                                                                            _idx(1, 0, 1))),
    ("bce-logits-posw", lambda f: f.binary_cross_entropy_with_logits(_x(2, 3), _x(2, 3),
                                                                     pos_weight=_x(2))),
    ("bce-logits-weight-enlarges", lambda f: f.binary_cross_entropy_with_logits(
        _x(2, 3), _x(2, 3), weight=_x(2, 1, 3))),
    ("smooth-l1-beta", lambda f: f.smooth_l1_loss(_x(3), _x(3), beta=-1)),
    ("huber-delta", lambda f: f.huber_loss(_x(3), _x(3), delta=0)),
    ("poisson-reduction", lambda f: f.poisson_nll_loss(_x(3), _x(3), reduction="foo")),
    ("gaussian-neg-float", lambda f: f.gaussian_nll_loss(_x(3), _x(3), -1.0)),
    ("gaussian-neg", lambda f: f.gaussian_nll_loss(_x(3), _x(3), const([1., -1., 1.]))),
    ("gaussian-var-size", lambda f: f.gaussian_nll_loss(_x(3, 2), _x(3, 2), _x(2).abs())),
    ("gaussian-var-size-2", lambda f: f.gaussian_nll_loss(_x(3, 2), _x(3, 2),
                                                          _x(1, 1).abs())),
    ("gaussian-reduction", lambda f: f.gaussian_nll_loss(_x(3), _x(3), _x(3).abs(),
                                                         reduction="x")),
    ("kl-reduction", lambda f: f.kl_div(_x(3), _x(3), reduction="foo")),
    ("soft-margin-target-grad", lambda f: f.soft_margin_loss(_x(3), rand(3))),
    ("kl-int", lambda f: f.kl_div(_x(3), _idx(1, 2, 3), reduction="sum")),
    ("margin-ranking-dims", lambda f: f.margin_ranking_loss(_x(3), _x(3), _x(3, 1))),
    ("multilabel-margin-target-size", lambda f: f.multilabel_margin_loss(
        _x(2, 4), _idx([3, 0, 1], [1, 2, 3]))),
    ("multilabel-margin-float-target", lambda f: f.multilabel_margin_loss(_x(2, 2),
                                                                          _x(2, 2))),
    ("multilabel-margin-range", lambda f: f.multilabel_margin_loss(
        _x(2, 4), _idx([1, 2, -1, 7], [0, 0, 0, 0]))),
    ("multilabel-margin-3d", lambda f: f.multilabel_margin_loss(
        _x(2, 3, 4), const(np.zeros((2, 3, 4), np.int64)))),
    ("multi-margin-range", lambda f: f.multi_margin_loss(_x(2, 4), _idx(1, 5))),
    ("multi-margin-float", lambda f: f.multi_margin_loss(_x(2, 4), const([1., 2.]))),
    ("multi-margin-target-size", lambda f: f.multi_margin_loss(_x(2, 4), _idx(1, 2, 3))),
    ("multi-margin-target-2d", lambda f: f.multi_margin_loss(_x(2, 4), _idx([1], [2]))),
    ("multi-margin-p", lambda f: f.multi_margin_loss(_x(2, 4), _idx(1, 2), p=3)),
    ("multi-margin-weight-size", lambda f: f.multi_margin_loss(_x(2, 4), _idx(1, 2),
                                                               weight=_x(3))),
    ("multi-margin-weight-dim", lambda f: f.multi_margin_loss(_x(2, 4), _idx(1, 2),
                                                              weight=_x(2, 2))),
    ("multi-margin-3d", lambda f: f.multi_margin_loss(_x(2, 3, 4), _idx(1, 2))),
    ("multi-margin-empty-classes", lambda f: f.multi_margin_loss(_x(2, 0), _idx(0, 0))),
    ("cosine-target-2d", lambda f: f.cosine_embedding_loss(_x(2, 4), _x(2, 4),
                                                           _idx([1, -1]))),
    ("cosine-1d-target-1d-inputs", lambda f: f.cosine_embedding_loss(_x(4), _x(4), _idx(1))),
    ("cosine-0d-target-2d-inputs", lambda f: f.cosine_embedding_loss(_x(2, 4), _x(2, 4),
                                                                     const(np.int64(1)))),
    ("cosine-size", lambda f: f.cosine_embedding_loss(_x(2, 4), _x(2, 3), _idx(1, -1))),
    ("triplet-dims", lambda f: f.triplet_margin_loss(_x(2, 4), _x(2, 4), _x(4))),
    ("triplet-margin", lambda f: f.triplet_margin_loss(_x(2, 4), _x(2, 4), _x(2, 4),
                                                       margin=0)),
    ("triplet-size", lambda f: f.triplet_margin_loss(_x(2, 4), _x(2, 4), _x(2, 3))),
    ("triplet-distance-dims", lambda f: f.triplet_margin_with_distance_loss(_x(2, 4), _x(2, 4),
                                                                            _x(4))),
    ("triplet-distance-reduction", lambda f: f.triplet_margin_with_distance_loss(
        _x(2, 4), _x(2, 4), _x(2, 4), reduction="bad")),
    ("triplet-distance-margin", lambda f: f.triplet_margin_with_distance_loss(
        _x(2, 4), _x(2, 4), _x(2, 4), margin=-1.0)),
]


@requires_torch
@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(case):
    _, fn = case
    ours = outcome(lambda: fn(F))
    assert ours != "ok"
    assert ours == outcome(lambda: fn(_TorchArgs()))


class _TorchArgs:
    """Calls torch.nn.functional with ember arguments converted to torch."""

    def __getattr__(self, name):
        f = getattr(TF, name)
        return lambda *a, **k: f(*[to_torch(v) for v in a],
                                 **{n: to_torch(v) for n, v in k.items()})


@requires_torch
@pytest.mark.parametrize("fn,args", [
    ("nll_loss", lambda: [rand(3, 4), _idx(0, 1, 2)]),
    ("cross_entropy", lambda: [rand(3, 4), _idx(0, 1, 2)]),
    ("binary_cross_entropy", lambda: [rand(3, low=0.1), rand(3, seed=1, low=0)]),
    ("binary_cross_entropy_with_logits", lambda: [rand(3), rand(3, seed=1, low=0)]),
])
def test_weight_requiring_grad_is_refused_like_torch(fn, args):
    a = args()
    n = a[0].shape[-1]
    w = ember.ones(n, dtype=ember.float64, requires_grad=True)
    ours = outcome(lambda: getattr(F, fn)(*a, weight=w))
    theirs = outcome(lambda: getattr(TF, fn)(*[to_torch(v) for v in a],
                                             weight=torch.ones(n, dtype=torch.float64,
                                                               requires_grad=True)))
    assert ours == theirs and ours != "ok"
    with ember.no_grad():
        getattr(F, fn)(*a, weight=w)          # allowed without grad mode


@requires_torch
def test_module_errors_match_torch():
    for name, kw in (("MultiMarginLoss", {"p": 3}), ("MultiMarginLoss", {"weight": "2d"}),
                     ("TripletMarginLoss", {"margin": 0.0}),
                     ("TripletMarginWithDistanceLoss", {"margin": -1.0}),
                     ("HuberLoss", {"delta": "1"})):
        ekw = {k: (ember.ones(2, 2) if v == "2d" else v) for k, v in kw.items()}
        tkw = {k: (torch.ones(2, 2) if v == "2d" else v) for k, v in kw.items()}
        ours = outcome(lambda: getattr(enn, name)(**ekw))
        assert ours != "ok"
        assert ours == outcome(lambda: getattr(torch.nn, name)(**tkw))
    # an invalid reduction is accepted at construction and refused at the call, as in torch
    m, tm = enn.L1Loss(reduction="bad"), torch.nn.L1Loss(reduction="bad")
    assert outcome(lambda: m(_x(2), _x(2))) == outcome(lambda: tm(torch.zeros(2),
                                                                  torch.zeros(2)))


@requires_torch
def test_target_size_warning_matches_torch():
    x, y = rand(3), rand(3, 1, seed=1)
    with pytest.warns(UserWarning) as ew:
        F.mse_loss(x, y)
    with pytest.warns(UserWarning) as tw:
        TF.mse_loss(to_torch(x), to_torch(y))
    assert str(ew[0].message) == str(tw[0].message).replace("torch", "ember")


def test_losses_are_exported():
    import ember.ops.loss as L
    for name in L.__all__:
        assert getattr(F, name) is getattr(L, name)
    for name in ("L1Loss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
                 "BCEWithLogitsLoss", "SmoothL1Loss", "HuberLoss", "PoissonNLLLoss",
                 "GaussianNLLLoss", "KLDivLoss", "MarginRankingLoss", "HingeEmbeddingLoss",
                 "MultiLabelMarginLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
                 "MultiMarginLoss", "CosineEmbeddingLoss", "TripletMarginLoss",
                 "TripletMarginWithDistanceLoss", "CTCLoss"):
        assert issubclass(getattr(enn, name), enn.Module)
