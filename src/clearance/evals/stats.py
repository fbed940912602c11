"""Confidence intervals used by evaluation metrics (re-exported from :mod:`clearance.stats`)."""

from clearance.stats import BOOTSTRAP, WILSON, bootstrap_interval, wilson_interval, z_for

__all__ = ["BOOTSTRAP", "WILSON", "bootstrap_interval", "wilson_interval", "z_for"]
