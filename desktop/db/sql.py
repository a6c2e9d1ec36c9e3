"""Text SQL with list parameters.

`sql("... WHERE grid_id IN :grids", "grids")` is ``text()`` whose ``:grids`` takes a list (an
expanding bind parameter): SQLAlchemy writes one placeholder per item when the statement runs,
and an empty list gives a condition that matches nothing. No caller builds ``IN (:k0, :k1…)``
by hand.
"""

from __future__ import annotations

from sqlalchemy import TextClause, bindparam, text


def sql(statement: str, *expanding: str) -> TextClause:
    """``text(statement)`` with the named parameters bound as lists."""
    return text(statement).bindparams(*(bindparam(name, expanding=True) for name in expanding))
