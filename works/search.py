"""Full-text search over the records (SQLite FTS5, kept in step by the works refresh)."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from store.meta import read_meta, write_meta
from store.tables import RECORDS, RECORDS_FTS, WORK_MEMBERS
from works.errors import BadQuery
from works.names import CJK_RUN, has_cjk

_BAREWORD = re.compile(r"^[\w*]+$")
_OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR"})
# `column:term` in a query: the FTS5 column it searches.
_COLUMNS = {
    "title": "title",
    "creator": "creators",
    "creators": "creators",
    "author": "creators",
    "subject": "subjects",
    "subjects": "subjects",
    "description": "description",
}
_FILTERED = re.compile(r"^(\w+):(.+)$")
_WORD = re.compile(r"\w+")
# CJK text has no spaces between words and FTS5's unicode61 tokenizer takes a whole run as
# one word, so a search for part of a Japanese title would find nothing. Each run is also
# indexed as its overlapping bigrams and its last character, after this separator (which the
# tokenizer skips and the display cuts off); a query's run is searched as the phrase of its
# bigrams, and a single character as a prefix.
EXPANSION = "\u2063"
# Kept in store_meta: stores indexed before the bigrams are brought up to date once.
SEARCH_VERSION_KEY = "search_version"
SEARCH_VERSION = "2"


def index_text(text: str) -> str:
    """`text` as the search index holds it: CJK runs followed by their bigrams."""
    if not has_cjk(text):
        return text
    grams: list[str] = []
    for word in _WORD.findall(text):
        runs = CJK_RUN.findall(word)
        for run in runs:
            grams += _bigrams(run)
            grams.append(run[-1])
        if runs:
            # "iPS細胞" is one word to the tokenizer: "iPS" is indexed on its own too.
            grams += [piece for piece in CJK_RUN.split(word) if piece]
    return f"{text} {EXPANSION} {' '.join(grams)}" if grams else text


def _bigrams(run: str) -> list[str]:
    """The overlapping two-character pieces of a CJK run, in order."""
    return [run[i : i + 2] for i in range(len(run) - 1)]


def shown_text(indexed: str) -> str:
    """The text as it was given to index_text()."""
    return indexed.split(f" {EXPANSION} ", 1)[0]


def _cjk_term(term: str) -> str:
    """A query word holding CJK characters: each run as the phrase of its bigrams (one
    character as a prefix), the rest quoted ("細胞*" keeps its prefix star); all of them
    required."""
    terms: list[str] = []
    position = 0
    for match in CJK_RUN.finditer(term):
        _add_rest(terms, term[position : match.start()])
        run = match.group()
        terms.append(f"{run}*" if len(run) == 1 else '"' + " ".join(_bigrams(run)) + '"')
        position = match.end()
    _add_rest(terms, term[position:])
    return terms[0] if len(terms) == 1 else "(" + " AND ".join(terms) + ")"


def _add_rest(terms: list[str], text: str) -> None:
    """Text around a query word's CJK runs: quoted, except a star after a run, which makes
    the run a prefix."""
    if not text.strip():
        return
    if text == "*" and terms and not terms[-1].endswith("*"):
        terms[-1] += "*"
    else:
        terms.append(_quoted(text))


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _term(term: str) -> str:
    if term.startswith('"') or term in _OPERATORS:
        return term
    if has_cjk(term):
        return _cjk_term(term)
    return term if _BAREWORD.match(term) else _quoted(term)


def fts_query(text: str) -> str:
    """A user's query as FTS5 syntax: bare words and "phrases" as given, with AND/OR/NOT
    and prefix* kept; `title:word` (title, creator/author, subject, description) searches
    one field; CJK runs match inside longer runs; any other word is quoted, so punctuation
    (co-produced, O'Brien) is searched for, not parsed."""
    quoted = []
    for part in re.findall(r'\w+:"[^"]*"|"[^"]*"|\S+', text):
        filtered = _FILTERED.match(part)
        if filtered and filtered.group(1).lower() in _COLUMNS:
            column = _COLUMNS[filtered.group(1).lower()]
            quoted.append(f"{column} : {_term(filtered.group(2))}")
        else:
            quoted.append(_term(part))
    return " ".join(quoted)


def upgrade_index(conn: sqlite3.Connection) -> int:
    """Index the CJK runs of a store searched before the bigrams (once; inside the caller's
    write transaction). Returns the rows rewritten."""
    if read_meta(conn, SEARCH_VERSION_KEY) == SEARCH_VERSION:
        return 0
    rewritten = [
        (*(index_text(shown_text(str(v or ""))) for v in values), rowid)
        for rowid, *values in conn.execute(
            f"SELECT rowid, title, creators, subjects, description FROM {RECORDS_FTS}"
        )
        if any(v and has_cjk(str(v)) for v in values)
    ]
    conn.executemany(
        f"UPDATE {RECORDS_FTS} SET title = ?, creators = ?, subjects = ?, description = ?"
        " WHERE rowid = ?",
        rewritten,
    )
    write_meta(conn, SEARCH_VERSION_KEY, SEARCH_VERSION)
    return len(rewritten)


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
            "title": shown_text(str(title)),
            "creators": [c for c in shown_text(str(creators)).split("; ") if c],
            "work": None if work is None else int(work),
            "score": round(-float(rank), 4),
        }
        for source, identifier, local, title, creators, work, rank in rows
    ]
