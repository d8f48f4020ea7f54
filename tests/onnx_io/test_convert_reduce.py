"""Export of the reductions, scans and order statistics (ember/onnx/converters/reduce.py):
each op in a tiny module at opset 13 and at the default opset, run with onnxruntime and
compared with ember, with dims as ints, tuples and None, keepdim both ways, integer and
bool inputs where the op takes them, and dynamic batch axes (reduced or kept)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.onnx.errors import OnnxExporterError, UnsupportedOperatorError
from onnx_io.onnx_check import Fn, OPSETS, check_export, op_types, requires_onnx

pytestmark = requires_onnx


def f32(*shape, seed=0, lo=-2.0, hi=2.0):
    return ember.tensor(np.random.default_rng(seed).uniform(lo, hi, shape).astype(np.float32))


def distinct(*shape, seed=0):
    """float32 values without ties (orders and arg-extremes are then unique)."""
    n = int(np.prod(shape))
    a = np.random.default_rng(seed).permutation(n).astype(np.float32) / 4 - n / 8
    return ember.tensor(a.reshape(shape))


def i64(*shape, seed=0, lo=-5, hi=6):
    return ember.tensor(np.random.default_rng(seed).integers(lo, hi, shape).astype(np.int64))


def bools(*shape, seed=0):
    return ember.tensor(np.random.default_rng(seed).random(shape) < 0.5)


def flipped(args):
    """Other values from the same domain (the elements reversed)."""
    return tuple(ember.tensor(np.flip(a.numpy()).copy()) for a in args)


X = f32(3, 4, 5)
D = distinct(3, 4, 5)
TIES = ember.tensor(np.array([[1, 3, 3, 0, 1], [2, 2, 2, 5, 5], [0, 0, 1, 1, 1]],
                             dtype=np.float32))

CASES = [
    ("sum_all", lambda x: x.sum(), (X,)),
    ("sum_dim", lambda x: x.sum(1), (X,)),
    ("sum_dims_keepdim", lambda x: x.sum((0, 2), keepdim=True), (X,)),
    ("sum_neg_dim", lambda x: x.sum(-1), (X,)),
    ("sum_int", lambda x: x.sum(0), (i64(3, 4),)),
    ("sum_bool", lambda x: x.sum((0, 1)), (bools(3, 4),)),
    ("sum_dtype", lambda x: x.sum(1, dtype=ember.float64), (X,)),
    ("sum_0d", lambda x: x.sum().sum(0) + x.amax().amax(0), (X,)),
    ("mean_all", lambda x: x.mean(), (X,)),
    ("mean_dims", lambda x: x.mean((1, 2), keepdim=True), (X,)),
    ("nansum", lambda x: ember.nansum(x, 1),
     (ember.tensor([[1.0, float("nan"), 2.0], [float("nan"), 3.0, 4.0]]),)),
    ("nanmean", lambda x: ember.nanmean(x, 1, keepdim=True),
     (ember.tensor([[1.0, float("nan"), 2.0], [float("nan"), 3.0, 4.0]]),)),
    ("prod_all", lambda x: x.prod(), (f32(2, 3, lo=0.5, hi=1.5),)),
    ("prod_dim", lambda x: x.prod(1, keepdim=True), (X,)),
    ("prod_int", lambda x: x.prod(0), (i64(3, 4),)),
    ("var", lambda x: x.var(1), (X,)),
    ("var_all_unbiased_false", lambda x: x.var(unbiased=False), (X,)),
    ("var_correction", lambda x: ember.var(x, (0, 2), correction=2, keepdim=True), (X,)),
    ("std", lambda x: x.std(-1), (X,)),
    ("std_mean", lambda x: ember.std_mean(x, 0), (X,)),
    ("logsumexp", lambda x: ember.logsumexp(x, 1), (X,)),
    ("logsumexp_large", lambda x: ember.logsumexp(x, (0, 2), keepdim=True), (X * 100,)),
    ("norm2", lambda x: x.norm(), (X,)),
    ("norm2_dim", lambda x: x.norm(dim=1, keepdim=True), (X,)),
    ("norm1", lambda x: x.norm(p=1, dim=(0, 1)), (X,)),
    ("norm_inf", lambda x: x.norm(p=float("inf"), dim=2), (X,)),
    ("norm_minf", lambda x: x.norm(p=-float("inf"), dim=2), (X,)),
    ("norm0", lambda x: x.norm(p=0, dim=1), (ember.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]]),)),
    ("norm3", lambda x: x.norm(p=3, dim=1), (X,)),
    ("cumsum", lambda x: x.cumsum(1), (X,)),
    ("cumsum_int", lambda x: x.cumsum(0), (i64(3, 4),)),
    ("cumsum_bool", lambda x: x.cumsum(-1), (bools(3, 4),)),
    ("amax", lambda x: x.amax(), (X,)),
    ("amax_dims", lambda x: x.amax((0, 2), keepdim=True), (X,)),
    ("amin_dim", lambda x: x.amin(1), (X,)),
    ("amax_bool", lambda x: x.amax(1), (bools(3, 4),)),
    ("max_all", lambda x: x.max(), (X,)),
    ("min_all_int", lambda x: x.min(), (i64(3, 4),)),
    ("aminmax", lambda x: ember.aminmax(x, dim=1), (X,)),
    ("max_dim", lambda x: x.max(1), (D,)),
    ("max_dim_keepdim", lambda x: x.max(-1, keepdim=True), (D,)),
    ("min_dim", lambda x: x.min(0), (D,)),
    ("max_dim_ties", lambda x: x.max(1), (TIES,)),
    ("argmax", lambda x: x.argmax(), (D,)),
    ("argmax_keepdim", lambda x: x.argmax(keepdim=True), (D,)),
    ("argmax_dim", lambda x: x.argmax(1), (D,)),
    ("argmin_dim_keepdim", lambda x: x.argmin(2, keepdim=True), (D,)),
    ("argmax_ties", lambda x: x.argmax(1), (TIES,)),
    ("argmin_ties", lambda x: x.argmin(1), (TIES,)),
    ("argmax_int", lambda x: x.argmax(0), (i64(4, 3),)),
    ("argmax_bool", lambda x: x.argmax(1), (bools(3, 4),)),
    ("sort", lambda x: x.sort(1), (D,)),
    ("sort_desc", lambda x: x.sort(-1, descending=True), (D,)),
    ("sort_ties", lambda x: x.sort(1), (TIES,)),
    ("sort_ties_desc", lambda x: x.sort(1, descending=True), (TIES,)),
    ("sort_int", lambda x: x.sort(0), (i64(5, 3),)),
    ("argsort", lambda x: x.argsort(0), (D,)),
    ("argsort_desc", lambda x: x.argsort(-1, descending=True), (TIES,)),
    ("topk", lambda x: x.topk(3), (D,)),
    ("topk_smallest_dim", lambda x: x.topk(2, dim=1, largest=False), (D,)),
    ("topk_ties", lambda x: x.topk(3, dim=1), (TIES,)),
    ("kthvalue", lambda x: x.kthvalue(2, 1), (D,)),
    ("kthvalue_keepdim", lambda x: x.kthvalue(3, -1, keepdim=True), (D,)),
    ("median_all", lambda x: x.median(), (D,)),
    ("median_all_even", lambda x: x.median(), (distinct(2, 3),)),
    ("median_dim", lambda x: x.median(1), (D,)),
    ("median_dim_keepdim", lambda x: x.median(0, keepdim=True), (D,)),
    ("all", lambda x: x.all(), (bools(3, 4),)),
    ("all_dim", lambda x: (x > -1.5).all(1), (X,)),
    ("any_dims_keepdim", lambda x: (x > 1.5).any((0, 2), keepdim=True), (X,)),
    ("any_float", lambda x: x.any(0), (ember.tensor([[0.0, 1.0], [0.0, 0.0]]),)),
    ("all_uint8", lambda x: x.all(1), (ember.tensor(np.array([[0, 2], [3, 4]], np.uint8)),)),
    ("count_nonzero", lambda x: ember.count_nonzero(x), (i64(3, 4, lo=0, hi=2),)),
    ("count_nonzero_dims", lambda x: ember.count_nonzero(x.round(), (0, 2)), (X,)),
    ("diff", lambda x: ember.diff(x, dim=1), (X,)),
    ("diff_n2_prepend", lambda x, p: ember.diff(x, n=2, dim=-1, prepend=p),
     (X, f32(3, 4, 1, seed=3))),
    ("diff_bool", lambda x: ember.diff(x), (bools(3, 4),)),
]


def _params(cases):
    return [pytest.param(fn, args, id=name) for name, fn, args in cases]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("fn, args", _params(CASES))
def test_reduce_op(fn, args, opset, tmp_path):
    check_export(Fn(fn), args, tmp_path, opset=opset, other=flipped(args))


DYNAMIC = [
    ("sum_kept_batch", lambda x: x.sum(-1)),
    ("mean_over_batch", lambda x: x.mean(0)),
    ("var_over_batch", lambda x: x.var((0, 1))),
    ("std_all", lambda x: x.std()),
    ("median_over_batch", lambda x: x.median(0)),
    ("median_all", lambda x: x.median()),
    ("sort_over_batch", lambda x: x.sort(0, descending=True)),
    ("argsort_kept_batch", lambda x: x.argsort(1)),
    ("max_dim", lambda x: x.max(1)),
    ("argmax_flat", lambda x: x.argmax()),
    ("topk", lambda x: x.topk(2, dim=-1)),
    ("cumsum_batch", lambda x: x.cumsum(0)),
    ("norm", lambda x: x.norm(dim=0)),
    ("logsumexp", lambda x: ember.logsumexp(x, 0)),
    ("count_any", lambda x: (ember.count_nonzero(x > 0, 1), (x > 0).any(0))),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in DYNAMIC])
def test_dynamic_batch(fn, opset, tmp_path):
    check_export(Fn(fn), distinct(3, 4), tmp_path, opset=opset, other=distinct(6, 4, seed=1),
                 dynamic_axes={"x": {0: "batch"}}, input_names=["x"])


def test_reductions_use_onnx_reduce_ops(tmp_path):
    proto = check_export(Fn(lambda x: (x.sum(1), x.amax(0), x.argmin(1), x.topk(2).indices,
                                       ember.logsumexp(x, 1), x.norm(dim=1))), X, tmp_path)
    types = op_types(proto)
    for t in ("ReduceSum", "ReduceMax", "ArgMin", "TopK", "ReduceLogSumExp", "ReduceL2"):
        assert t in types


@pytest.mark.parametrize("fn, what", [
    (lambda x: x.cumprod(1), "CumProd"),
    (lambda x: x.mode(1).indices, "mode"),
    (lambda x: x.cummax(1).values, "cummax"),
    (lambda x: ember.nanmedian(x, 1).values, "nanmedian"),
])
def test_unsupported(fn, what, tmp_path):
    with pytest.raises((UnsupportedOperatorError, OnnxExporterError), match=what):
        ember.onnx.export(Fn(fn), X, str(tmp_path / "m.onnx"))


def test_indices_come_from_ops():
    """The index outputs are computed by ops (the tracer sees them); values and gradients
    are unchanged."""
    x = ember.tensor(D.numpy(), requires_grad=True)
    v, i = x.max(1)
    assert i.grad_fn is None and i.dtype == ember.int64
    v.sum().backward()
    expected = np.zeros(x.shape, np.float32)
    np.put_along_axis(expected, D.numpy().argmax(1)[:, None], 1.0, axis=1)
    np.testing.assert_array_equal(x.grad.numpy(), expected)
