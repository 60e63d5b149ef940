"""Alembic's environment: the register's open connection, inside the transaction its writer holds.

opsdoc.control.database calls Alembic with the connection in `config.attributes`; the migration
runs inside that caller's transaction (BEGIN IMMEDIATE, or PostgreSQL's advisory lock), so it is
committed with the caller's commit or not at all. SQLite's ALTER TABLE is limited: batch mode
lets a later revision change a column by copying the table.
"""

from alembic import context

from opsdoc.control.database import VERSION_TABLE, metadata

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=True,
)
context.run_migrations()
