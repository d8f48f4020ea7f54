"""``ember.vision.datasets``: MNIST and relatives, CIFAR, image folders, FakeData, and the
bundled 8x8 :class:`Digits` (no download needed). torchvision's layouts and arguments."""
from .cifar import CIFAR10, CIFAR100
from .digits import Digits
from .fakedata import FakeData
from .folder import DatasetFolder, ImageFolder
from .mnist import EMNIST, KMNIST, MNIST, FashionMNIST
from .vision import StandardTransform, VisionDataset

__all__ = [
           "CIFAR10",
           "CIFAR100",
           "EMNIST",
           "KMNIST",
           "MNIST",
           "DatasetFolder",
           "Digits",
           "FakeData",
           "FashionMNIST",
           "ImageFolder",
           "StandardTransform",
           "VisionDataset",
]
