"""ONNX export of indexing (ember/onnx/converters/indexing.py): ``x[index]`` in its basic and
advanced forms, gather/scatter/index_*/masked_*/take/put, compared with onnxruntime on
float32 and int64 data at opset 13 and the default opset, plus dynamic batch sizes (traced at
2, run at 5), ``x[i]`` with index tensors that are model inputs or computed from them (run with
other index values and sizes), and the refusals (boolean masks computed from the inputs, writes
at a traced index)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from onnx_io.onnx_check import Fn, OPSETS, check_export, make, op_types, requires_onnx

pytestmark = requires_onnx


T = ember.tensor
MASK_2D = T([[True, False, True], [False, True, True]])
MASK_3D = T(np.arange(24).reshape(2, 3, 4) % 3 == 0)
IDX_GATHER = T([[[0, 1, 2, 0]], [[2, 2, 1, 0]]])           # (2, 1, 4) into (2, 3, 4) along 1

# x[index] on a (2, 3, 4) input
GETITEM = {
    "int": lambda x: x[1],
    "neg_int": lambda x: x[-1],
    "select_neg": lambda x: x.select(0, -1),
    "narrow_neg": lambda x: x.narrow(0, -2, 2),
    "narrow_neg_to_end": lambda x: x.narrow(0, -1, 1),
    "two_ints": lambda x: x[0, -2],
    "all_ints": lambda x: x[1, 2, 3],
    "slice": lambda x: x[:, 1:3],
    "slice_neg": lambda x: x[:, -3:-1],
    "slice_past_end": lambda x: x[:, 1:100],
    "slice_empty": lambda x: x[:, 2:1],
    "step": lambda x: x[..., ::2],
    "step_start": lambda x: x[:, 1::2, 1:4:2],
    "none": lambda x: x[None],
    "none_mid": lambda x: x[:, None, 1],
    "ellipsis": lambda x: x[..., 1],
    "ellipsis_only": lambda x: x[...],
    "full_slice": lambda x: x[:],
    "mixed": lambda x: x[1:, None, ..., -2],
    "list": lambda x: x[[1, 0, 1]],
    "tensor": lambda x: x[T([1, 0])],
    "neg_index": lambda x: x[:, [-1, 0]],
    "index_2d": lambda x: x[:, T([[0, 1], [2, 0]])],
    "last_dim": lambda x: x[..., [3, 0, 3]],
    "two_adjacent_front": lambda x: x[[0, 1], [1, 2]],
    "two_adjacent": lambda x: x[:, [0, 1], [1, 2]],
    "two_nonadjacent": lambda x: x[[0, 1], :, [1, 2]],
    "broadcast": lambda x: x[T([[0], [1]]), T([0, 2, 1])],
    "three": lambda x: x[[1, 0], [2, 2], [3, 0]],
    "int_and_list": lambda x: x[1, :, [0, 2]],
    "list_and_slice": lambda x: x[[1, 0], 1:],
    "none_and_list": lambda x: x[None, [0, 1]],
    "none_between": lambda x: x[:, [0, 1], None, [1, 2]],
    "zero_d_tensor": lambda x: x[T(1)],
    "mask_full": lambda x: x[MASK_3D],
    "mask_lead": lambda x: x[MASK_2D],
    "mask_dim": lambda x: x[:, T([True, False, True])],
    "mask_last": lambda x: x[..., T([False, True, True, False])],
    "true": lambda x: x[True],
    "narrow": lambda x: x.narrow(2, 1, 2),
    "select": lambda x: x.select(1, 2),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("dtype", ["float32", "int64"])
@pytest.mark.parametrize("name", sorted(GETITEM))
def test_getitem(name, dtype, opset, tmp_path):
    check_export(Fn(GETITEM[name]), make((2, 3, 4), dtype), tmp_path, opset=opset)


# the ops of ember/ops/indexing.py on a (2, 3, 4) input; the third item: the first opset
OPS = {
    "index_select": (lambda x: x.index_select(2, T([3, 0, 3])), 13),
    "index_select_0d": (lambda x: x[0, 0, 0].index_select(0, T([0])), 13),
    "gather": (lambda x: x.gather(1, IDX_GATHER), 13),
    "gather_last": (lambda x: ember.gather(x, -1, T([[[3, 0], [1, 1], [0, 2]]] * 2)), 13),
    "take_along_dim": (lambda x: ember.take_along_dim(x, T([[[0], [2], [1]]]), 2), 13),
    "take_along_flat": (lambda x: ember.take_along_dim(x, T([5, 0, 23])), 13),
    "take": (lambda x: x.take(T([[0, 5], [-1, 7]])), 13),
    "scatter": (lambda x: x.scatter(1, IDX_GATHER, x[:, :1] * 2), 13),
    "scatter_value": (lambda x: x.scatter(2, T([[[1], [0], [3]]] * 2), 7), 13),
    "scatter_add_reduce": (lambda x: x.scatter(1, IDX_GATHER, 3, reduce="add"), 16),
    "scatter_mul_reduce": (lambda x: x.scatter(1, IDX_GATHER, x[:, :1], reduce="multiply"),
                           16),
    "scatter_add": (lambda x: x.scatter_add(2, T([[[0, 0], [1, 1], [3, 3]]] * 2), x[..., :2]),
                    16),
    "scatter_add_unique": (lambda x: x.scatter_add(1, IDX_GATHER, x[:, :1]), 13),
    "scatter_reduce_sum": (lambda x: x.scatter_reduce(1, IDX_GATHER, x[:, :1], "sum"), 16),
    "scatter_reduce_amax": (lambda x: x.scatter_reduce(1, IDX_GATHER, x[:, 1:2], "amax"), 18),
    "scatter_reduce_amin": (lambda x: x.scatter_reduce(1, IDX_GATHER, x[:, 1:2], "amin"), 18),
    "masked_fill": (lambda x: x.masked_fill(T([True, False, True, False]), -1), 13),
    "masked_fill_full": (lambda x: x.masked_fill(MASK_3D, 5), 13),
    "masked_fill_tensor": (lambda x: x.masked_fill(MASK_2D[..., None], x[0, 0, 0]), 13),
    "masked_fill_uniform": (lambda x: x.masked_fill(T([[True], [True]]).expand(2, 3)[..., None],
                                                    2), 13),
    "masked_fill_0d": (lambda x: x[0, 0, 0].masked_fill(T(True), 3), 13),
    "index_fill": (lambda x: x.index_fill(1, T([0, 2]), 4), 13),
    "index_copy": (lambda x: x.index_copy(1, T([2, 0]), x[:, :2].flip(1)), 13),
    "index_add": (lambda x: x.index_add(2, T([0, 0, 3]), x[..., :3]), 16),
    "index_add_unique": (lambda x: x.index_add(2, T([1, 3]), x[..., :2]), 13),
    "index_put": (lambda x: x.index_put((T([0, 1]), T([2, 0])), x[0, 0, 0]), 13),
    "index_put_tensor": (lambda x: x.index_put((T([1, 0]),), x[:1]), 13),
    "index_put_acc": (lambda x: x.index_put((T([0, 0]), T([1, 1])), x[1, :2], True), 16),
    "put": (lambda x: x.put(T([0, 7, 23]), x[0, 0, :3]), 13),
    "put_acc": (lambda x: x.put(T([7, 7]), x[1, 1, :2], accumulate=True), 16),
    "masked_select": (lambda x: x.masked_select(MASK_2D[..., None]), 13),
    "masked_scatter": (lambda x: x.masked_scatter(MASK_3D, x.flip(0) * 3), 13),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("dtype", ["float32", "int64"])
@pytest.mark.parametrize("name", sorted(OPS))
def test_indexing_op(name, dtype, opset, tmp_path):
    fn, first = OPS[name]
    check_export(Fn(fn), make((2, 3, 4), dtype), tmp_path, opset=max(first, opset or first))


@pytest.mark.parametrize("name,first", [(n, f) for n, (_, f) in sorted(OPS.items()) if f > 13])
def test_reductions_below_their_opset_are_refused(name, first, tmp_path):
    with pytest.raises(ember.onnx.OnnxExporterError, match=f"opset_version >= {first}"):
        ember.onnx.export(Fn(OPS[name][0]), ember.randn(2, 3, 4), str(tmp_path / "m.onnx"),
                          opset_version=first - 1)


def test_op_forms(tmp_path):
    """The ONNX ops each indexing form becomes (the mapping in the converter's docstring)."""
    def ops(fn):
        return op_types(check_export(Fn(fn), ember.randn(2, 3, 4), tmp_path))
    assert ops(lambda x: x[1:, None, ..., -2]) == ["Slice", "Squeeze", "Unsqueeze"]
    assert ops(lambda x: x[:, [2, 0]]) == ["Gather"]
    assert ops(lambda x: x[[0, 1], [1, 2]]) == ["GatherND"]
    assert ops(lambda x: x.gather(1, IDX_GATHER)) == ["GatherElements"]
    assert ops(lambda x: x.index_select(0, T([1]))) == ["Gather"]
    assert ops(lambda x: x.scatter(1, IDX_GATHER, 1.0)) == ["ScatterElements"]
    assert ops(lambda x: x.masked_fill(T([True, False, True, False]), 0)) == ["Where"]


def test_bool_data(tmp_path):
    """Indexing and masked_fill of bool tensors (onnxruntime's Where takes no bool data)."""
    def fn(m):
        return m[:, [2, 0]].masked_fill(T([True, False]), True)
    for opset in OPSETS:
        check_export(Fn(fn), ember.from_numpy(np.arange(12).reshape(3, 4) % 3 == 0), tmp_path,
                     opset=opset)


# -- dynamic axes: traced at batch 2, run at batch 5 ------------------------------------------

DYNAMIC = {
    "slice": lambda x: x[:, 1:3],
    "slice_batch": lambda x: x[1:],
    "slice_end": lambda x: x[:-1, ..., None],
    "slice_size_minus_one": lambda x: x[: x.size(0) - 1],
    "slice_both_ends": lambda x: x[1: x.size(0) - 1 + 1],
    "slice_step": lambda x: x[::2],
    "int": lambda x: x[..., 0],
    "neg_int": lambda x: x[-1],
    "select_neg": lambda x: x.select(0, -1),
    "narrow_neg": lambda x: x.narrow(0, -2, 2),
    "narrow_neg_to_end": lambda x: x.narrow(0, -1, 1),
    "list": lambda x: x[:, [0, 2]],
    "two_lists": lambda x: x[:, [0, 1], [1, 2]],
    "mask_dim": lambda x: x[:, T([True, False, True])],
    "index_select": lambda x: x.index_select(1, T([2, 2, 0])),
    "masked_fill": lambda x: x.masked_fill(T([True, False, True, False]), 0),
    "gather_small_index": lambda x: x.gather(2, T([[[1], [0], [3]]])),
    "index_copy": lambda x: x.index_copy(1, T([2, 0]), x[:, :2].flip(1)),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", sorted(DYNAMIC))
def test_dynamic_batch(name, opset, tmp_path):
    check_export(Fn(DYNAMIC[name]), ember.randn(2, 3, 4), tmp_path, opset=opset,
                 other=ember.randn(5, 3, 4), input_names=["x"], dynamic_axes={"x": {0: "b"}})


# -- refusals ---------------------------------------------------------------------------------

def _export(fn, x, tmp_path, dynamic=True):
    ember.onnx.export(Fn(fn), x, str(tmp_path / "m.onnx"), input_names=["x"],
                      dynamic_axes={"x": {0: "b"}} if dynamic else None)


def test_slice_bound_computed_from_a_dynamic_size_is_refused(tmp_path):
    with pytest.raises(ember.onnx.OnnxExporterError, match=r"GetItem at(.|\n)*bounds"):
        _export(lambda x: x[: (x.size(0) - 3) * 2], ember.randn(4, 3), tmp_path)
    assert not (tmp_path / "m.onnx").exists()


MASK_X = np.array([[1.0, -0.1, 3.0], [-4.0, 5.0, -0.1]], dtype=np.float32)


@pytest.mark.parametrize("fn", [lambda x: x[x.gt(0)], lambda x: x[:, x[0].gt(0)],
                                lambda x: x[x.gt(0).to(ember.uint8)]],
                         ids=["mask", "mask_dim", "uint8_mask"])
def test_data_dependent_mask_is_refused(fn, tmp_path):
    """x[x > 0] has a size that depends on the data: the export refuses it, naming the
    line (a boolean mask computed from the inputs used as an index)."""
    with pytest.raises(ember.onnx.TracingError,
                       match=r"boolean mask(.|\n)*test_convert_indexing.py:\d+: .*x\.gt"):
        _export(fn, ember.from_numpy(MASK_X), tmp_path, dynamic=False)
    assert not (tmp_path / "m.onnx").exists()


def test_data_dependent_mask_with_frozen_control_flow_is_refused(tmp_path):
    """freeze_control_flow=True lets the mask through the tracer; the converter still
    refuses it (the output's size would be frozen)."""
    with pytest.raises(ember.onnx.OnnxExporterError, match=r"GetItem at(.|\n)*boolean mask"):
        ember.onnx.export(Fn(lambda x: x[x.gt(0)]), ember.from_numpy(MASK_X),
                          str(tmp_path / "m.onnx"), freeze_control_flow=True)
    assert not (tmp_path / "m.onnx").exists()


def test_index_from_input_sizes_is_refused(tmp_path):
    with pytest.raises(ember.onnx.OnnxExporterError, match="GetItem at"):
        _export(lambda x: x[ember.arange(x.size(0) - 1)], ember.randn(3, 2), tmp_path)


def test_scatter_reduce_mean_is_refused(tmp_path):
    with pytest.raises(ember.onnx.OnnxExporterError, match="ScatterReduce at"):
        _export(lambda x: x.scatter_reduce(1, IDX_GATHER, x[:, :1], "mean"),
                ember.randn(2, 3, 4), tmp_path, dynamic=False)


def test_dynamic_slice_next_to_an_index_array(tmp_path):
    """A slice bound computed from the dynamic size is recognised in the advanced form too:
    x[:n-1, [0, 2]] is written x[:-1, [0, 2]]."""
    check_export(Fn(lambda x: x[: x.size(0) - 1, [0, 2]]), ember.randn(3, 3, 4), tmp_path,
                 other=ember.randn(6, 3, 4), input_names=["x"], dynamic_axes={"x": {0: "b"}})
    check_export(Fn(lambda x: x[[1, 0], 1: x.size(1) - 1]), ember.randn(3, 4, 2), tmp_path,
                 other=ember.randn(3, 7, 2), input_names=["x"], dynamic_axes={"x": {1: "n"}})


class Lookup(nn.Module):
    """Reads a table (a buffer) at indices given as a model input."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.register_buffer("table", ember.arange(24.0).reshape(4, 6))

    def forward(self, x, i):
        return self.fn(self.table, x, i)


TRACED_INDEX = {
    "index_select": (lambda t, x, i: t.index_select(0, i)[:2] + x, (3,)),
    "index_select_x": (lambda t, x, i: x.index_select(1, i), (3,)),
    "gather": (lambda t, x, i: x.gather(1, i), (2, 3)),
    "take": (lambda t, x, i: t.take(i) * x[0, 0], (2, 3)),
    "scatter": (lambda t, x, i: x.scatter(1, i, 5.0), (2, 3)),
    "scatter_src": (lambda t, x, i: x.scatter(1, i, x[:, :3] * 2), (2, 3)),
    "masked_fill": (lambda t, x, i: x.masked_fill(i.eq(0)[:, :1], -1.0), (2, 3)),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", sorted(TRACED_INDEX))
def test_index_given_as_input(name, opset, tmp_path):
    """Indices the model receives as an input stay graph inputs (not frozen constants)."""
    fn, shape = TRACED_INDEX[name]
    rng = np.random.default_rng(0)

    def index():
        return ember.from_numpy(rng.integers(0, 4, shape).astype(np.int64))
    x = ember.randn(2, 6)
    proto = check_export(Lookup(fn), (x, index()), tmp_path, opset=opset,
                         other=(ember.randn(2, 6), index()))
    used = {i for n in proto.graph.node for i in n.input}
    assert "i" in used


# -- x[i] with index tensors the model receives or computes --------------------------------------

def _ints(rng, high, shape, dtype=np.int64, low=None):
    low = -high if low is None else low
    return ember.from_numpy(rng.integers(low, high, shape).astype(dtype))


# name: (fn(x, *indices), x shape, [(index bound, index shape, dtype)])
TRACED_GETITEM = {
    "x[i]": (lambda x, i: x[i], (4, 3), [(4, (5,), np.int64)]),
    "x[:, i]": (lambda x, i: x[:, i], (2, 5, 3), [(5, (4,), np.int64)]),
    "x[..., i]": (lambda x, i: x[..., i], (2, 3, 4), [(4, (3,), np.int64)]),
    "x[i, j]": (lambda x, i, j: x[i, j], (4, 5, 2), [(4, (3,), np.int64), (5, (3,), np.int64)]),
    "x[:, i, j]": (lambda x, i, j: x[:, i, j], (2, 4, 5),
                   [(4, (3,), np.int64), (5, (3,), np.int64)]),
    "x[i, :, j]": (lambda x, i, j: x[i, :, j], (4, 2, 5),
                   [(4, (3,), np.int64), (5, (3,), np.int64)]),
    "x[i_2d]": (lambda x, i: x[i], (4, 3), [(4, (2, 3), np.int64)]),
    "x[i32]": (lambda x, i: x[:, i], (2, 4), [(4, (3,), np.int32)]),
    "x[i, j] broadcast": (lambda x, i, j: x[i[:, None], j], (4, 5),
                          [(4, (3,), np.int64), (5, (2,), np.int64)]),
    "x[i, list]": (lambda x, i: x[i, [0, 2, 1]], (4, 3), [(4, (3,), np.int64)]),
    "x[1, :, i]": (lambda x, i: x[1, :, i], (3, 2, 4), [(4, (3,), np.int64)]),
    "x[i0]": (lambda x, i: x[i], (4, 3), [(4, (), np.int64)]),
    "x[i0, :, j]": (lambda x, i, j: x[i, :, j], (3, 2, 4), [(3, (), np.int64),
                                                             (4, (2,), np.int64)]),
    "x[i, None]": (lambda x, i: x[i, None, 1:], (4, 3), [(4, (2,), np.int64)]),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", sorted(TRACED_GETITEM))
def test_getitem_index_given_as_input(name, opset, tmp_path):
    """x[i] with index tensors that are model inputs: the index stays a graph input, and
    onnxruntime agrees with ember for other index values (negative ones included)."""
    fn, shape, specs = TRACED_GETITEM[name]
    rng = np.random.default_rng(1)

    def inputs():
        return (ember.randn(*shape),) + tuple(_ints(rng, n, s, dt) for n, s, dt in specs)
    proto = check_export(Fn(fn), inputs(), tmp_path, opset=opset, other=inputs(),
                         input_names=["x"] + [f"i{k}" for k in range(len(specs))])
    used = {i for n in proto.graph.node for i in n.input}
    assert {f"i{k}" for k in range(len(specs))} <= used


# name: (fn, (x shape, other x shape), x dynamic axes,
#        [(index bound, index shape, other index shape, index dynamic axes)])
DYNAMIC_INDEX = {
    "x[i] batch of indices": (lambda x, i: x[i], ((4, 3), (4, 3)), {},
                              [(4, (2,), (5,), {0: "n"})]),
    "x[:, i] dynamic x": (lambda x, i: x[:, i], ((2, 4, 3), (5, 4, 3)), {0: "b"},
                          [(4, (3,), (3,), {})]),
    "x[:, i] both": (lambda x, i: x[:, i], ((2, 4), (5, 4)), {0: "b"},
                     [(4, (3,), (6,), {0: "n"})]),
    "x[i, j]": (lambda x, i, j: x[i, j], ((3, 4, 2), (3, 4, 5)), {2: "c"},
                [(3, (2,), (6,), {0: "n"}), (4, (2,), (6,), {0: "n"})]),
    "x[i, j] broadcast": (lambda x, i, j: x[i[:, None], j], ((3, 4), (3, 4)), {},
                          [(3, (2,), (4,), {0: "n"}), (4, (3,), (5,), {0: "m"})]),
    "x[:, i, j] dynamic batch": (lambda x, i, j: x[:, i, j], ((2, 3, 4), (6, 3, 4)), {0: "b"},
                                 [(3, (2,), (2,), {}), (4, (2,), (2,), {})]),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", sorted(DYNAMIC_INDEX))
def test_getitem_index_given_as_input_dynamic(name, opset, tmp_path):
    """Index tensors and indexed tensors with dynamic axes: traced at one size, run at
    another (the number of indices, the batch, or both)."""
    fn, x_shapes, x_axes, specs = DYNAMIC_INDEX[name]
    rng = np.random.default_rng(2)
    names = ["x"] + [f"i{k}" for k in range(len(specs))]

    def inputs(which):
        return (ember.randn(*x_shapes[which]),) + tuple(
            _ints(rng, bound, shapes[which]) for bound, *shapes, _ in specs)
    axes = {n: a for n, a in zip(names, [x_axes] + [spec[-1] for spec in specs]) if a}
    check_export(Fn(fn), inputs(0), tmp_path, opset=opset, other=inputs(1),
                 input_names=names, dynamic_axes=axes)


COMPUTED_INDEX = {
    "argmax": lambda x: x[:, x[0].argmax()],
    "argmax_rows": lambda x: x[ember.tensor([0, 1, 2]), x.argmax(1)],
    "argsort": lambda x: x[x[:, 0].argsort()],
    "topk": lambda x: x[:, x.sum(0).topk(2).indices] * 2,
    "remainder": lambda x: x[:, (x[0] * 10).long().remainder(4)],
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", sorted(COMPUTED_INDEX))
def test_getitem_index_computed_from_input(name, opset, tmp_path):
    """An index the model computes from its input is part of the graph: other input values
    give other rows."""
    x = ember.randn(3, 4)
    proto = check_export(Fn(COMPUTED_INDEX[name]), x, tmp_path, opset=opset,
                         other=ember.randn(3, 4))
    assert {"Gather", "GatherND"} & set(op_types(proto))


def test_getitem_index_tensor_forms(tmp_path):
    """x[i] is a Gather and x[i, j] a GatherND on the index inputs; a constant index tensor
    is an initializer, as a list is."""
    x, i, j = ember.randn(4, 5), ember.tensor([3, 0, -1]), ember.tensor([1, 1, 4])
    proto = check_export(Fn(lambda x, i: x[i]), (x, i), tmp_path, input_names=["x", "i"])
    assert op_types(proto) == ["Gather"] and proto.graph.node[0].input[1] == "i"
    proto = check_export(Fn(lambda x, i, j: x[i, j]), (x, i, j), tmp_path)
    assert op_types(proto) == ["Unsqueeze", "Unsqueeze", "Concat", "GatherND"]
    proto = check_export(Fn(lambda x: x[:, T([1, 0])]), x, tmp_path)
    assert op_types(proto) == ["Gather"] and len(proto.graph.input) == 1


def test_getitem_table_lookup(tmp_path):
    """A buffer indexed by a model input (an embedding-like lookup): the index is an input,
    the table an initializer."""
    rng = np.random.default_rng(3)
    proto = check_export(Lookup(lambda t, x, i: t[i] + x[0, :6]), (ember.randn(2, 6),
                         _ints(rng, 4, (3,), low=0)), tmp_path,
                         other=(ember.randn(2, 6), _ints(rng, 4, (3,), low=0)))
    assert "table" in {t.name for t in proto.graph.initializer}


def test_getitem_index_tensor_errors_are_unchanged():
    """The index tensor input does not change ember's own errors and their messages."""
    x = ember.randn(4, 3)
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 0 with size 4"):
        x[ember.tensor([0, 7])]
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or "
                                         "bool tensors"):
        x[ember.tensor([0.0])]


def test_setitem_at_an_index_from_the_inputs_is_refused(tmp_path):
    """A partial write at a traced index still reads the index in NumPy: refused, naming the
    line."""
    def fn(t, x, i):
        y = t.clone()
        y[i] = 0.0
        return y
    with pytest.raises(ember.onnx.TracingError, match=r"__setitem__(.|\n)*y\[i\] = 0"):
        ember.onnx.export(Lookup(fn), (ember.randn(4, 3), ember.tensor([0, 2])),
                          str(tmp_path / "m.onnx"))
    assert not (tmp_path / "m.onnx").exists()
