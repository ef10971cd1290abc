"""A direct statement's positional arguments are those SQLAlchemy itself would bind: the same values, from the same
sources (the caller's keys, the statement's own values and defaults), processed by the same column types, and a
missing value refused as SQLAlchemy refuses it. Checked on made-up statements of every shape and on every direct
statement the gateway runs."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Integer, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.exc import InvalidRequestError

import gateway
from gateway.store.direct import Direct, _Compiled
from gateway.store.tables import outbox as ot
from gateway.store.tables import payments as pt

DIALECT = asyncpg.dialect()
CONN: Any = SimpleNamespace(dialect=DIALECT)
P = pt.payments.c
WHEN = datetime(2026, 12, 5, 8, 30, tzinfo=UTC)
counter = iter(range(10**6))


def sqlalchemys(statement: Any, values: dict[str, Any]) -> list[Any]:
    """The arguments as SQLAlchemy's compiled statement builds them on every execution."""
    compiled = statement.compile(dialect=DIALECT, column_keys=list(values))
    params = compiled.construct_params(values)  # by each parameter's escaped name
    escaped = compiled.escaped_bind_names or {}
    arguments = []
    for name in compiled.positiontup:
        process = compiled.binds[name].type.dialect_impl(DIALECT).bind_processor(DIALECT)
        value = params[escaped.get(name, name)]
        arguments.append(value if process is None else process(value))
    return arguments


CASES: list[tuple[str, Any, dict[str, Any]]] = [
    (
        "an update with values by column, custom parameters and literals in its WHERE",
        update(pt.payments).where(P.id == bindparam("b_id"), P.status == "pending"),
        {"status": "paid", "updated_at": WHEN, "b_id": "pay_1"},
    ),
    ("an insert of a table's columns", ot.outbox.insert(), {"id": "evt_1", "payload": {"a": [1, "đồng"]}}),
    (
        "a select with a literal limit and a typed parameter",
        select(P.id).where(P.created_at <= bindparam("before", type_=P.created_at.type)).limit(5),
        {"before": WHEN},
    ),
    (
        "text with typed parameters",
        text("SELECT :a + :b").bindparams(bindparam("a", type_=Integer()), bindparam("b", type_=Integer())),
        {"a": 1, "b": 2},
    ),
    (
        "a parameter given by the caller over the statement's own value",
        select(P.id).where(P.status == bindparam("status", value="pending")),
        {"status": "paid"},
    ),
    (
        "a parameter the statement holds, by .params()",
        select(P.id).where(P.status == bindparam("status")).params(status="expired"),
        {},
    ),
    (
        "a default computed on each run",
        select(P.id).where(P.amount == bindparam("n", callable_=lambda: next(counter), type_=Integer())),
        {},
    ),
    ("a name SQLAlchemy escapes", select(P.id).where(P.amount == bindparam("q.r", type_=Integer())), {"q.r": 5}),
]


@pytest.mark.parametrize(("statement", "values"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_arguments_are_sqlalchemys(statement: Any, values: dict[str, Any]) -> None:
    compiled = _Compiled(statement, CONN, tuple(values))
    assert compiled.order, "a statement with parameters"
    mine, theirs = compiled.arguments(values), sqlalchemys(statement, values)
    if any(bound.callable for bound in compiled.compiled.bind_names):  # each run calls it: the next number
        assert len(mine) == len(theirs) == 1 and theirs[0] == mine[0] + 1
        return
    assert mine == theirs


def test_a_value_the_statement_needs_is_refused_as_sqlalchemy_refuses_it() -> None:
    statement = update(pt.payments).where(P.id == bindparam("b_id"))
    with pytest.raises(InvalidRequestError, match="b_id"):
        sqlalchemys(statement, {"status": "paid"})
    with pytest.raises(InvalidRequestError, match="b_id"):
        _Compiled(statement, CONN, ("status",))


def _directs() -> list[tuple[str, Direct]]:
    found = []
    for module in pkgutil.walk_packages(gateway.__path__, "gateway."):
        if module.name.endswith("__main__"):
            continue
        loaded = importlib.import_module(module.name)
        found += [(f"{module.name}.{name}", v) for name, v in vars(loaded).items() if isinstance(v, Direct)]
    return found


DIRECTS = _directs()


def _value_for(bound: Any) -> Any:
    try:
        kind = getattr(bound.type, "impl", bound.type).python_type  # a decorated type: what it stores
    except NotImplementedError:  # a parameter of no type SQLAlchemy knows (text without bindparams)
        kind = None
    samples = {int: 7, str: "x", datetime: WHEN, bool: True, dict: {"k": 1}, list: []}
    return samples.get(kind, "x")


def test_every_direct_statement_of_the_gateway_is_checked() -> None:
    assert len(DIRECTS) >= 15, [name for name, _ in DIRECTS]


@pytest.mark.parametrize("direct", [d for _, d in DIRECTS], ids=[n for n, _ in DIRECTS])
def test_each_direct_statement_binds_as_sqlalchemy(direct: Direct) -> None:
    statement = direct.statement
    compiled = statement.compile(dialect=DIALECT)
    needed = {bound.key: _value_for(bound) for bound in compiled.bind_names if bound.required}
    assert _Compiled(statement, CONN, tuple(needed)).arguments(needed) == sqlalchemys(statement, needed)
