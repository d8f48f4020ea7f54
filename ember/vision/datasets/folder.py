"""Datasets from a directory tree with one sub-directory per class::

    root/dog/xxx.png
    root/dog/nested/xxy.png
    root/cat/123.png

:class:`DatasetFolder` takes any ``loader`` (path -> sample) and works without Pillow;
:class:`ImageFolder` decodes images with Pillow (``default_loader``).
"""
from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from ...ops import creation as _creation
from .._imaging import get_image_backend, require_pil
from .vision import VisionDataset

__all__ = ["IMG_EXTENSIONS", "DatasetFolder", "ImageFolder", "default_loader", "find_classes",
           "has_file_allowed_extension", "is_image_file", "make_dataset", "pil_loader"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def has_file_allowed_extension(filename: str, extensions) -> bool:
    """Whether ``filename`` ends (case-insensitively) with one of ``extensions``."""
    exts = extensions if isinstance(extensions, str) else tuple(extensions)
    return filename.lower().endswith(exts)


def is_image_file(filename: str) -> bool:
    """Whether ``filename`` has one of :data:`IMG_EXTENSIONS`."""
    return has_file_allowed_extension(filename, IMG_EXTENSIONS)


def find_classes(directory) -> tuple[list[str], dict[str, int]]:
    """The class folders of ``directory``, sorted, and their indices."""
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
    return classes, {name: i for i, name in enumerate(classes)}


def make_dataset(directory, class_to_idx: dict[str, int] | None = None, extensions=None,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> list[tuple[str, int]]:
    """``(path, class_index)`` for every valid file under each class folder (recursively,
    following links, in sorted order). Exactly one of ``extensions`` and ``is_valid_file``
    decides which files count; a class without files raises FileNotFoundError unless
    ``allow_empty``."""
    directory = os.path.expanduser(os.fspath(directory))
    if class_to_idx is None:
        _, class_to_idx = find_classes(directory)
    elif not class_to_idx:
        raise ValueError("'class_to_index' must have at least one entry to collect any "
                         "samples.")
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("Both extensions and is_valid_file cannot be None or not None at the "
                         "same time")
    if extensions is not None:
        def is_valid_file(x: str) -> bool:
            return has_file_allowed_extension(x, extensions)

    instances = []
    found = set()
    for target_class in sorted(class_to_idx):
        class_index = class_to_idx[target_class]
        target_dir = os.path.join(directory, target_class)
        if not os.path.isdir(target_dir):
            continue
        for root, _, fnames in sorted(os.walk(target_dir, followlinks=True)):
            for fname in sorted(fnames):
                path = os.path.join(root, fname)
                if is_valid_file(path):
                    instances.append((path, class_index))
                    found.add(target_class)
    empty = set(class_to_idx) - found
    if empty and not allow_empty:
        msg = f"Found no valid file for the classes {', '.join(sorted(empty))}. "
        if extensions is not None:
            exts = extensions if isinstance(extensions, str) else ", ".join(extensions)
            msg += f"Supported extensions are: {exts}"
        raise FileNotFoundError(msg)
    return instances


class DatasetFolder(VisionDataset):
    """A dataset of files arranged ``root/<class>/**/<file>``; samples are
    ``(loader(path), class_index)``.

    Args:
        root: the directory of class folders.
        loader (callable): path -> sample.
        extensions (tuple of str, optional): the file endings that count.
        transform, target_transform (callable, optional): applied to sample / target.
        is_valid_file (callable, optional): path -> bool, instead of ``extensions``.
        allow_empty (bool): allow class folders without valid files.

    Attributes:
        classes (list), class_to_idx (dict), samples (list of (path, index)), targets (list).
    """

    def __init__(self, root, loader: Callable, extensions=None, transform=None,
                 target_transform=None, is_valid_file=None, allow_empty: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        classes, class_to_idx = self.find_classes(self.root)
        samples = self.make_dataset(self.root, class_to_idx=class_to_idx, extensions=extensions,
                                    is_valid_file=is_valid_file, allow_empty=allow_empty)
        self.loader = loader
        self.extensions = extensions
        self.classes = classes
        self.class_to_idx = class_to_idx
        self.samples = samples
        self.targets = [s[1] for s in samples]

    @staticmethod
    def make_dataset(directory, class_to_idx, extensions=None, is_valid_file=None,
                     allow_empty: bool = False):
        """See :func:`make_dataset` (here ``class_to_idx`` is required, so that an
        overridden :meth:`find_classes` is honoured)."""
        if class_to_idx is None:
            raise ValueError("The class_to_idx parameter cannot be None.")
        return make_dataset(directory, class_to_idx, extensions=extensions,
                            is_valid_file=is_valid_file, allow_empty=allow_empty)

    def find_classes(self, directory):
        """Override to use another folder-to-class mapping."""
        return find_classes(directory)

    def __getitem__(self, index: int):
        path, target = self.samples[index]
        return self._apply(self.loader(path), target)

    def __len__(self) -> int:
        return len(self.samples)


def pil_loader(path):
    """Open an image file with Pillow, converted to RGB."""
    image = require_pil("Loading image files (pil_loader / ImageFolder)")
    with open(path, "rb") as f:
        return image.open(f).convert("RGB")


def default_loader(path):
    """Load an image file as RGB: a PIL image, or (with the ``'tensor'`` image backend) a
    ``3 x H x W`` uint8 ember tensor. Decoding always needs Pillow."""
    img = pil_loader(path)
    if get_image_backend() == "tensor":
        arr = np.asarray(img, dtype=np.uint8)
        return _creation.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    return img


class ImageFolder(DatasetFolder):
    """A :class:`DatasetFolder` of image files (:data:`IMG_EXTENSIONS` unless
    ``is_valid_file`` is given) loaded with :func:`default_loader`. ``imgs`` is an alias of
    ``samples``."""

    def __init__(self, root, transform=None, target_transform=None, loader=default_loader,
                 is_valid_file=None, allow_empty: bool = False):
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None,
                         transform=transform, target_transform=target_transform,
                         is_valid_file=is_valid_file, allow_empty=allow_empty)
        self.imgs = self.samples
