"""Subcommands of the ``dfer`` command line, one module each (see :mod:`handcrafted_dfer.cli`)."""
