"""The machinery behind the ``ember train`` / ``ember predict`` commands (see ``ember.cli``
and docs/quickstart.md):

* :mod:`ember.train.data`: the datasets the command knows (Digits, MNIST, Fashion-MNIST,
  CIFAR-10), their normalisation, and fast in-memory batching with a ``DataLoader``;
* :mod:`ember.train.models`: the model zoo (``mlp``, ``cnn``, ``lstm``, ``resnet``);
* :mod:`ember.train.loop`: one training epoch and one evaluation pass;
* :mod:`ember.train.report`: ``metrics.json`` and the PNG plots;
* :mod:`ember.train.threads`: the BLAS thread count, set at run time.

Importing this package needs only ember; the progress bar (tqdm) and the plots (matplotlib)
are imported when used.
"""
from .data import DATASETS, DatasetSpec, ImageArrayDataset, load_dataset, make_loader
from .loop import evaluate, train_one_epoch
from .models import MODELS, build_model

__all__ = ["DATASETS", "MODELS", "DatasetSpec", "ImageArrayDataset", "build_model", "evaluate",
           "load_dataset", "make_loader", "train_one_epoch"]
