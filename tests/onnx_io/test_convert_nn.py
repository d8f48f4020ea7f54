"""ONNX export of ember.nn's layers (ember/onnx/converters/nn.py) and the Conv +
BatchNorm folding pass (ember/onnx/_passes.py): each variant exported, checked by
onnx.checker and compared with ember's eval-mode output in onnxruntime, at opset 13, where
the ONNX form changes, and at the default opset."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn
from ember.onnx import OnnxExporterError
from onnx_io.onnx_check import Fn, OPSETS, check_export, op_types, requires_onnx

pytestmark = requires_onnx

DYN = {"input": {0: "batch"}}


def randn(*shape, seed=0):
    ember.manual_seed(seed)
    return ember.randn(*shape)


def _randomize_norm(module):
    """Give normalization layers non-trivial parameters and running statistics."""
    ember.manual_seed(1)
    for m in module.modules():
        if getattr(m, "running_mean", None) is not None:
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
        for name in ("weight", "bias"):
            p = getattr(m, name, None)
            if isinstance(m, (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)) \
                    and p is not None:
                p.data.normal_()
    return module


def check_dynamic(model, shape, tmp_path, other_batch=5, **kw):
    """Export at ``shape`` with a dynamic batch and compare at another batch too."""
    return check_export(model, randn(*shape), tmp_path, other=randn(other_batch, *shape[1:]),
                        dynamic_axes=DYN, input_names=["input"], **kw)


# ---------------------------------------------------------------------------------------
# linear

@pytest.mark.parametrize("opset", OPSETS)
def test_linear_gemm(opset, tmp_path):
    proto = check_dynamic(nn.Linear(6, 4), (3, 6), tmp_path, opset=opset)
    assert op_types(proto) == ["Gemm"]


@pytest.mark.parametrize("bias", [True, False])
def test_linear_batched_matmul(bias, tmp_path):
    proto = check_dynamic(nn.Linear(6, 4, bias=bias), (2, 3, 6), tmp_path)
    assert "MatMul" in op_types(proto)


def test_linear_vector_weight(tmp_path):
    w = randn(6, seed=3)
    check_export(Fn(lambda x: F.linear(x, w)), randn(3, 6), tmp_path)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("opset", OPSETS)
def test_bilinear(bias, opset, tmp_path):
    model = nn.Bilinear(3, 5, 4, bias=bias)
    x1, x2 = randn(2, 7, 3, seed=1), randn(2, 7, 5, seed=2)
    proto = check_export(model, (x1, x2), tmp_path, other=(randn(4, 7, 3), randn(4, 7, 5)),
                         dynamic_axes={"input1": {0: "b"}, "input2": {0: "b"}}, opset=opset)
    assert op_types(proto)[0] == "Einsum"


# ---------------------------------------------------------------------------------------
# convolution

CONV_CASES = [
    dict(),
    dict(stride=2, padding=1),
    dict(padding=2, dilation=2),
    dict(groups=2, padding=1),
    dict(padding="same"),
    dict(padding="same", dilation=2),
    dict(padding="valid", bias=False),
]


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_conv(nd, case, tmp_path):
    kw = CONV_CASES[case]
    conv = [nn.Conv1d, nn.Conv2d, nn.Conv3d][nd - 1]
    k = 4 if kw.get("padding") == "same" else 3        # 'same' with an even kernel
    model = conv(4, 6, k, **kw)
    proto = check_dynamic(model, (2, 4) + (7,) * nd, tmp_path)
    assert op_types(proto) == ["Conv"]


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("opset", [13, 19, None])
def test_conv_padding_mode(mode, opset, tmp_path):
    model = nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode=mode)
    proto = check_dynamic(model, (2, 3, 6, 7), tmp_path, opset=opset)
    assert "Pad" in op_types(proto) or (mode == "circular" and opset == 13)


def test_conv1d_circular(tmp_path):
    check_dynamic(nn.Conv1d(2, 3, 5, padding=2, padding_mode="circular"), (2, 2, 9), tmp_path,
                  opset=13)


CONV_T_CASES = [
    dict(),
    dict(stride=2),
    dict(stride=2, padding=1, output_padding=1),
    dict(stride=3, padding=2, output_padding=2, dilation=2),
    dict(stride=2, output_padding=1),              # output_padding beyond the padding
    dict(groups=2, stride=2, padding=1, bias=False),
]


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("case", range(len(CONV_T_CASES)))
def test_conv_transpose(nd, case, tmp_path):
    conv = [nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d][nd - 1]
    model = conv(4, 6, 3, **CONV_T_CASES[case])
    proto = check_dynamic(model, (2, 4) + (5,) * nd, tmp_path)
    assert op_types(proto) == ["ConvTranspose"]


def test_conv_transpose_output_size(tmp_path):
    model = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    check_export(Fn(lambda x: model(x, output_size=(10, 9))), randn(1, 3, 5, 5), tmp_path)


# ---------------------------------------------------------------------------------------
# pooling

MAXPOOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=2, stride=3, padding=1, ceil_mode=True),   # PyTorch drops a window
    dict(kernel_size=3, stride=1, padding=1, dilation=2),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0)),
]


@pytest.mark.parametrize("case", range(len(MAXPOOL_CASES)))
@pytest.mark.parametrize("opset", OPSETS)
def test_max_pool2d(case, opset, tmp_path):
    proto = check_dynamic(nn.MaxPool2d(**MAXPOOL_CASES[case]), (2, 3, 10, 11), tmp_path,
                          opset=opset)
    assert op_types(proto) == ["MaxPool"]


@pytest.mark.parametrize("case", range(5))
def test_max_pool1d_3d(case, tmp_path):
    kw = MAXPOOL_CASES[case]
    check_dynamic(nn.MaxPool1d(**kw), (2, 3, 10), tmp_path, name="a.onnx")
    check_dynamic(nn.MaxPool3d(**kw), (2, 3, 6, 7, 8), tmp_path, name="b.onnx")


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("case", range(5))
def test_max_pool_return_indices(nd, case, tmp_path):
    """MaxPool's Indices count over the whole tensor; PyTorch's within each plane."""
    pool = [nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d][nd - 1](return_indices=True,
                                                               **MAXPOOL_CASES[case])
    proto = check_dynamic(pool, (2, 3) + (7,) * nd, tmp_path)
    assert proto.graph.output[1].type.tensor_type.elem_type == 7      # int64


def test_max_pool_unbatched(tmp_path):
    check_export(nn.MaxPool2d(3, 2, 1), randn(3, 9, 8), tmp_path, name="a.onnx")
    check_export(nn.MaxPool2d(2, return_indices=True), randn(3, 6, 8), tmp_path, name="b.onnx")
    check_export(nn.MaxPool1d(2), randn(3, 9), tmp_path, name="c.onnx")


def test_max_pool_dynamic_spatial(tmp_path):
    """MaxPool itself takes any size: the spatial dimensions may be dynamic."""
    pool = nn.MaxPool2d(3, 2, 1, ceil_mode=True)
    check_export(pool, randn(2, 3, 9, 9), tmp_path, other=randn(2, 3, 10, 11),
                 dynamic_axes={"input": {2: "h", 3: "w"}}, input_names=["input"])


def test_max_pool_integer_input_refused(tmp_path):
    x = ember.randint(0, 9, (1, 2, 4, 4))
    with pytest.raises(OnnxExporterError, match="max pooling"):
        ember.onnx.export(nn.MaxPool2d(2), x, str(tmp_path / "m.onnx"))


AVGPOOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, stride=3, padding=1, ceil_mode=True),
]


@pytest.mark.parametrize("case", range(len(AVGPOOL_CASES)))
@pytest.mark.parametrize("opset", OPSETS)
def test_avg_pool2d(case, opset, tmp_path):
    proto = check_dynamic(nn.AvgPool2d(**AVGPOOL_CASES[case]), (2, 3, 10, 11), tmp_path,
                          opset=opset)
    assert op_types(proto) == ["AveragePool"]


@pytest.mark.parametrize("case", range(len(AVGPOOL_CASES)))
def test_avg_pool1d_3d(case, tmp_path):
    kw = AVGPOOL_CASES[case]
    check_dynamic(nn.AvgPool1d(**kw), (2, 3, 10), tmp_path, name="a.onnx")
    check_dynamic(nn.AvgPool3d(**kw), (2, 3, 6, 7, 8), tmp_path, name="b.onnx")


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)])
def test_avg_pool_divisor_override(kw, tmp_path):
    check_dynamic(nn.AvgPool2d(divisor_override=3, **kw), (2, 3, 8, 9), tmp_path)


def test_avg_pool_unbatched(tmp_path):
    check_export(nn.AvgPool2d(3, 2, 1), randn(3, 9, 8), tmp_path)


@pytest.mark.parametrize("nd,insize,outsize", [
    (2, (8, 6), (4, 3)),            # divisible: one AveragePool
    (2, (7, 9), (3, 4)),            # windows of different sizes: MatMul per dimension
    (2, (8, 9), (4, 4)),            # one dimension of each kind
    (1, (10,), (4,)),
    (3, (6, 5, 4), (3, 2, 3)),
    (2, (6, 6), (1, 1)),            # global: a Mean
])
def test_adaptive_avg_pool(nd, insize, outsize, tmp_path):
    pool = [nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d][nd - 1](
        outsize if nd > 1 else outsize[0])
    proto = check_dynamic(pool, (2, 3) + insize, tmp_path)
    if all(i % o == 0 for i, o in zip(insize, outsize)) and outsize != (1, 1):
        assert op_types(proto) == ["AveragePool"]


@pytest.mark.parametrize("nd,insize,outsize", [
    (2, (8, 6), (4, 3)), (2, (7, 9), (3, 4)), (1, (10,), (4,)), (3, (6, 5, 4), (3, 2, 3))])
def test_adaptive_max_pool(nd, insize, outsize, tmp_path):
    pool = [nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d][nd - 1](
        outsize if nd > 1 else outsize[0])
    check_dynamic(pool, (2, 3) + insize, tmp_path)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_adaptive_max_pool_global(nd, tmp_path):
    """A 1x1 output is GlobalMaxPool, which takes any spatial size."""
    pool = [nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d][nd - 1](1)
    axes = {"input": {0: "batch", nd + 1: "w"}}
    proto = check_export(pool, randn(2, 3, *(5,) * nd), tmp_path, dynamic_axes=axes,
                         other=randn(4, 3, *(5,) * (nd - 1), 7), input_names=["input"])
    assert op_types(proto) == ["GlobalMaxPool"]


def test_adaptive_pool_unbatched(tmp_path):
    check_export(nn.AdaptiveAvgPool2d((2, 3)), randn(3, 6, 9), tmp_path, name="a.onnx")
    check_export(nn.AdaptiveAvgPool2d((4, 4)), randn(3, 6, 9), tmp_path, name="b.onnx")
    check_export(nn.AdaptiveMaxPool2d((2, 3)), randn(3, 6, 9), tmp_path, name="c.onnx")
    check_export(nn.AdaptiveMaxPool1d(4), randn(3, 9), tmp_path, name="d.onnx")


def test_adaptive_max_pool_indices(tmp_path):
    check_dynamic(nn.AdaptiveMaxPool2d((4, 3), return_indices=True), (2, 3, 8, 6), tmp_path)
    with pytest.raises(OnnxExporterError, match="return_indices"):
        ember.onnx.export(nn.AdaptiveMaxPool2d((3, 4), return_indices=True),
                          randn(1, 2, 7, 9), str(tmp_path / "m.onnx"))


def test_adaptive_pool_dynamic_spatial_refused(tmp_path):
    with pytest.raises(OnnxExporterError, match="dynamic axes"):
        ember.onnx.export(nn.AdaptiveAvgPool2d((3, 4)), randn(1, 2, 7, 9),
                          str(tmp_path / "m.onnx"), input_names=["input"],
                          dynamic_axes={"input": {2: "h"}})
    assert not (tmp_path / "m.onnx").exists()


def test_lp_pool(tmp_path):
    check_dynamic(nn.LPPool2d(2, 3, stride=2), (2, 3, 9, 9), tmp_path, name="a.onnx")
    check_dynamic(nn.LPPool1d(3, 2), (2, 3, 10), tmp_path, name="b.onnx")


# ---------------------------------------------------------------------------------------
# normalization

@pytest.mark.parametrize("bn,shape", [(nn.BatchNorm1d, (4, 5)), (nn.BatchNorm1d, (4, 5, 7)),
                                      (nn.BatchNorm2d, (4, 5, 6, 7)),
                                      (nn.BatchNorm3d, (4, 5, 3, 4, 5))])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("opset", OPSETS)
def test_batch_norm_eval(bn, shape, affine, opset, tmp_path):
    model = _randomize_norm(bn(5, affine=affine))
    proto = check_dynamic(model, shape, tmp_path, opset=opset)
    assert op_types(proto) == ["BatchNormalization"]


def test_batch_norm_without_running_stats(tmp_path):
    """track_running_stats=False normalizes with the batch's statistics even in eval."""
    model = _randomize_norm(nn.BatchNorm2d(5, track_running_stats=False))
    check_dynamic(model, (4, 5, 3, 3), tmp_path)


