"""``Fold`` and ``Unfold``: the layers of ``nn.functional.fold``/``unfold`` (col2im and
im2col)."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Fold", "Unfold"]


class Fold(Module):
    """Combine an array of sliding local blocks into a tensor, summing overlaps.

    Args:
        output_size (int or tuple): spatial size of the output.
        kernel_size, dilation, padding, stride (int or tuple): the blocks' geometry, as
            for ``Unfold``.

    Shape:
        - Input ``(N, C * prod(kernel_size), L)`` or ``(C * prod(kernel_size), L)``, L the
          number of blocks; output ``(N, C, *output_size)`` or ``(C, *output_size)``.
    """

    __constants__ = ["output_size", "kernel_size", "dilation", "padding", "stride"]

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")


class Unfold(Module):
    """Extract sliding local blocks from a batched input (im2col).

    Args:
        kernel_size (int or tuple): size of the blocks.
        dilation (int or tuple): spacing of a block's elements. Default: 1.
        padding (int or tuple): implicit zero padding on both sides. Default: 0.
        stride (int or tuple): step between blocks. Default: 1.

    Shape:
        - Input ``(N, C, H, W)`` or ``(C, H, W)``; output ``(N, C * prod(kernel_size), L)``
          or ``(C * prod(kernel_size), L)``.
    """

    __constants__ = ["kernel_size", "dilation", "padding", "stride"]

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
