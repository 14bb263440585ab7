"""Embedded time-series store."""
