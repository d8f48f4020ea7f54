"""ember: a deep learning framework on NumPy with PyTorch's API.

``import ember as torch`` and PyTorch code runs: tensors, autograd, ``nn``, ``optim``,
``utils.data``. See README.md and docs/architecture.md.
"""
from __future__ import annotations

__version__ = "0.1.0"

from ._dtype import *  # noqa: F401,F403
from ._dtype import dtype, finfo, iinfo  # noqa: F401
from ._device import device  # noqa: F401
from ._size import Size  # noqa: F401
from ._tensor import Tensor  # noqa: F401
from . import autograd  # noqa: F401
from .autograd.anomaly_mode import is_anomaly_enabled, is_anomaly_check_nan_enabled  # noqa
from .autograd.grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode,  # noqa
                                 is_grad_enabled, is_inference_mode_enabled)
from .ops import *  # noqa: F401,F403
from ._random import *  # noqa: F401,F403
from ._print import *  # noqa: F401,F403
from ._misc import *  # noqa: F401,F403
from . import linalg, cuda, backends, random  # noqa: F401,E402


def _export_top_level():
    """Some nn functions are also ``torch.<name>`` (torch.relu, torch.softmax,
    torch.dropout, torch.cdist, ...): each family lists them in ``TOP_LEVEL``."""
    from .ops import (activation, distance, dropout, normalization, padding, pooling, sparse,
                      upsampling)
    for family in (activation, distance, dropout, normalization, padding, sparse, upsampling):
        names = getattr(family, "TOP_LEVEL", {})
        if not isinstance(names, dict):
            names = {n: getattr(family, n) for n in names}
        globals().update(names)
    for name in ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d",
                 "adaptive_avg_pool1d", "adaptive_max_pool1d", "max_pool1d_with_indices"):
        globals()[name] = getattr(pooling, name)


_export_top_level()
from . import nn  # noqa
from . import utils  # noqa: F401,E402
from .serialization import save, load  # noqa: F401,E402
from . import optim  # noqa: F401,E402
from . import vision  # noqa: F401,E402
from . import onnx  # noqa: F401,E402  (imports the onnx package only when used)
