"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` (multi-layer, bidirectional, packed
sequences) and the single-step cells ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Parameter names, shapes, order and initialisation are PyTorch's, so state dicts are
interchangeable. The layers run each layer and direction as one fused primitive
(``ember.ops.rnn.RNNLayerOp``: the input projection of all time steps is one GEMM, the
recurrence and backpropagation through time are NumPy loops over time); the cells use
single-step primitives whose backward is written in ember operations. Both support double
backward.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ...ops import rnn as _ops
from ...ops.creation import empty, zeros
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


def _apply_permutation(tensor, permutation, dim=1):
    return tensor.index_select(dim, permutation)


class RNNBase(Module):
    """The shared machinery of ``RNN``, ``LSTM`` and ``GRU``: argument checks, the
    parameters (``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``,
    ``weight_hr_l{k}`` with projections, and ``..._reverse`` for the second direction, in
    PyTorch's order) and the forward pass.

    Args:
        mode (str): ``'LSTM'``, ``'GRU'``, ``'RNN_TANH'`` or ``'RNN_RELU'``.
        input_size, hidden_size (int): features of the input and of the hidden state.
        num_layers (int): stacked recurrent layers. Default: 1.
        bias (bool): use ``b_ih`` and ``b_hh``. Default: True.
        batch_first (bool): input and output are ``(N, L, H)`` instead of ``(L, N, H)``
            (not the states). Default: False.
        dropout (float): dropout on the outputs of every layer but the last, in training.
        bidirectional (bool): run a second, reversed direction. Default: False.
        proj_size (int): LSTM only: project the hidden state to this size. Default: 0.
    """

    __constants__ = ["mode", "input_size", "hidden_size", "num_layers", "bias",
                     "batch_first", "dropout", "bidirectional", "proj_size"]

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1

        if (not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1
                or isinstance(dropout, bool)):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: "
                            f"{type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: "
                            f"{type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: "
                            f"{type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")

        gate_size = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}.get(mode)
        if gate_size is None:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size *= hidden_size
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        kw = dict(device=device, dtype=dtype)

        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input_size = input_size if layer == 0 else \
                    real_hidden_size * num_directions
                suffix = "_reverse" if direction == 1 else ""
                params = [(f"weight_ih_l{layer}{suffix}", (gate_size, layer_input_size)),
                          (f"weight_hh_l{layer}{suffix}", (gate_size, real_hidden_size))]
                if bias:
                    params += [(f"bias_ih_l{layer}{suffix}", (gate_size,)),
                               (f"bias_hh_l{layer}{suffix}", (gate_size,))]
                if proj_size > 0:
                    params.append((f"weight_hr_l{layer}{suffix}", (proj_size, hidden_size)))
                for name, shape in params:
                    setattr(self, name, Parameter(empty(shape, **kw)))
                names = [n for n, _ in params]
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) if hasattr(self, n) else None
                for n in self._flat_weights_names]

    def flatten_parameters(self) -> None:
        """A no-op (PyTorch compacts the weights for cuDNN here; ember has no cuDNN)."""

    def reset_parameters(self) -> None:
        """Draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def all_weights(self) -> list:
        """The parameters per layer and direction: ``[[w_ih, w_hh, b_ih, b_hh], ...]``."""
        return [[getattr(self, w) for w in ws] for ws in self._all_weights]

    # -- checks (PyTorch's names and messages) --------------------------------------------
    def check_input(self, input, batch_sizes) -> None:
        wdt = self._flat_weights[0].dtype
        if input.dtype != wdt:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({wdt}). Convert input: input.to({wdt}), or convert model: "
                             f"model.to({input.dtype})")
        expected_input_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_input_dim:
            raise RuntimeError(f"input must have {expected_input_dim} dimensions, got "
                               f"{input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def get_expected_hidden_size(self, input, batch_sizes) -> tuple:
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, size)

    def check_hidden_size(self, hx, expected_hidden_size,
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.size()) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(tuple(expected_hidden_size), list(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        expected_hidden_size = self.get_expected_hidden_size(input, batch_sizes)
        self.check_hidden_size(hidden, expected_hidden_size)

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return _apply_permutation(hx, permutation)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # -- forward --------------------------------------------------------------------------
    def _weights(self):
        """Per layer and direction: ``(w_ih, w_hh, b_ih, b_hh, w_hr)``, None where absent."""
        out = []
        for names in self._all_weights:
            ps = {n.split("_l")[0]: getattr(self, n) for n in names}
            out.append((ps["weight_ih"], ps["weight_hh"], ps.get("bias_ih"),
                        ps.get("bias_hh"), ps.get("weight_hr")))
        return out

    def _zeros_state(self, input, batch, size):
        n = self.num_layers * (2 if self.bidirectional else 1)
        return zeros((n, batch, size), dtype=input.dtype, device=input.device)

    def _forward(self, input, hx):
        lstm = self.mode == "LSTM"
        kind = {"LSTM": "LSTM", "GRU": "GRU"}.get(self.mode, "RNN")
        out_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        orig_input = input
        if isinstance(orig_input, PackedSequence):
            input, batch_sizes, sorted_indices, unsorted_indices = input
            bs = [int(b) for b in np.asarray(batch_sizes._data)]
            max_batch = bs[0] if bs else 0
            if hx is None:
                hx = self._zeros_state(input, max_batch, out_size)
                if lstm:
                    hx = (hx, self._zeros_state(input, max_batch, self.hidden_size))
            else:
                hx = self.permute_hidden(hx, sorted_indices)
            is_batched = True
        else:
            batch_sizes = sorted_indices = unsorted_indices = None
            if input.dim() not in (2, 3):
                tail = " tensor" if kind == "RNN" else ""
                raise ValueError(f"{kind}: Expected input to be 2D or 3D, got {input.dim()}D"
                                 f"{tail} instead")
            is_batched = input.dim() == 3
            batch_dim = 0 if self.batch_first else 1
            if not is_batched:
                input = input.unsqueeze(batch_dim)
            if hx is not None:
                hx = self._check_state_dims(hx, is_batched, lstm)
            max_batch = input.size(0) if self.batch_first else input.size(1)
            if hx is None:
                hx = self._zeros_state(input, max_batch, out_size)
                if lstm:
                    hx = (hx, self._zeros_state(input, max_batch, self.hidden_size))
        self.check_forward_args(input, hx, batch_sizes)
        h0, c0 = hx if lstm else (hx, None)
        self._check_state_dtype(h0, c0)

        if batch_sizes is None:
            x = input.transpose(0, 1) if self.batch_first else input   # (T, B, I)
            steps, batch = x.shape[0], x.shape[1]
            if steps == 0:
                raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
            bs = [batch] * steps
            x = x.reshape(steps * batch, x.shape[2])
        else:
            x = input
        out, h_n, c_n = _ops.recurrent(self.mode, x, bs, h0, c0, self._weights(),
                                       self.num_layers, self.bidirectional, self.dropout,
                                       self.training)
        hidden = (h_n, c_n) if lstm else h_n
        if isinstance(orig_input, PackedSequence):
            return (PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices),
                    self.permute_hidden(hidden, unsorted_indices))
        out = out.reshape(steps, batch, out.shape[-1])
        if self.batch_first:
            out = out.transpose(0, 1)
        if not is_batched:
            out = out.squeeze(batch_dim)
            hidden = (h_n.squeeze(1), c_n.squeeze(1)) if lstm else h_n.squeeze(1)
        return out, hidden

    def _check_state_dims(self, hx, is_batched, lstm):
        want = 3 if is_batched else 2
        what = "batched 3-D" if is_batched else "unbatched 2-D"
        if lstm:
            if hx[0].dim() != want or hx[1].dim() != want:
                raise RuntimeError(f"For {what} input, hx and cx should also be {want}-D but "
                                   f"got ({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
            return hx if is_batched else (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        if hx.dim() != want:
            raise RuntimeError(f"For {what} input, hx should also be {want}-D but got "
                               f"{hx.dim()}-D tensor")
        return hx if is_batched else hx.unsqueeze(1)

    def _check_state_dtype(self, h0, c0):
        wdt = self._flat_weights[0].dtype
        for name, t in (("hx", h0), ("cx", c0)):
            if t is not None and t.dtype != wdt:
                raise RuntimeError(f"expected {name} to have the same dtype as the weights "
                                   f"({wdt}), but got {t.dtype}")

    def forward(self, input, hx=None):  # pragma: no cover - RNN/LSTM/GRU override
        raise NotImplementedError


class RNN(RNNBase):
    """Multi-layer Elman RNN: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` with
    ``act`` tanh or relu.

    Args:
        input_size, hidden_size, num_layers, nonlinearity (``'tanh'`` | ``'relu'``), bias,
        batch_first, dropout, bidirectional, device, dtype: as in PyTorch (see RNNBase).

    Shape:
        - input: ``(L, H_in)``, ``(L, N, H_in)`` or ``(N, L, H_in)`` (batch_first), or a
          ``PackedSequence``; h_0: ``(D * num_layers, [N,] H_out)`` (zeros if omitted).
        - output: ``(L, [N,] D * H_out)`` (or packed); h_n: like h_0.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None,
                 **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"RNNBase.__init__() got an unexpected keyword argument "
                            f"'{next(iter(kwargs))}'")
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             f"'relu'.")
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        """Returns ``(output, h_n)``."""
        return self._forward(input, hx)


class LSTM(RNNBase):
    """Multi-layer long short-term memory network, gates in PyTorch's order ``i, f, g, o``:
    ``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)`` (then ``h_t W_hr^T`` with
    ``proj_size > 0``).

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        proj_size, device, dtype: as in PyTorch (see RNNBase).

    Shape:
        - input: ``(L, H_in)``, ``(L, N, H_in)`` or ``(N, L, H_in)`` (batch_first), or a
          ``PackedSequence``; (h_0, c_0): ``(D * num_layers, [N,] H_out)`` and
          ``(D * num_layers, [N,] H_cell)`` (zeros if omitted).
        - output: ``(L, [N,] D * H_out)`` (or packed); (h_n, c_n): like (h_0, c_0).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)

    def get_expected_cell_size(self, input, batch_sizes) -> tuple:
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        return (self.num_layers * num_directions, mini_batch, self.hidden_size)

    def check_forward_args(self, input, hidden, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return _apply_permutation(hx[0], permutation), _apply_permutation(hx[1], permutation)

    def forward(self, input, hx=None):
        """Returns ``(output, (h_n, c_n))``."""
        return self._forward(input, hx)


class GRU(RNNBase):
    """Multi-layer gated recurrent unit network, gates in PyTorch's order ``r, z, n``:
    ``n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))``,
    ``h_t = (1 - z_t) * n_t + z_t * h_{t-1}``.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        device, dtype: as in PyTorch (see RNNBase).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"RNNBase.__init__() got an unexpected keyword argument "
                            f"'{next(iter(kwargs))}'")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        """Returns ``(output, h_n)``."""
        return self._forward(input, hx)


# ---------------------------------------------------------------------------------------
# Cells

class RNNCellBase(Module):
    """Parameters of the single-step cells: ``weight_ih (chunks * hidden, input)``,
    ``weight_hh (chunks * hidden, hidden)``, ``bias_ih``, ``bias_hh`` (``chunks * hidden``),
    all from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    __constants__ = ["input_size", "hidden_size", "bias"]

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _prepare(self, kind, input, states, names):
        """Rank checks, batching of unbatched inputs, zero states, and PyTorch's size checks
        (``_VF.*_cell``). Returns ``(is_batched, input, states)``."""
        if input.dim() not in (1, 2):
            raise ValueError(f"{kind}: Expected input to be 1D or 2D, got {input.dim()}D "
                             f"instead")
        if states is not None:
            for name, s in zip(names, states):
                if s.dim() not in (1, 2):
                    raise ValueError(f"{kind}: Expected {name} to be 1D or 2D, got "
                                     f"{s.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if states is None:
            z = zeros((input.size(0), self.hidden_size), dtype=input.dtype,
                      device=input.device)
            states = [z] * len(names)
        elif not is_batched:
            states = [s.unsqueeze(0) for s in states]
        if input.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} "
                               f"expected {self.input_size}")
        for k, s in enumerate(states):
            if input.size(0) != s.size(0):
                raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{k} "
                                   f"batch size {s.size(0)}")
            if s.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {s.size(1)}, "
                                   f"expected {self.hidden_size}")
        wdt = self.weight_ih.dtype
        for t in [input] + list(states):
            if t.dtype != wdt:
                raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                                   f"{t.dtype._legacy[:-6]} and {wdt._legacy[:-6]}")
        return is_batched, input, states


class RNNCell(RNNCellBase):
    """One Elman RNN step: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``.

    Args:
        input_size, hidden_size (int); bias (bool, default True); nonlinearity
        (``'tanh'`` (default) or ``'relu'``).

    Shape:
        input ``(N, H_in)`` or ``(H_in)``; hidden ``(N, H)`` or ``(H)`` (zeros if omitted);
        output like hidden.
    """

    __constants__ = ["input_size", "hidden_size", "bias", "nonlinearity"]

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        is_batched, input, (h,) = self._prepare(
            "RNNCell", input, None if hx is None else [hx], ["hidden"])
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        gi = F.linear(input, self.weight_ih, self.bias_ih)
        ret = _ops.rnn_cell(gi, h, self.weight_hh, self.bias_hh, self.nonlinearity)
        return ret if is_batched else ret.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates ``i, f, g, o``): returns ``(h', c')``.

    Shape:
        input ``(N, H_in)`` or ``(H_in)``; ``hx = (h, c)``, each ``(N, H)`` or ``(H)``
        (zeros if omitted).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device,
                         dtype=dtype)

    def forward(self, input, hx=None):
        is_batched, input, (h, c) = self._prepare(
            "LSTMCell", input, None if hx is None else list(hx), ["hx[0]", "hx[1]"])
        gi = F.linear(input, self.weight_ih, self.bias_ih)
        h1, c1 = _ops.lstm_cell(gi, h, c, self.weight_hh, self.bias_hh)
        return (h1, c1) if is_batched else (h1.squeeze(0), c1.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gates ``r, z, n``, PyTorch's formulation).

    Shape:
        input ``(N, H_in)`` or ``(H_in)``; hidden ``(N, H)`` or ``(H)`` (zeros if omitted).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device,
                         dtype=dtype)

    def forward(self, input, hx=None):
        is_batched, input, (h,) = self._prepare(
            "GRUCell", input, None if hx is None else [hx], ["hidden"])
        gi = F.linear(input, self.weight_ih, self.bias_ih)
        ret = _ops.gru_cell(gi, h, self.weight_hh, self.bias_hh)
        return ret if is_batched else ret.squeeze(0)
