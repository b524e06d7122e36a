"""`python -m monitor` runs the command line."""

from monitor.cli import cli

if __name__ == "__main__":  # worker processes import this module too: they must not run the CLI
    cli(prog_name="monitor")
