"""Ready-made parametrizations (PyTorch's ``torch.nn.utils.parametrizations``):
``weight_norm``, ``spectral_norm`` and ``orthogonal``, all registered with
``parametrize.register_parametrization`` (so ``module.weight`` is computed from
``module.parametrizations.weight.original*`` on every access).
"""
from __future__ import annotations

from enum import Enum, auto

import numpy as np

from ..._tensor import Tensor, _wrap
from ...autograd.grad_mode import no_grad
from ..modules.module import Module
from . import parametrize

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


# ---------------------------------------------------------------------------------------
# weight norm

def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm of ``v`` over every dimension but ``dim`` (kept, size 1 elsewhere);
    ``dim=-1`` means over everything (a 0-d result), as PyTorch's ``norm_except_dim``."""
    if dim == -1:
        return v.norm(2)
    nd = v.dim()
    dim = dim % nd if nd else 0
    others = [d for d in range(nd) if d != dim]
    if not others:
        return v.abs()
    return v.norm(2, dim=others, keepdim=True)


def _weight_norm(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """``v * (g / ||v||)`` with the norm over every dimension but ``dim``."""
    return v * (g / _norm_except_dim(v, dim))


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int = 0) -> Module:
    """Reparametrize ``module.<name>`` as ``g * v / ||v||`` (magnitude ``g`` and direction
    ``v`` learned separately), the norm taken over every dimension but ``dim`` (``None``: the
    whole tensor).

    The originals are ``parametrizations.<name>.original0`` (g) and ``original1`` (v); old
    checkpoints with ``<name>_g`` / ``<name>_v`` keys load too.
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def _compat_hook(state_dict, prefix, local_metadata, strict, missing_keys,
                     unexpected_keys, error_msgs):
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module._register_load_state_dict_pre_hook(_compat_hook)
    return module


# ---------------------------------------------------------------------------------------
# spectral norm

def _normalize_np(x, eps):
    n = np.sqrt(np.sum(np.abs(x) ** 2))
    return x / max(n, eps)


class _SpectralNorm(Module):
    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, "
                             f"{ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            wm = self._reshape_weight_to_matrix(weight)
            h, w = wm.shape
            from ...ops.creation import empty
            from .. import init
            u = init.normal_(empty(h, dtype=weight.dtype))
            v = init.normal_(empty(w, dtype=weight.dtype))
            self.register_buffer("_u", _wrap(_normalize_np(u._data, eps)))
            self.register_buffer("_v", _wrap(_normalize_np(v._data, eps)))
            self._power_method(wm, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim())
                                                if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        """Power iteration for the leading singular vectors, updating ``_u`` and ``_v`` in
        place (without autograd)."""
        W = weight_mat._data
        u, v = self._u._data, self._v._data
        for _ in range(n_power_iterations):
            u[...] = _normalize_np(W @ v, self.eps)
            v[...] = _normalize_np(W.conj().T @ u, self.eps)
        self._u._vc[0] += 1
        self._v._vc[0] += 1

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            from .. import functional as F
            return F.normalize(weight, dim=0, eps=self.eps)
        wm = self._reshape_weight_to_matrix(weight)
        if self.training:
            with no_grad():
                self._power_method(wm, self.n_power_iterations)
        u = self._u.clone()
        v = self._v.clone()
        sigma = (u.conj() * (wm @ v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Reparametrize ``module.<name>`` as ``W / sigma(W)``, ``sigma`` its largest singular
    value estimated by power iteration (``n_power_iterations`` steps per forward in training
    mode; the vectors ``_u``, ``_v`` are buffers of the parametrization).

    Args:
        dim (int, optional): the dimension of output channels (default 0; 1 for transposed
            convolutions).
        eps (float): guards the normalisations.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        from ..modules import conv
        transposed = tuple(getattr(conv, n) for n in ("ConvTranspose1d", "ConvTranspose2d",
                                                      "ConvTranspose3d") if hasattr(conv, n))
        dim = 1 if transposed and isinstance(module, transposed) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# ---------------------------------------------------------------------------------------
# orthogonal

class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


def _eye(n, like: Tensor) -> Tensor:
    return _wrap(np.eye(n, dtype=like._data.dtype))


def _householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """``H_1 ... H_k`` (the first ``n`` x ``k`` block), ``H_i = I - tau_i v_i v_i^T`` with
    ``v_i = (0, ..., 0, 1, A[i+1:, i])``; ember operations, so it is differentiable. The loop
    is over the k reflectors (columns), not over data."""
    n, k = A.shape[-2], A.shape[-1]
    batch = tuple(A.shape[:-2])
    unit = np.zeros((n, k), dtype=A._data.dtype)
    unit[np.arange(k), np.arange(k)] = 1
    V = A.tril(-1) + _wrap(unit)                        # reflectors as columns
    Q = _wrap(np.broadcast_to(np.eye(n, dtype=A._data.dtype), batch + (n, n)).copy())
    for i in range(k):
        v = V[..., :, i:i + 1]                          # (..., n, 1)
        t = tau[..., i:i + 1].unsqueeze(-1)             # (..., 1, 1)
        Q = Q - (Q @ v) @ (v.mT * t)
    return Q[..., :, :k]


def _make_orthogonal(A: Tensor) -> Tensor:
    """The Q of A's QR decomposition with ``diag(R) > 0`` (unique for full rank)."""
    from ...linalg import qr
    Q, R = qr(A)
    d = np.sign(np.diagonal(R._data, axis1=-2, axis2=-1)).astype(A._data.dtype)
    d = np.where(d == 0, 1, d)
    return Q * _wrap(d[..., None, :])


