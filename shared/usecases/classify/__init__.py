"""Classify: any table of texts into a fixed label set (the second use case, added through the seam)."""
