"""Shipped timeline layout templates (see README.md in this folder)."""
