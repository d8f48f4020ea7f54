"""``ember.backends.mps``: Apple's Metal backend, which ember does not have."""
from __future__ import annotations

__all__ = ["is_available", "is_built", "is_macos13_or_newer"]


def is_available() -> bool:
    """Whether an MPS device can be used: always False in ember."""
    return False


def is_built() -> bool:
    """Whether ember was built with MPS support: False."""
    return False


def is_macos13_or_newer(minor: int = 0) -> bool:
    """Only meaningful with an MPS build; False here, as in PyTorch builds without MPS."""
    return False
