"""Shipped model configs, cards and small weights (see README.md in this folder)."""
