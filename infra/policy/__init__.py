"""The platform's policy pack: rules in `rules.py`, the pack entry point in `__main__.py`."""
