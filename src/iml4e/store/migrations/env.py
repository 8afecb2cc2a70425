"""Alembic environment for iml4e's own tables.

Run through :func:`iml4e.store.migrate.upgrade_schema`, which hands over an open connection.
Only ``iml4e_*`` tables are considered, so MLflow's tables in the same database are invisible
to autogenerate and never altered.
"""

from alembic import context

from iml4e.store.models import TABLE_PREFIX, VERSION_TABLE, Base


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table":
        return str(name).startswith(TABLE_PREFIX)
    return True


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
