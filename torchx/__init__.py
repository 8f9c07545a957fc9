"""torchx: registered datasets, models, losses, wrappers and callbacks, built from YAML configs.

Importing this package is cheap (no torch): the training entries import what they need.
"""