def test_batch_norm_functional_training(tmp_path):
    w, b = randn(5, seed=4), randn(5, seed=5)
    check_export(Fn(lambda x: F.batch_norm(x, None, None, w, b, training=True)),
                 randn(4, 5, 3), tmp_path)


@pytest.mark.parametrize("shape,ns", [((3, 4, 6), (6,)), ((3, 4, 5, 6), (5, 6)),
                                      ((2, 1, 6), (1, 6))])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@pytest.mark.parametrize("opset", [13, 16, 17, None])
def test_layer_norm(shape, ns, affine, opset, tmp_path):
    model = nn.LayerNorm(ns, elementwise_affine=affine != "none", bias=affine == "both")
    _randomize_norm(model)
    proto = check_dynamic(model, shape, tmp_path, opset=opset)
    assert ("LayerNormalization" in op_types(proto)) == (opset is None or opset >= 17)


@pytest.mark.parametrize("shape", [(3, 6, 5), (3, 6, 4, 5), (3, 6)])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("opset", [13, 18, 21, None])
def test_group_norm(shape, affine, opset, tmp_path):
    model = _randomize_norm(nn.GroupNorm(3, 6, affine=affine))
    check_dynamic(model, shape, tmp_path, opset=opset)


@pytest.mark.parametrize("inorm,shape", [(nn.InstanceNorm1d, (3, 4, 7)),
                                         (nn.InstanceNorm2d, (3, 4, 5, 6)),
                                         (nn.InstanceNorm3d, (3, 4, 3, 4, 5))])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("running", [True, False])
