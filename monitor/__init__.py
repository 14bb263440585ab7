"""Core engine: config, targets, scheduler, store, query, exporter, CLI. Never imports a UI toolkit."""
