"""What a score is delivered as: timeline, layouts, exports, mix, scored film, report."""
