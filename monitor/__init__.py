"""Core engine: config, targets, scheduler, store, query, exporter, CLI. No UI imports."""
