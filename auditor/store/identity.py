"""Is this database auditor's, of a schema this auditor knows, and undamaged?

Three questions a store answers before anything is written to it:

* **Identity** (`check_identity`, before the Alembic upgrade): an empty database becomes a store;
  a database holding auditor's `alembic_version` is one; anything else (another program's SQLite
  file, a database of another Alembic project) is refused with one line naming it, so auditor
  never writes its tables into someone else's data. A revision this auditor does not know means
  a newer auditor wrote the store (when auditor's tables are there) or another project did.
* **Schema** (`check_schema`, after the upgrade): every table and column the models declare is
  there; a table dropped behind auditor's back is damage, named, rather than an SQL error later.
* **Content** (`probe_damage`, SQLite only, before a pass writes): `PRAGMA quick_check` for
  damaged pages, then one scan per table for values the models cannot read back (a `taken_at`
  that is not a date, attributes that are not JSON, text in an integer column). PostgreSQL
  enforces column types and checks its own pages, so it needs neither.

Each failure is a `StoreDamagedError`, on which a pass stores nothing rather than build on it.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from auditor.errors import StoreDamagedError
from auditor.tables import UtcDateTime, metadata

__all__ = ["check_identity", "check_schema", "known_revisions", "probe_damage", "probe_pages", "probe_values"]

_VERSION_TABLE = "alembic_version"

SCHEMA_HEAD = "0006_finding_intervals"
"""The newest migration (tests/store/test_migrations.py holds it to Alembic's head). A store at this
revision opens without importing or running Alembic: a pass's start-up does not pay for it."""


def known_revisions() -> set[str]:
    """Every schema revision this auditor ships."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "auditor:migrations")
    script = ScriptDirectory.from_config(config)
    return {revision.revision for revision in script.walk_revisions()}


def _listing(names: set[str]) -> str:
    shown = sorted(names)[:5]
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return ", ".join(shown) + more


def check_identity(conn: Connection, where: str) -> None:
    """Refuse a database that is neither empty nor an auditor store this auditor can read."""
    tables = set(sa.inspect(conn).get_table_names())
    if not tables:
        return
    ours = set(metadata.tables)
    if _VERSION_TABLE not in tables:
        raise StoreDamagedError(
            f"{where}: not an auditor history store (it holds other tables: {_listing(tables)}); "
            "give auditor an empty database or a new file"
        )
    versions = stored_revisions(conn)
    unknown = versions - {SCHEMA_HEAD}
    if unknown:
        unknown -= known_revisions()
    if unknown:
        revision = _listing(unknown)
        if ours <= tables:
            raise StoreDamagedError(
                f"{where}: written by a newer auditor (schema revision {revision} is unknown to this "
                "version); upgrade auditor to read it"
            )
        raise StoreDamagedError(
            f"{where}: not an auditor history store (Alembic revision {revision} belongs to another "
            "program); give auditor an empty database or a new file"
        )
    if not versions and tables - {_VERSION_TABLE}:
        raise StoreDamagedError(
            f"{where}: not an auditor history store (empty {_VERSION_TABLE}, other tables: "
            f"{_listing(tables - {_VERSION_TABLE})})"
        )


def stored_revisions(conn: Connection) -> set[str]:
    """The revisions in the store's `alembic_version` (empty when it has none, or no such table)."""
    if _VERSION_TABLE not in sa.inspect(conn).get_table_names():
        return set()
    return {str(v) for v in conn.execute(sa.text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalars()}


def check_schema(conn: Connection, where: str) -> None:
    """Every table and column of the models is present (after the upgrade to head)."""
    inspector = sa.inspect(conn)
    present = set(inspector.get_table_names())
    for table in metadata.sorted_tables:
        if table.name not in present:
            raise StoreDamagedError(f"{where}: damaged: table {table.name} is missing")
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        missing = [column.name for column in table.columns if column.name not in columns]
        if missing:
            raise StoreDamagedError(f"{where}: damaged: table {table.name} lacks column {missing[0]}")


@cache
def _json_shapes() -> dict[tuple[str, str], str]:
    """(table, column) -> 'object' or 'array' for JSON columns, from the models' annotations."""
    shapes: dict[tuple[str, str], str] = {}
    for model in SQLModel.__subclasses__():
        table = getattr(model, "__tablename__", None)
        if not isinstance(table, str) or table not in metadata.tables:
            continue
        for name, hint in typing.get_type_hints(model).items():
            origin = typing.get_origin(hint)
            if origin is dict:
                shapes[(table, name)] = "object"
            elif origin is list:
                shapes[(table, name)] = "array"
    return shapes


def _bad_value(table: str, column: sa.Column[Any]) -> str | None:
    """An SQLite condition true for a value of `column` the models could not read back."""
    name = f'"{column.name}"'
    kind = column.type
    if isinstance(kind, sa.Boolean):
        test = f"typeof({name}) = 'integer' AND {name} IN (0, 1)"
    elif isinstance(kind, sa.Integer):
        test = f"typeof({name}) = 'integer'"
    elif isinstance(kind, sa.Float):
        test = f"typeof({name}) IN ('real', 'integer')"
    elif isinstance(kind, UtcDateTime | sa.DateTime):
        test = f"typeof({name}) = 'text' AND datetime({name}) IS NOT NULL"
    elif isinstance(kind, sa.Date):
        test = f"typeof({name}) = 'text' AND date({name}) IS NOT NULL"
    elif isinstance(kind, sa.JSON):
        test = f"typeof({name}) = 'text' AND json_valid({name})"
        shape = _json_shapes().get((table, column.name))
        if shape is not None:
            # What json_type() would say of valid JSON, without parsing it a second time: its
            # first character after JSON's white space (the probe reads every row of every pass).
            opening = "{" if shape == "object" else "["
            test += f" AND substr(ltrim({name}, ' ' || char(9, 10, 13)), 1, 1) = '{opening}'"
    elif isinstance(kind, sa.String | sa.Text):
        test = f"typeof({name}) = 'text'"
    else:
        return None
    if column.nullable:
        test = f"{name} IS NULL OR ({test})"
    return f"NOT ({test})"


def probe_damage(conn: Connection, where: str) -> None:
    """SQLite: damaged pages, or a value of any row that the store could not read back."""
    probe_pages(conn, where)
    probe_values(conn, where)


def probe_pages(conn: Connection, where: str) -> None:
    """SQLite: damaged pages (`PRAGMA quick_check`)."""
    problems = [str(row[0]) for row in conn.exec_driver_sql("PRAGMA quick_check(5)")]
    if problems != ["ok"]:
        raise StoreDamagedError(f"{where}: damaged: {problems[0]}")


def probe_values(conn: Connection, where: str) -> None:
    """SQLite: a value of any row that the store could not read back (one scan per table)."""
    for table in metadata.sorted_tables:
        checks = [(column.name, test) for column in table.columns if (test := _bad_value(table.name, column))]
        cases = ", ".join(f"CASE WHEN {test} THEN 1 ELSE 0 END" for _, test in checks)
        where_clause = " OR ".join(f"({test})" for _, test in checks)
        row = conn.exec_driver_sql(
            f'SELECT rowid, {cases} FROM "{table.name}" WHERE {where_clause} LIMIT 1'
        ).first()
        if row is not None:
            column = next(name for (name, _), bad in zip(checks, row[1:], strict=True) if bad)
            raise StoreDamagedError(
                f"{where}: damaged: {table.name} row {row[0]}: its {column} value cannot be read"
            )
