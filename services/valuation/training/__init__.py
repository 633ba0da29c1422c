"""Training, evaluation and the command line of the valuation model (never shipped in the image).

``python -m services.valuation.training train|predict|evaluate``. Everything here may import
LightGBM, matplotlib, Faker and the shared auction data; the runtime in ``services/valuation/``
never imports this package, and the image leaves it out (``services/valuation/Dockerfile.dockerignore``).
"""
