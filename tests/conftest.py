import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

try:
    from hypothesis import settings
    settings.register_profile("ci", max_examples=50, deadline=None)
    settings.register_profile("dev", max_examples=25, deadline=None)
    settings.load_profile("ci" if os.environ.get("CI") else "dev")
except ImportError:  # pragma: no cover
    pass