def _is_orthogonal(Q: Tensor) -> bool:
    n, k = Q.shape[-2], Q.shape[-1]
    eps = 10.0 * n * np.finfo(Q._data.dtype).eps
    prod = np.conj(np.swapaxes(Q._data, -1, -2)) @ Q._data
    return bool(np.allclose(prod, np.eye(k), atol=eps, rtol=1e-5))


class _Orthogonal(Module):
    def __init__(self, weight, orthogonal_map: _OrthMaps, *, use_trivialization=True) -> None:
        super().__init__()
        if weight.is_complex() and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex "
                             "tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.size(-2), X.size(-1)
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            X = X.tril()
            if n != k:
                from ...ops.shape import cat
                zeros = _wrap(np.zeros(tuple(X.shape[:-2]) + (n, n - k), dtype=X._data.dtype))
                X = cat([X, zeros], dim=-1)
            A = X - X.mH
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                from ...ops.linalg import matrix_exp
                Q = matrix_exp(A)
            else:
                from ...linalg import solve
                Id = _eye(n, A)
                Q = solve(Id - A * 0.5, Id + A * 0.5)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = _householder_product(A, tau)
            signs = np.trunc(np.diagonal(X._data, axis1=-2, axis2=-1)).astype(X._data.dtype)
            Q = Q * _wrap(signs[..., None, :])
        if getattr(self, "base", None) is not None:
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        with no_grad():
            if Q.shape != self.shape:
                raise ValueError(f"Expected a matrix or batch of matrices of shape "
                                 f"{self.shape}. Got a tensor of shape {Q.shape}.")
            Q_init = Q
            n, k = Q.size(-2), Q.size(-1)
            transpose = n < k
            if transpose:
                Q = Q.mT
                n, k = k, n
            if "base" not in self._buffers:
                if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                    raise NotImplementedError("It is not possible to assign to the matrix "
                                              "exponential or the Cayley parametrizations when "
                                              "use_trivialization=False.")
                A, tau = _geqrf(Q._data)
                d = np.sign(np.diagonal(A, axis1=-2, axis2=-1))
                d = np.where(tau == 0.0, -d, d)
                idx = np.arange(min(n, k))
                A[..., idx, idx] = d
                A = _wrap(A)
                return A.mT if transpose else A
            if n == k:
                Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
            else:
                from ...ops.shape import cat
                from ..._random import randn
                N = randn(*(tuple(Q.shape[:-2]) + (n, n - k)), dtype=Q.dtype)
                Q = _make_orthogonal(cat([Q, N], dim=-1))
            self.base = Q
            neg_id = np.zeros(tuple(Q_init.shape), dtype=Q_init._data.dtype)
            m = min(neg_id.shape[-2], neg_id.shape[-1])
            neg_id[..., np.arange(m), np.arange(m)] = -1.0
            return _wrap(neg_id)


def _geqrf(a: np.ndarray):
    """LAPACK's geqrf for a (batch of) matrices: the reflectors below the diagonal, R on
    and above it, and the scalars tau."""
    batch = a.shape[:-2]
    flat = a.reshape((-1,) + a.shape[-2:])
    hs, taus = [], []
    for m in flat:                      # one LAPACK call per matrix of the batch
        h, tau = np.linalg.qr(m, mode="raw")
        hs.append(h.T)
        taus.append(tau)
    return (np.stack(hs).reshape(a.shape).astype(a.dtype),
            np.stack(taus).reshape(batch + (len(taus[0]) if taus else 0,)).astype(a.dtype))


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Constrain ``module.<name>`` (a matrix or batch of matrices) to be orthogonal
    (unitary): ``Q^H Q = I`` (or ``Q Q^H = I`` for wide matrices).

    Args:
        orthogonal_map (str, optional): ``'matrix_exp'`` (default for square or complex),
            ``'cayley'`` or ``'householder'`` (default for real rectangular).
        use_trivialization (bool): keep a ``base`` orthogonal matrix and parametrize a
            rotation of it (assignment to the weight is then possible for every map).

    On registration the weight is replaced by the Q of its QR decomposition (positive
    diagonal of R), unless it is already orthogonal.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of "
                         f"{weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = ("matrix_exp" if weight.size(-2) == weight.size(-1)
                          or weight.is_complex() else "householder")
    orth_enum = getattr(_OrthMaps, orthogonal_map, None)
    if orth_enum is None:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", '
                         f'"householder". Got: {orthogonal_map}')
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
