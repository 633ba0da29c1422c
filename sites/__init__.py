"""The static sites the platform serves, one folder each with its `site.py` spec (see `infra/site_spec.py`)."""
