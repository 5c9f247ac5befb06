"""xiaoxiang: real-time order tracking for front-warehouse grocery delivery.

GeoHash and distances on NumPy arrays, the tracking engine (Tracker) with
subscriptions and replay, and the simulated city (Simulation). Bulk data
crosses as NumPy arrays; tables come back as pandas DataFrames (NumPy
record arrays when pandas is not installed). See docs/python.md.
"""

from ._core import *  # noqa: F401,F403
from ._core import __doc__ as _core_doc, __version__  # noqa: F401
from . import _core

__all__ = [name for name in dir(_core) if not name.startswith("_")]
