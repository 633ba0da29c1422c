"""Plate valuation runtime: a compiled LightGBM forest on log price blended with a fitted rules engine.

This folder is what the valuation image ships (numpy only). Training, evaluation and the command
line live in :mod:`services.valuation.training`, which the runtime never imports. Kept empty on
purpose so importing the package stays cheap: the interface is :mod:`services.valuation.service`,
the Lambda entry point :mod:`services.valuation.handler`.
"""