def test_instance_norm(inorm, shape, affine, running, tmp_path):
    model = _randomize_norm(inorm(4, affine=affine, track_running_stats=running))
    proto = check_dynamic(model, shape, tmp_path)
    assert op_types(proto) == ["BatchNormalization" if running else "InstanceNormalization"]


@pytest.mark.parametrize("opset", [13, 17, None])
def test_norms_float64(opset, tmp_path):
    """float64 goes through the same forms (the decomposed ones where onnxruntime has no
    float64 kernel: InstanceNormalization)."""
    ember.manual_seed(0)
    x = ember.randn(3, 4, 5, dtype=ember.float64)
    for k, model in enumerate([nn.LayerNorm(5), nn.GroupNorm(2, 4), nn.InstanceNorm1d(4),
                               nn.BatchNorm1d(4)]):
        model = _randomize_norm(model.to(ember.float64))
        check_export(model, x, tmp_path, opset=opset, name=f"{k}.onnx")


@pytest.mark.parametrize("size", [3, 4])
def test_local_response_norm(size, tmp_path):
    check_dynamic(nn.LocalResponseNorm(size, alpha=0.1, beta=0.6, k=1.5), (2, 7, 4, 5),
                  tmp_path)


def test_rms_norm(tmp_path):
    model = nn.RMSNorm((5,))
    model.weight.data.normal_()
    check_dynamic(model, (3, 4, 5), tmp_path)


