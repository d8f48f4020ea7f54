"""Pillow, optional: import it only when a PIL feature is used, and say how to get it.

ember.vision imports and runs without Pillow. Datasets then return images as uint8 ember
tensors (C x H x W) instead of PIL images, and every transform that torchvision supports on
tensors works on them. Only features that need Pillow by nature (``ToPILImage``, decoding
image files in ``ImageFolder``, ``save_image``) raise an ImportError naming Pillow.
"""
from __future__ import annotations

import importlib

_BACKENDS = ("PIL", "tensor")
_state = {"backend": None}    # None: "PIL" if Pillow imports, else "tensor"
_pil_cache = {}


def _try_import_pil():
    if "Image" not in _pil_cache:
        try:
            _pil_cache["Image"] = importlib.import_module("PIL.Image")
        except ImportError:
            _pil_cache["Image"] = None
    return _pil_cache["Image"]


def pil_available() -> bool:
    """Whether Pillow can be imported."""
    return _try_import_pil() is not None


def require_pil(feature: str):
    """The ``PIL.Image`` module, or an ImportError that names Pillow and the feature that
    needs it."""
    image = _try_import_pil()
    if image is None:
        raise ImportError(f"{feature} requires Pillow, which is not installed. Install it with "
                          "`pip install pillow`.")
    return image


def is_pil_image(obj) -> bool:
    """True for a ``PIL.Image.Image``; False (without importing Pillow) when Pillow is absent
    or was never imported, since then no PIL image can exist."""
    import sys
    mod = sys.modules.get("PIL.Image")
    return mod is not None and isinstance(obj, mod.Image)


def get_image_backend() -> str:
    """How datasets return images: ``'PIL'`` (PIL images, as torchvision) or ``'tensor'``
    (uint8 ember tensors, C x H x W). The default is ``'PIL'`` when Pillow is installed and
    ``'tensor'`` otherwise."""
    if _state["backend"] is None:
        return "PIL" if pil_available() else "tensor"
    return _state["backend"]


def set_image_backend(backend: str) -> None:
    """Choose how datasets return images: ``'PIL'`` or ``'tensor'`` (see
    :func:`get_image_backend`). ``'PIL'`` needs Pillow."""
    if backend not in _BACKENDS:
        raise ValueError(f"Invalid backend '{backend}'. Options are 'PIL' and 'tensor'")
    if backend == "PIL":
        require_pil("The 'PIL' image backend")
    _state["backend"] = backend
