"""``ember.vision.models``: LeNet-5 and a small configurable CNN for digit-sized images, and
ResNets with torchvision's architecture and parameter names (no pretrained weights)."""
from .lenet import LeNet, SimpleCNN, lenet, simple_cnn
from .resnet import (
                     BasicBlock,
                     Bottleneck,
                     ResNet,
                     resnet18,
                     resnet34,
                     resnet50,
                     resnet101,
                     resnet152,
)

__all__ = ["BasicBlock", "Bottleneck", "LeNet", "ResNet", "SimpleCNN", "lenet", "resnet18",
           "resnet34", "resnet50", "resnet101", "resnet152", "simple_cnn"]
