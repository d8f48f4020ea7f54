"""``parameters_to_vector`` and ``vector_to_parameters``: a model's parameters as one flat
vector and back."""
from __future__ import annotations

from ..._tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _typename(obj) -> str:
    """PyTorch's ``torch.typename``: 'list', 'numpy.ndarray', ..."""
    if isinstance(obj, Tensor):
        return obj.type()
    cls = type(obj)
    module = cls.__module__ or ""
    return cls.__qualname__ if module in ("", "builtins") else f"{module}.{cls.__qualname__}"


def parameters_to_vector(parameters) -> Tensor:
    """Concatenate the flattened ``parameters`` into one 1-D tensor (differentiable: the
    result is a ``cat`` of views)."""
    from ...ops.shape import cat
    return cat([p.view(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Point each of ``parameters`` at its slice of ``vec`` (in order; ``param.data`` is
    replaced, so the parameters then share memory with ``vec``).

    Raises:
        TypeError: ``vec`` is not a Tensor.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected ember.Tensor, but got: {_typename(vec)}")
    pointer = 0
    for param in parameters:
        n = param.numel()
        param.data = vec[pointer:pointer + n].view_as(param).data
        pointer += n
