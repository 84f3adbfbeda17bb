"""Measuring and tuning placement against ground truth."""
