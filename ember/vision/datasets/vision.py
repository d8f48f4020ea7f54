"""The base class of the vision datasets and the image form they return."""
from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from ...ops import creation as _creation
from ...utils.data import Dataset
from .._imaging import get_image_backend, require_pil

__all__ = ["StandardTransform", "VisionDataset"]


def _make_image(arr: np.ndarray, mode: str):
    """An ``H x W`` (mode ``'L'``) or ``H x W x 3`` (mode ``'RGB'``) uint8 array as the
    current image backend returns it: a PIL image, or a ``C x H x W`` uint8 ember tensor."""
    if get_image_backend() == "PIL":
        image = require_pil("Returning PIL images")
        from ..transforms.functional import _fromarray
        return _fromarray(image, np.ascontiguousarray(arr), mode)
    chw = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return _creation.from_numpy(np.ascontiguousarray(chw))


class VisionDataset(Dataset):
    """Base class of the datasets here: stores ``root``, ``transform`` (applied to the
    image), ``target_transform`` (applied to the target) or ``transforms`` (a callable taking
    and returning ``(image, target)``; exclusive with the other two), and prints like
    torchvision's datasets.
    """

    _repr_indent = 4

    def __init__(self, root=None, transforms: Callable | None = None,
                 transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        if isinstance(root, str):
            root = os.path.expanduser(root)
        self.root = root
        has_transforms = transforms is not None
        has_separate = transform is not None or target_transform is not None
        if has_transforms and has_separate:
            raise ValueError("Only transforms or transform/target_transform can be passed as "
                             "argument")
        self.transform = transform
        self.target_transform = target_transform
        if has_separate:
            transforms = StandardTransform(transform, target_transform)
        self.transforms = transforms

    def __getitem__(self, index: int):
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def _apply(self, img, target):
        if self.transforms is not None:
            return self.transforms(img, target)
        return img, target

    def __repr__(self) -> str:
        body = [f"Number of datapoints: {self.__len__()}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if getattr(self, "transforms", None) is not None:
            body += [repr(self.transforms)]
        lines = [f"Dataset {type(self).__name__}"] + \
            [" " * self._repr_indent + line for line in body]
        return "\n".join(lines)

    def extra_repr(self) -> str:
        return ""


class StandardTransform:
    """``(image, target) -> (transform(image), target_transform(target))``."""

    def __init__(self, transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        self.transform = transform
        self.target_transform = target_transform

    def __call__(self, input, target):
        if self.transform is not None:
            input = self.transform(input)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return input, target

    @staticmethod
    def _format(transform, head: str) -> list[str]:
        lines = repr(transform).splitlines()
        return [f"{head}{lines[0]}"] + [" " * len(head) + line for line in lines[1:]]

    def __repr__(self) -> str:
        body = [type(self).__name__]
        if self.transform is not None:
            body += self._format(self.transform, "Transform: ")
        if self.target_transform is not None:
            body += self._format(self.target_transform, "Target transform: ")
        return "\n".join(body)
