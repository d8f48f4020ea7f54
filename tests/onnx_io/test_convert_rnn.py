"""ONNX export of the recurrent layers and cells (``ember/onnx/converters/rnn.py``).

Every exported model is run by onnxruntime and compared with ember's eval-mode outputs
(``check_export``), including the final states ``h_n``/``c_n``, at the traced sizes and at
another batch size and sequence length (traced at batch 2, run at batch 5)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from onnx_io.onnx_check import check_export, onnx, op_types, requires_onnx, run_onnx

pytestmark = requires_onnx

OPSETS = [13, None]          # the first supported opset and the default


def make_layer(kind, *args, **kwargs):
    if kind == "RNN_RELU":
        return nn.RNN(*args, nonlinearity="relu", **kwargs)
    return getattr(nn, kind)(*args, **kwargs)


ONNX_OP = {"LSTM": "LSTM", "GRU": "GRU", "RNN": "RNN", "RNN_RELU": "RNN"}


def seq(batch, steps, feat, batch_first):
    return ember.randn(batch, steps, feat) if batch_first else ember.randn(steps, batch, feat)


def dyn_input(name, batch_first):
    return {name: {0: "batch", 1: "seq"} if batch_first else {0: "seq", 1: "batch"}}


# ---------------------------------------------------------------------------------------
# layers: every kind, 1 and 2 layers, both directions, both layouts, dynamic batch and seq

@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN", "RNN_RELU"])
def test_layer(tmp_path, kind, num_layers, bidirectional, batch_first):
    ember.manual_seed(0)
    m = make_layer(kind, 5, 6, num_layers, bidirectional=bidirectional,
                   batch_first=batch_first)
    x = seq(2, 3, 5, batch_first)
    other = seq(5, 7, 5, batch_first)
    proto = check_export(m, x, tmp_path, other=other,
                         dynamic_axes=dyn_input("input", batch_first))
    ops = op_types(proto)
    dirs = 2 if bidirectional else 1
    assert ops.count(ONNX_OP[kind]) == num_layers * dirs
    # the zero initial state the module makes is left to ONNX's default (any batch size)
    rec = [n for n in proto.graph.node if n.op_type == ONNX_OP[kind]]
    assert all(len(n.input) <= 4 for n in rec)
    directions = sorted(a.s.decode() for n in rec for a in n.attribute if a.name == "direction")
    assert directions == sorted(["forward", "reverse"] * num_layers if bidirectional
                                else ["forward"] * num_layers)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN", "RNN_RELU"])
def test_layer_opset13(tmp_path, kind, bidirectional):
    ember.manual_seed(1)
    m = make_layer(kind, 4, 5, 2, bidirectional=bidirectional, batch_first=True)
    check_export(m, seq(2, 3, 4, True), tmp_path, other=seq(5, 6, 4, True),
                 dynamic_axes=dyn_input("input", True), opset=13)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_layer_without_bias(tmp_path, kind):
    ember.manual_seed(2)
    m = make_layer(kind, 4, 5, 2, bias=False, bidirectional=True)
    proto = check_export(m, seq(2, 3, 4, False), tmp_path, other=seq(5, 4, 4, False),
                         dynamic_axes=dyn_input("input", False))
    rec = [n for n in proto.graph.node if n.op_type == ONNX_OP[kind]]
    assert all(len(n.input) == 3 for n in rec)          # X, W, R: no B


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_unbatched_input(tmp_path, kind):
    ember.manual_seed(3)
    m = make_layer(kind, 4, 5, bidirectional=True)
    check_export(m, ember.randn(3, 4), tmp_path, other=ember.randn(6, 4),
                 dynamic_axes={"input": {0: "seq"}})


# ---------------------------------------------------------------------------------------
# initial states given as inputs

class WithState(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x, h0):
        return self.rnn(x, h0)


class LSTMWithState(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x, h0, c0):
        return self.rnn(x, (h0, c0))


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_initial_state_inputs(tmp_path, kind, batch_first, opset):
    ember.manual_seed(4)
    rnn = make_layer(kind, 5, 6, 2, bidirectional=True, batch_first=batch_first)
    n = 2 * 2

    def args(batch, steps):
        states = (ember.randn(n, batch, 6),) * (2 if kind == "LSTM" else 1)
        states = tuple(ember.randn(n, batch, 6) for _ in states)
        return (seq(batch, steps, 5, batch_first),) + states

    model = LSTMWithState(rnn) if kind == "LSTM" else WithState(rnn)
    dyn = dyn_input("x", batch_first)
    dyn.update({s: {1: "batch"} for s in ("h0", "c0")[:2 if kind == "LSTM" else 1]})
    proto = check_export(model, args(2, 3), tmp_path, other=args(5, 6), dynamic_axes=dyn,
                         opset=opset)
    rec = [n for n in proto.graph.node if n.op_type == ONNX_OP[kind]]
    assert len(rec) == 4 and all(n.input[5] for n in rec)      # initial_h is used


def test_nonzero_constant_state(tmp_path):
    """A state the model makes itself (not zeros) is a constant initial_h."""
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 5, batch_first=True)

        def forward(self, x):
            h0 = ember.full((1, 2, 5), 0.5)
            return self.gru(x, h0)[0]

    ember.manual_seed(5)
    check_export(M(), ember.randn(2, 3, 4), tmp_path, other=ember.randn(2, 7, 4),
                 dynamic_axes={"x": {1: "seq"}})


def test_state_of_dynamic_batch_from_model(tmp_path):
    """ember.ones(..., x.size(0), ...) as the state: built with the run-time batch size."""
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 5, batch_first=True)

        def forward(self, x):
            h0 = ember.ones(1, x.size(0), 5) * 0.25
            return self.lstm(x, (h0, ember.zeros(1, x.size(0), 5)))

    ember.manual_seed(6)
    check_export(M(), ember.randn(2, 3, 4), tmp_path, other=ember.randn(5, 6, 4),
                 dynamic_axes={"x": {0: "batch", 1: "seq"}})


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_float64_layer_runs_in_float32(tmp_path, kind):
    """onnxruntime has these operators in float32 only: a float64 layer is exported to
    compute in float32 between Casts (with a warning), and keeps float64 outputs."""
    ember.manual_seed(12)
    m = make_layer(kind, 4, 5, 2, bidirectional=True, dtype=ember.float64)
    x = ember.randn(3, 2, 4, dtype=ember.float64)
    with pytest.warns(UserWarning, match="float32"):
        proto = check_export(m, x, tmp_path, other=ember.randn(5, 4, 4, dtype=ember.float64),
                             dynamic_axes=dyn_input("input", False))
    assert "Cast" in op_types(proto)


# ---------------------------------------------------------------------------------------
# weights as graph inputs: re-ordered in the graph

@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_weights_as_inputs(tmp_path, kind):
    ember.manual_seed(7)
    m = make_layer(kind, 4, 5, 1, bidirectional=True).eval()
    x = ember.randn(3, 2, 4)
    path = tmp_path / "m.onnx"
    ember.onnx.export(m, x, str(path), export_params=False)
    proto = onnx.load(str(path))
    names = [i.name for i in proto.graph.input]
    state = m.state_dict()
    assert set(names[1:]) == set(state)
    got = run_onnx(path, x, *[state[n] for n in names[1:]])
    with ember.no_grad():
        out, h = m(x)
    h = h[0] if kind == "LSTM" else h
    np.testing.assert_allclose(got[0], out.numpy(), atol=1e-5)
    np.testing.assert_allclose(got[1], h.numpy(), atol=1e-5)


# ---------------------------------------------------------------------------------------
# classifiers

class RowClassifier(nn.Module):
    """A bidirectional 2-layer LSTM reading MNIST-like 28x28 images row by row."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 16, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(32, 10)

    def forward(self, images):
        x = images.squeeze(1)                        # N x 28 rows x 28 pixels
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


class GRUClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 12, num_layers=2)
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        _, h_n = self.gru(x)
        return ember.log_softmax(self.fc(h_n[-1]), -1)


@pytest.mark.parametrize("opset", OPSETS)
def test_mnist_row_lstm(tmp_path, opset):
    ember.manual_seed(8)
    model = RowClassifier()
    proto = check_export(model, ember.randn(2, 1, 28, 28), tmp_path,
                         other=ember.randn(5, 1, 28, 28),
                         dynamic_axes={"images": {0: "batch"}, "output": {0: "batch"}},
                         output_names=["output"], opset=opset)
    assert op_types(proto).count("LSTM") == 4
    out = proto.graph.output[0].type.tensor_type.shape.dim
    assert out[0].dim_param == "batch" and out[1].dim_value == 10


def test_gru_classifier(tmp_path):
    ember.manual_seed(9)
    check_export(GRUClassifier(), ember.randn(4, 2, 8), tmp_path, other=ember.randn(9, 5, 8),
                 dynamic_axes={"x": {0: "seq", 1: "batch"}})


# ---------------------------------------------------------------------------------------
# cells

class CellLoop(nn.Module):
    """A cell unrolled over a fixed number of steps, states from zeros or given."""

    def __init__(self, cell, given):
        super().__init__()
        self.cell = cell
        self.given = given

    def forward(self, x, h):
        lstm = isinstance(self.cell, nn.LSTMCell)
        state = ((h, h * 0.5) if lstm else h) if self.given else None
        outs = []
        for t in range(x.size(0)):
            state = self.cell(x[t], state)
            outs.append(state[0] if lstm else state)
        return ember.stack(outs), state


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("given", [False, True])
@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell", "RNNCell", "RNNCell_relu"])
def test_cells(tmp_path, kind, given, opset):
    ember.manual_seed(10)
    cell = nn.RNNCell(4, 6, nonlinearity="relu") if kind == "RNNCell_relu" else \
        getattr(nn, kind)(4, 6)
    model = CellLoop(cell, given)
    check_export(model, (ember.randn(3, 2, 4), ember.randn(2, 6)), tmp_path,
                 other=(ember.randn(3, 5, 4), ember.randn(5, 6)),
                 dynamic_axes={"x": {1: "batch"}, "h": {0: "batch"}}, opset=opset)


