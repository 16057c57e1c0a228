"""Full-text search over the records (SQLite FTS5, kept in step by the works refresh)."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from store.tables import RECORDS, RECORDS_FTS, WORK_MEMBERS
from works.errors import BadQuery

_BAREWORD = re.compile(r"^[\w*]+$")
_OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR"})


def fts_query(text: str) -> str:
    """A user's query as FTS5 syntax: bare words and "phrases" as given, with AND/OR/NOT
    and prefix* kept; any other word is quoted, so punctuation (co-produced, O'Brien) is
    searched for, not parsed."""
    parts = re.findall(r'"[^"]*"|\S+', text)
    quoted = []
    for part in parts:
        if part.startswith('"') or part in _OPERATORS or _BAREWORD.match(part):
            quoted.append(part)
        else:
            quoted.append('"' + part.replace('"', '""') + '"')
    return " ".join(quoted)


def search(conn: sqlite3.Connection, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Live records matching the query, best first (FTS5 bm25, titles weighted highest).

    Raises BadQuery for a query FTS5 refuses.
    """
    if not query.strip():
        raise BadQuery("the search query is empty")
    try:
        rows = conn.execute(
            f"SELECT r.source, r.identifier, r.local_identifier, f.title, f.creators,"
            f" m.work_id, bm25({RECORDS_FTS}, 10.0, 5.0, 2.0, 1.0) AS rank"
            f" FROM {RECORDS_FTS} f JOIN {RECORDS} r ON r.id = f.rowid"
            f" LEFT JOIN {WORK_MEMBERS} m ON m.record_id = r.id"
            f" WHERE {RECORDS_FTS} MATCH ? AND r.deleted = 0 ORDER BY rank LIMIT ?",
            [fts_query(query), limit],
        ).fetchall()
    except sqlite3.OperationalError as exc:
        raise BadQuery(f"cannot search for {query!r}: {exc}") from exc
    return [
        {
            "source": str(source),
            "identifier": str(identifier),
            "local_identifier": str(local),
            "title": str(title),
            "creators": [c for c in str(creators).split("; ") if c],
            "work": None if work is None else int(work),
            "score": round(-float(rank), 4),
        }
        for source, identifier, local, title, creators, work, rank in rows
    ]
