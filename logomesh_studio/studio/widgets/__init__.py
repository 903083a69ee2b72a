"""Reusable widgets: JSON tree, record tables, filter bar, traceback view."""