# ---------------------------------------------------------------------------------------
# dropout, flatten, embedding

@pytest.mark.parametrize("layer,shape", [
    (nn.Dropout(0.5), (2, 6)), (nn.Dropout1d(0.5), (2, 3, 6)), (nn.Dropout2d(0.5), (2, 3, 4, 5)),
    (nn.Dropout3d(0.5), (2, 3, 2, 4, 5)), (nn.AlphaDropout(0.5), (2, 6)),
    (nn.FeatureAlphaDropout(0.5), (2, 3, 4))])
def test_dropout_is_identity_in_eval(layer, shape, tmp_path):
    """Dropout records no op in eval mode: nothing of it reaches the graph."""
    model = nn.Sequential(nn.ReLU(), layer, nn.ReLU())
    proto = check_dynamic(model, shape, tmp_path)
    assert op_types(proto) == ["Relu", "Relu"]


def test_flatten_module(tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    check_dynamic(model, (2, 3, 4), tmp_path)


@pytest.mark.parametrize("opset", OPSETS)
def test_embedding(opset, tmp_path):
    model = nn.Embedding(10, 4)
    x = ember.tensor([[1, 2, 9], [0, 4, 4]])
    proto = check_export(model, x, tmp_path, other=ember.tensor([[3, 3, 1]] * 5),
                         dynamic_axes={"input": {0: "batch"}}, input_names=["input"],
                         opset=opset)
    assert op_types(proto) == ["Gather"]


@pytest.mark.parametrize("indices", [[4, 0, 7], [[[1, 2], [3, 3]], [[0, 9], [5, 5]]]])
def test_embedding_shapes_and_padding_idx(indices, tmp_path):
    model = nn.Embedding(10, 3, padding_idx=0)
    check_export(model, ember.tensor(indices), tmp_path)


def test_embedding_int32_indices(tmp_path):
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2))
    check_export(model, ember.tensor([[1, 2, 9], [0, 4, 4]], dtype=ember.int32), tmp_path)


