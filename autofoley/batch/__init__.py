"""Scoring a folder of films unattended, resumably (see ``run.py``)."""

from autofoley.batch.discover import find_films
from autofoley.batch.report import BatchReport
from autofoley.batch.run import run_batch

__all__ = ["BatchReport", "find_films", "run_batch"]
