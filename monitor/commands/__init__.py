"""One module per `cachewatch` subcommand, each with `add_parser(subparsers)` and `run(args)`."""
