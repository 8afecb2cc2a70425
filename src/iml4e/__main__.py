"""``python -m iml4e`` is the ``iml4e`` command."""

from iml4e.cli.main import main

main()