# ---------------------------------------------------------------------------------------
# resampling

RESIZE_CASES = [
    ("nearest", dict(scale_factor=2), (5, 6)),
    ("nearest", dict(size=(7, 9)), (5, 6)),
    ("nearest", dict(size=(3, 4)), (5, 7)),
    ("nearest-exact", dict(size=(7, 9)), (5, 6)),
    ("nearest-exact", dict(scale_factor=0.5), (8, 6)),
    ("bilinear", dict(scale_factor=2), (5, 6)),
    ("bilinear", dict(size=(7, 9), align_corners=True), (5, 6)),
    ("bilinear", dict(size=(3, 4)), (5, 7)),
    ("bilinear", dict(size=(1, 4)), (5, 7)),
    ("bicubic", dict(scale_factor=2), (5, 6)),
    ("bicubic", dict(size=(7, 9), align_corners=True), (5, 6)),
    ("bicubic", dict(size=(4, 3)), (7, 5)),
]


@pytest.mark.parametrize("case", range(len(RESIZE_CASES)))
@pytest.mark.parametrize("opset", OPSETS)
def test_interpolate_2d(case, opset, tmp_path):
    mode, kw, size = RESIZE_CASES[case]
    model = Fn(lambda x: F.interpolate(x, mode=mode, **kw))
    proto = check_dynamic(model, (2, 3) + size, tmp_path, opset=opset)
    assert "Resize" in op_types(proto)


@pytest.mark.parametrize("mode,kw,size", [
    ("nearest", dict(scale_factor=3), (5,)), ("linear", dict(size=9), (5,)),
    ("linear", dict(scale_factor=2, align_corners=True), (5,)),
    ("nearest", dict(size=(4, 6, 5)), (3, 4, 5)),
    ("trilinear", dict(scale_factor=2), (3, 4, 2)),
    ("trilinear", dict(size=(4, 6, 5), align_corners=True), (3, 4, 5))])
def test_interpolate_1d_3d(mode, kw, size, tmp_path):
    model = Fn(lambda x: F.interpolate(x, mode=mode, **kw))
    check_dynamic(model, (2, 3) + size, tmp_path)


@pytest.mark.parametrize("mode,kw", [
    ("bilinear", dict(size=(4, 3), antialias=True)),
    ("bicubic", dict(size=(3, 5), antialias=True)),
    ("bilinear", dict(scale_factor=1.7)),            # the coordinate scale is 1 / 1.7
    ("area", dict(size=(3, 4)))])
def test_interpolate_exact_fallback(mode, kw, tmp_path):
    model = Fn(lambda x: F.interpolate(x, mode=mode, **kw))
    check_dynamic(model, (2, 3, 7, 8), tmp_path)


SWEEP_SIZES = [dict(size=(8, 3)), dict(size=(13, 11)), dict(scale_factor=1.5),
               dict(scale_factor=0.7), dict(scale_factor=(3, 0.5)),
               dict(scale_factor=1.7, recompute_scale_factor=True)]


@pytest.mark.parametrize("mode,align", [("nearest", None), ("nearest-exact", None),
                                        ("bilinear", False), ("bilinear", True),
                                        ("bicubic", False), ("bicubic", True)])
@pytest.mark.parametrize("kw", range(len(SWEEP_SIZES)))
def test_interpolate_sizes_sweep(mode, align, kw, tmp_path):
    """Up and down, sizes and scale factors (whose coordinate scale is 1 / factor): Resize
    where its rules give ember's positions, the exact gather form elsewhere; equal
    outputs either way."""
    model = Fn(lambda x: F.interpolate(x, mode=mode, align_corners=align, **SWEEP_SIZES[kw]))
    check_export(model, randn(1, 2, 5, 6), tmp_path)


