"""Rule-based alerts over the store."""
