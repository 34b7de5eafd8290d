"""Set-based writes: many rows in one statement.

On PostgreSQL each column travels as one array parameter and comes back as rows through unnest():
one short statement however many rows. Identifiers come from the model's metadata; every value is a
parameter, bound on the server in binary (Django's default cursor would spell every array into the
SQL text: measured five times slower for a chunk's thousand rows). The statements still go through
Django's connection and its cursor wrapper, so query logging, `execute_wrapper` and tests see them
like any other query. Elsewhere (SQLite in development) Django's bulk methods do the same work.
"""

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import Model


def _execute(sql: str, params: list) -> list[tuple]:
    connection.ensure_connection()
    wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
    with wrapper(psycopg.Cursor(connection.connection), connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _array_type(field) -> str:
    return f"{field.db_type(connection)}[]"


def update_rows(model: type[Model], objs: list[Model], fields: list[str]) -> None:
    """UPDATE many rows, each to its own values, in one statement. (Django's bulk_update writes a
    CASE per field with a branch per row, which PostgreSQL evaluates row by row.)"""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, fields)
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    sets = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    arrays = ", ".join(f"%b::{_array_type(f)}" for f in [meta.pk, *columns])
    names = ", ".join(["pk", *(quote(f.column) for f in columns)])
    params = [[obj.pk for obj in objs]]
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the thread-local proxy, for each value
    params += [[f.get_db_prep_save(getattr(obj, f.attname), db) for obj in objs] for f in columns]
    where = f"{table}.{quote(meta.pk.column)} = v.pk"
    _execute(f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS v({names}) WHERE {where}", params)  # noqa: S608


def insert_rows(model: type[Model], objs: list[Model]) -> None:
    """INSERT many model objects in one statement, and set each one's id."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    columns = [f for f in model._meta.concrete_fields if not f.primary_key]
    db = connections[DEFAULT_DB_ALIAS]
    rows = [[f.get_db_prep_save(f.pre_save(obj, add=True), db) for f in columns] for obj in objs]
    for obj, pk in zip(objs, insert_values(model, [f.attname for f in columns], rows), strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, connection.alias


def insert_values(model: type[Model], fields: list[str], rows: list[list]) -> list[int]:
    """INSERT rows of ready values (one list per row, in `fields` order); return their ids. The
    ids are drawn from the table's sequence first, so each row's id is known without relying on
    the order RETURNING gives."""
    if not rows:
        return []
    meta = model._meta
    if connection.vendor != "postgresql":
        objs = model.objects.bulk_create([model(**dict(zip(fields, row, strict=True))) for row in rows])
        return [obj.pk for obj in objs]
    pk = meta.pk
    sequence = "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)"
    ids = [row[0] for row in _execute(sequence, [meta.db_table, pk.column, len(rows)])]
    columns = [pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in columns)
    arrays = ", ".join(f"%b::{_array_type(f)}" for f in columns)
    params = [ids, *(list(values) for values in zip(*rows, strict=True))]
    _execute(f"INSERT INTO {quote(meta.db_table)} ({names}) SELECT * FROM unnest({arrays})", params)  # noqa: S608
    return ids
