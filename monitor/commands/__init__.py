"""One module per `cachewatch` subcommand: each has `add_parser(subparsers)` and `run(args) -> int`."""