def test_cell_without_bias(tmp_path):
    ember.manual_seed(11)
    model = CellLoop(nn.GRUCell(4, 6, bias=False), True)
    check_export(model, (ember.randn(2, 3, 4), ember.randn(3, 6)), tmp_path)


# ---------------------------------------------------------------------------------------
# refusals

def test_projection_is_refused(tmp_path):
    m = nn.LSTM(4, 6, proj_size=3).eval()
    with pytest.raises(ember.onnx.OnnxExporterError, match="proj_size"):
        ember.onnx.export(m, ember.randn(3, 2, 4), str(tmp_path / "m.onnx"))
    assert not (tmp_path / "m.onnx").exists()


def test_packed_sequence_of_unequal_lengths_is_refused(tmp_path):
    from ember.nn.utils.rnn import PackedSequence

    class Packed(nn.Module):
        """Runs the LSTM on packed rows (two sequences, of lengths 3 and 2)."""

        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 5)

        def forward(self, rows):
            packed = PackedSequence(rows, ember.tensor([2, 2, 1]))
            return self.lstm(packed)[1][0]

    with pytest.raises(ember.onnx.OnnxExporterError, match="PackedSequence of unequal"):
        ember.onnx.export(Packed().eval(), ember.randn(5, 4), str(tmp_path / "m.onnx"))
    assert not (tmp_path / "m.onnx").exists()
