"""What `cachewatch` exits with, the same for every command (scripts rely on it; `--help`
prints `EXIT_CODES_HELP`)."""

from __future__ import annotations

__all__ = [
    "EXIT_OK",
    "EXIT_PROBLEM",
    "EXIT_USAGE",
    "EXIT_MISSING",
    "EXIT_INTERRUPTED",
    "EXIT_CODES_HELP",
]

#: done, nothing wrong found
EXIT_OK = 0
#: it ran and found something wrong: a target down or refusing us, a rule file with
#: problems, a query that failed to evaluate, a critical finding
EXIT_PROBLEM = 1
#: it could not run as asked: bad arguments, a bad config, a bad expression, no store at the
#: path, or a store another process is writing
EXIT_USAGE = 2
#: something it needs is not installed: an optional extra (tui, web, demo) or a server binary
EXIT_MISSING = 3
#: stopped by Ctrl-C (SIGINT) before it finished
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
exit codes (every command):
  0    done, nothing wrong found
  1    it ran and found a problem: a target down, a rule file with errors, a failed query
  2    it could not run as asked: bad arguments, config or expression; no store; store busy
  3    a part is not installed: an optional extra (pip install 'cachewatch[tui]') or a binary
  130  interrupted (Ctrl-C)
Long-running commands (serve, export, poll, demo, tui) exit 0 when stopped by Ctrl-C or
SIGTERM.
"""
