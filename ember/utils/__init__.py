"""``ember.utils``: utilities outside the tensor core (``ember.utils.data``: datasets,
samplers and the DataLoader)."""
from . import data  # noqa: F401
