"""``ember.backends.cuda``: CUDA backend switches, kept as inert settings (ember has no
CUDA). ``matmul.allow_tf32`` and the reduced-precision flags can be read and set, with
PyTorch's defaults, and have no effect."""
from __future__ import annotations

__all__ = ["is_built", "matmul"]


def is_built() -> bool:
    """Whether ember was built with CUDA support: False."""
    return False


class _MatmulSettings:
    """``ember.backends.cuda.matmul``: plain attributes, no effect in ember."""

    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    def __repr__(self):
        return (f"matmul(allow_tf32={self.allow_tf32}, allow_fp16_reduced_precision_reduction="
                f"{self.allow_fp16_reduced_precision_reduction}, "
                f"allow_bf16_reduced_precision_reduction="
                f"{self.allow_bf16_reduced_precision_reduction})")


matmul = _MatmulSettings()
