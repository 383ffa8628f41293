"""`python -m decaylm predict ...`: the same as the `decaylm` command."""

from decaylm.cli import main

main()
