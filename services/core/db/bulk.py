"""Many rows into one table in one statement, cheaply: on PostgreSQL an INSERT … SELECT FROM
unnest() of one array per column, elsewhere (SQLite in development) SQLAlchemy's executemany.

Why: a renewal batch writes hundreds of orders, audit rows and e-mail rows. SQLAlchemy's
executemany renders a multi-row VALUES and processes every parameter of every row in Python;
one array per column is one parameter each, and PostgreSQL does the per-row work. The rows
are the same either way: each column's Python-side default fills what a row leaves out and
each value goes through its column type's own bind processing (JSON, UTC timestamps, sealed
columns), so the fallback and the fast path store identical data.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Table, inspect, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from services.core.db.upsert import insert_for


def insert_rows(
    session: Session,
    model: Any,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Sequence[str] = (),
    returning: str | None = None,
) -> list[Any]:
    """Insert `rows` (dicts of column keys) into `model`'s table in the session's transaction.

    `conflict`: the columns of a unique constraint; a row that would break it is skipped
    (ON CONFLICT DO NOTHING). `returning`: a column whose values for the rows actually
    inserted are returned (in no particular order); without it, an empty list.
    """
    if not rows:
        return []
    columns = _columns_written(model, rows)
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        return _executemany(session, model, rows, conflict, returning)
    table: Table = model.__table__
    params: dict[str, list[Any]] = {}
    for index, (key, column) in enumerate(columns):
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        values = [_value(key, column, row) for row in rows]
        if process is not None:  # as SQLAlchemy does: None too (JSON stores it as null)
            values = [process(v) for v in values]
        params[f"c{index}"] = [str(v) if isinstance(v, uuid.UUID) else v for v in values]
    arrays = ", ".join(
        f"CAST(:c{index} AS {_array_type(column, dialect)})"
        for index, (_key, column) in enumerate(columns)
    )
    names = ", ".join(dialect.identifier_preparer.quote(c.name) for _key, c in columns)
    target = dialect.identifier_preparer.format_table(table)
    sql = f"INSERT INTO {target} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608 - names from the model
    if conflict:
        keys = ", ".join(dialect.identifier_preparer.quote(_column(model, k).name)
                         for k in conflict)
        sql += f" ON CONFLICT ({keys}) DO NOTHING"
    if returning is None:
        session.execute(text(sql), params)
        return []
    column = _column(model, returning)
    sql += f" RETURNING {dialect.identifier_preparer.quote(column.name)}"
    result = session.execute(text(sql).columns(column), params)
    return list(result.scalars())


def _column(model: Any, key: str) -> Column[Any]:
    """The column behind a mapped attribute (`AuditLog.meta` is the column "metadata")."""
    column: Column[Any] = inspect(model).columns[key]
    return column


def _columns_written(model: Any, rows: Sequence[dict[str, Any]]) -> list[tuple[str, Column[Any]]]:
    """(attribute, column) for the columns any row names, plus those with a Python-side
    default (the database does not know it: a row leaving one out would store NULL)."""
    named = set().union(*(row.keys() for row in rows))
    mapped = inspect(model).columns
    if unknown := named - set(mapped.keys()):
        raise ValueError(f"{model.__name__} has no column {sorted(unknown)}")
    return [(key, column) for key, column in mapped.items()
            if key in named or column.default is not None]


def _value(key: str, column: Column[Any], row: dict[str, Any]) -> Any:
    if key in row:
        return row[key]
    default = column.default
    if default is None:
        return None
    if default.is_callable:  # type: ignore[attr-defined]
        return default.arg(None)  # type: ignore[attr-defined]  # SQLAlchemy wraps it to take a context
    return default.arg  # type: ignore[attr-defined]


def _array_type(column: Column[Any], dialect: Dialect) -> str:
    return f"{column.type.dialect_impl(dialect).compile(dialect=dialect)}[]"


def _executemany(
    session: Session,
    model: Any,
    rows: Sequence[dict[str, Any]],
    conflict: Sequence[str],
    returning: str | None,
) -> list[Any]:
    statement = insert_for(session)(model)
    if conflict:
        statement = statement.on_conflict_do_nothing(
            index_elements=[getattr(model, key) for key in conflict])
    if returning is None:
        session.execute(statement, list(rows))
        return []
    return list(session.scalars(statement.returning(getattr(model, returning)), list(rows)))
