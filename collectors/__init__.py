"""Collector plugins: each turns a connection to one target into samples."""
