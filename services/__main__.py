"""`python -m services` is the `fluxus` command."""

from services.cli import main

main()
