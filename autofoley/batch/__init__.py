"""Scoring a folder of films unattended, resumably."""