def test_interpolate_uint8(tmp_path):
    x = (randn(1, 3, 5, 6).abs() * 40).to(ember.uint8)
    for mode in ("nearest", "bilinear"):
        check_export(Fn(lambda t, mode=mode: F.interpolate(t, size=(7, 9), mode=mode)), x,
                     tmp_path, name=f"{mode}.onnx", atol=0)


def test_upsample_modules(tmp_path):
    check_dynamic(nn.Upsample(scale_factor=2, mode="nearest"), (2, 3, 4, 5), tmp_path,
                  name="a.onnx")
    check_dynamic(nn.UpsamplingBilinear2d(scale_factor=2), (2, 3, 4, 5), tmp_path,
                  name="b.onnx")


def test_interpolate_dynamic_spatial_refused(tmp_path):
    with pytest.raises(OnnxExporterError, match="dynamic axes"):
        ember.onnx.export(nn.Upsample(scale_factor=2), randn(1, 2, 4, 4),
                          str(tmp_path / "m.onnx"), input_names=["input"],
                          dynamic_axes={"input": {2: "h", 3: "w"}})


@pytest.mark.parametrize("layer", [nn.PixelShuffle(2), nn.PixelUnshuffle(2)])
def test_pixel_shuffle(layer, tmp_path):
    check_dynamic(layer, (2, 8, 4, 6), tmp_path)


# ---------------------------------------------------------------------------------------
# the Conv + BatchNorm folding pass

def _conv_bn(bias=True, nd=2):
    conv = [nn.Conv1d, nn.Conv2d, nn.Conv3d][nd - 1]
    bn = [nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d][nd - 1]
    return _randomize_norm(nn.Sequential(conv(3, 6, 3, padding=1, bias=bias), bn(6),
                                         nn.ReLU()))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_batchnorm_folded(bias, nd, tmp_path):
    proto = check_dynamic(_conv_bn(bias, nd), (2, 3) + (5,) * nd, tmp_path)
    assert op_types(proto) == ["Conv", "Relu"]
    assert len(proto.graph.node[0].input) == 3          # a bias was created by the fold


def test_no_folding_without_constant_folding(tmp_path):
    proto = check_dynamic(_conv_bn(), (2, 3, 5, 5), tmp_path, do_constant_folding=False)
    assert "BatchNormalization" in op_types(proto)


def test_no_folding_when_conv_output_is_read_elsewhere(tmp_path):
    class Branch(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.bn = _randomize_norm(nn.BatchNorm2d(4))

        def forward(self, x):
            y = self.conv(x)
            return self.bn(y) + y

    proto = check_dynamic(Branch(), (2, 3, 5, 5), tmp_path)
    assert "BatchNormalization" in op_types(proto)


def test_no_folding_when_initializers_are_inputs(tmp_path):
    proto = check_dynamic(_conv_bn(), (2, 3, 5, 5), tmp_path,
                          keep_initializers_as_inputs=True)
    assert "BatchNormalization" in op_types(proto)


def test_fold_pass_on_graph():
    """The pass alone, on a hand-built graph: values equal before and after."""
    import onnx
    from onnx import helper, numpy_helper

    from ember.onnx import _passes
    from onnx_io.onnx_check import run_onnx
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    stats = [rng.standard_normal(4).astype(np.float32) for _ in range(3)] + \
        [rng.uniform(0.5, 2, 4).astype(np.float32)]
    inits = [numpy_helper.from_array(w, "w")] + [
        numpy_helper.from_array(a, n) for a, n in zip(stats, ["g", "b", "m", "v"])]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["y"],
                              epsilon=1e-3)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", 1, [1, 2, 5, 5])],
                              [helper.make_tensor_value_info("y", 1, [1, 2 * 2, 5, 5])],
                              initializer=inits)

    def model(g):
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
        onnx.checker.check_model(m, full_check=True)
        return m
    x = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    before = run_onnx(model(graph), x)[0]
    folded = onnx.GraphProto()
    folded.CopyFrom(graph)
    assert _passes.fold_conv_batchnorm(folded) == 1
    _passes.remove_dead(folded, set())
    assert [n.op_type for n in folded.node] == ["Conv"]
    assert {t.name for t in folded.initializer} == set(folded.node[0].input[1:])
    np.testing.assert_allclose(run_onnx(model(folded), x)[0], before, rtol=1e-5, atol=1e-5)
