"""Alembic's migrations of the register (opsdoc.control.database runs them; `alembic` is not needed on the command line)."""
