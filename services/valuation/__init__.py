"""Plate valuation: a LightGBM model on log price blended with a fitted rules engine.

Kept empty on purpose: importing the package must stay cheap (the API imports it), so the
interface lives in :mod:`services.valuation.service` and training code in ``train``/``evaluate``.
"""
