"""User interfaces: the terminal UI (ui/tui) and the web dashboard (ui/web). They only read."""
