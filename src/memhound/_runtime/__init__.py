"""The runtime job: what the cyclic collector does (_gc) and what pymalloc's arenas, pools and
fragmentation cost (_pymalloc). Public names are exported from memhound/__init__.py."""
