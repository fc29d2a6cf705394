"""``python -m app`` is the ``mrd`` command."""

from app.cli import main

main()
