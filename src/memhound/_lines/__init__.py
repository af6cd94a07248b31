"""Line-by-line memory of chosen functions: `memhound.profile` and `memhound lines`."""

from memhound._lines._decorator import profile

__all__ = ["profile"]
