"""The ``iml4e`` command line: thin Typer commands over the rooms' Python APIs."""
