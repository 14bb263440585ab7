"""cachewatch."""
