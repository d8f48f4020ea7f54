"""Distance layers: ``PairwiseDistance`` and ``CosineSimilarity``."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["PairwiseDistance", "CosineSimilarity"]


class PairwiseDistance(Module):
    """The p-norm distance between corresponding rows: ``||x1 - x2 + eps||_p`` over the last
    dimension (see ``nn.functional.pairwise_distance``).

    Args:
        p (float): the norm degree. Default: 2.
        eps (float): added to the difference to avoid a zero norm. Default: 1e-6.
        keepdim (bool): keep the reduced dimension (as size 1). Default: False.

    Shape: ``(N, D)`` or ``(D,)`` inputs (broadcasting) -> ``(N,)`` or ``()``.
    """

    __constants__ = ["norm", "eps", "keepdim"]

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """Cosine similarity along ``dim`` (see ``nn.functional.cosine_similarity``).

    Args:
        dim (int): the dimension of the vectors. Default: 1.
        eps (float): lower bound of each vector's norm. Default: 1e-8.

    Shape: inputs broadcasting to ``(*1, D, *2)`` -> ``(*1, *2)``.
    """

    __constants__ = ["dim", "eps"]

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
