"""Route handlers, one module per resource; each handler is thin and calls plain functions."""
