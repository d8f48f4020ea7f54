"""``ember.backends``: the backend switches PyTorch code reads and sets.

ember computes on the CPU with NumPy, so there is no CUDA, cuDNN or MPS backend. The modules
here exist so that code written for PyTorch runs unchanged:

* ``ember.backends.mps.is_available()`` / ``is_built()`` are False;
* ``ember.backends.cudnn.enabled`` / ``deterministic`` / ``benchmark`` / ``allow_tf32`` are
  plain settable attributes with PyTorch's defaults; setting them has no effect on ember
  (NumPy on the CPU is already deterministic for a given input and thread count);
* ``ember.backends.cuda.matmul.allow_tf32`` and friends likewise.
"""
from . import cuda, cudnn, mps  # noqa: F401

__all__ = ["cuda", "cudnn", "mps"]
