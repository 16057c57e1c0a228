"""The incremental refresh: the records written since the last refresh re-derived, every
candidate group they were or are in recomputed whole, the works around them re-clustered,
and the authors rows moved by deltas."""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from store.batches import IDS, chunks, execute_in, placeholders, rows_in
from store.tables import WORK_MATCHES, WORK_MEMBERS, WORKS
from works import author_table
from works.ahead import Ahead
from works.clusters import (
    MemberRow,
    WorkRow,
    cluster,
    component_rows,
    conflict_links,
    insert_works,
    record_names,
)
from works.derive import (
    AuthorRow,
    derive_batch,
    live_rows,
    load_overrides,
    replace_derived,
    stored_features,
)
from works.features import Features
from works.key_table import fold_when_many, group_members
from works.pair_overrides import Decisions, load_decisions
from works.pairs import PAIRS, Previous, group_member_matches, replace_matches
from works.report import WorksReport
from works.rules import candidate_keys, key_hash


def _closure(
    conn: sqlite3.Connection, seeds: set[int], decisions: Decisions
) -> tuple[set[int], set[int]]:
    """The records connected to the seeds by matches or by their old works, and those old
    works: everything that must be re-clustered."""
    nodes: set[int] = set()
    old_works: set[int] = set()
    forced: dict[int, set[int]] = defaultdict(set)
    for a, b, _ in decisions.same:
        forced[a].add(b)
        forced[b].add(a)
    pending = set(seeds)
    while pending:
        batch = sorted(pending - nodes)
        pending = set()
        nodes.update(batch)
        for node in batch:
            pending.update(forced.get(node, ()))
        for chunk in chunks(batch):
            marks = placeholders(chunk)
            for (work_id,) in conn.execute(
                f"SELECT DISTINCT work_id FROM {WORK_MEMBERS} WHERE record_id IN ({marks})", chunk
            ):
                if work_id not in old_works:
                    old_works.add(int(work_id))
                    pending.update(
                        int(r)
                        for (r,) in conn.execute(
                            f"SELECT record_id FROM {WORK_MEMBERS} WHERE work_id = ?", [work_id]
                        )
                    )
            for a, b in conn.execute(
                f"SELECT record_a, record_b FROM {WORK_MATCHES}"
                f" WHERE record_a IN ({marks}) AND decision = 'same'"
                f" UNION SELECT record_a, record_b FROM {WORK_MATCHES}"
                f" WHERE record_b IN ({marks}) AND decision = 'same'",
                chunk + chunk,
            ):
                pending.update((int(a), int(b)))
        pending -= nodes
    return nodes, old_works


@dataclass
class _Region:
    """The records a refresh re-clustered, with their works before and after."""

    old_work: dict[int, int] = field(default_factory=dict)
    new_work: dict[int, int] = field(default_factory=dict)


def _recluster(
    conn: sqlite3.Connection,
    seeds: set[int],
    changed: set[int],
    written: set[int],
    now: str,
    report: WorksReport,
    region: _Region,
) -> list[int]:
    """Rebuild the works around the seeds; returns the records to relink: those whose work
    changed, and those written since the last refresh (their writes rendered them without
    links) that are in a work of two or more."""
    decisions = load_decisions(conn)
    nodes, old_works = _closure(conn, seeds, decisions)
    node_list = sorted(nodes)
    old_members: set[MemberRow] = set(
        rows_in(
            conn,
            f"SELECT record_id, work_id, matched_record_id, evidence FROM {WORK_MEMBERS}"
            f" WHERE record_id IN ({IDS})",
            node_list,
        )
    )
    old_rows = {
        int(row[0]): WorkRow(*row)
        for row in rows_in(
            conn,
            f"SELECT id, representative_id, year, members, signature, updated_at FROM {WORKS}"
            f" WHERE id IN ({IDS})",
            sorted(old_works),
        )
    }
    region.old_work = {record: work for record, work, _, _ in old_members}
    features = {f.record_id: f for f in stored_features(conn, node_list)}
    pairs = rows_in(
        conn, f"{PAIRS} AND record_a IN ({IDS}) GROUP BY record_a, record_b", sorted(features)
    )
    forced = [edge for edge in decisions.same if edge[0] in features and edge[1] in features]
    links = conflict_links(features, decisions.different, decisions.same_pairs)
    names = record_names(conn, features)
    clusters, edges = cluster([*pairs, *forced], features, links, names)
    works, members = component_rows(clusters.components(), features, edges, now)
    region.new_work = {record: work for record, work, _, _ in members}
    # Most works around a change come out as they were (1M, 1% changed: 4,417 of 10,531,
    # and 12,023 of 15,228 member rows): those stay, with their updated_at. A work's title
    # comes from its representative, so a work represented by a changed record is rebuilt.
    kept = {
        w.id
        for w in works
        if (old := old_rows.get(w.id)) is not None
        and old.built_alike(w)
        and w.representative_id not in changed
    }
    execute_in(conn, f"DELETE FROM {WORKS} WHERE id IN ({IDS})", sorted(old_works - kept))
    new_members = set(members)
    execute_in(
        conn,
        f"DELETE FROM {WORK_MEMBERS} WHERE record_id IN ({IDS})",
        sorted(record for record, _, _, _ in old_members - new_members),
    )
    rebuilt = [w for w in works if w.id not in kept]
    insert_works(conn, rebuilt, sorted(new_members - old_members))
    report.works += len(rebuilt)
    before = _signatures(old_members, old_rows.values())
    after = _signatures(new_members, works)
    return sorted(
        r for r in nodes if before.get(r) != after.get(r) or (r in written and r in after)
    )


def _signatures(members: Iterable[MemberRow], works: Iterable[WorkRow]) -> dict[int, str]:
    """Record -> the member list of its work, for records in works of two or more."""
    joined = {w.id: w.signature for w in works if w.members > 1}
    return {record: joined[work] for record, work, _, _ in members if work in joined}


def refresh_changed(
    conn: sqlite3.Connection,
    changed: list[int],
    written: set[int],
    now: str,
    report: WorksReport,
    ahead: Mapping[int, Ahead],
    ready: set[int],
) -> list[int]:
    """Refresh the works around the changed records. Those in `ready` were derived ahead by
    a harvest's pages and are not derived again; `ahead` gives the state at the last works
    update of every record derived ahead (their derived rows have moved on since)."""
    overrides = load_overrides(conn)
    fold_when_many(conn)
    stale = [r for r in changed if r not in ready]
    # What the last works update left: the stored rows, or for a record derived ahead
    # since, what derived_ahead kept of them.
    old_rows = author_table.creator_rows(conn, [r for r in changed if r not in ahead])
    derived = derive_batch(live_rows(conn, stale), overrides)
    old_features = [f for f in replace_derived(conn, stale, derived) if f.record_id not in ahead]
    for record_id in changed:
        if (was := ahead.get(record_id)) is not None:
            old_rows += [(record_id, key, name) for key, name in was.old_creators]
            if was.old_features is not None:
                old_features.append(was.old_features)
    by_group: dict[int, list[Features]] = defaultdict(list)
    for feature in old_features:
        for group_key in {key_hash(k) for k in candidate_keys(feature)}:
            by_group[group_key].append(feature)
    previous = Previous(set(changed), by_group)
    report.records = len(changed)
    groups = set(by_group) | set(derived.key_groups)
    for feature in stored_features(conn, sorted(ready)):
        groups.update(key_hash(k) for k in candidate_keys(feature))
    seeds = set(changed)
    read: dict[int, Features] = {}
    for chunk in chunks(sorted(groups)):
        marks = placeholders(chunk)
        stored = conn.execute(
            f"SELECT group_key, record_a, record_b, decision, evidence FROM {WORK_MATCHES}"
            f" WHERE group_key IN ({marks})",
            chunk,
        ).fetchall()
        for group_key, a, b, decision, evidence in stored:
            seeds.update((a, b))
            previous.known[(group_key, a, b)] = (decision, evidence)
        found = list(group_member_matches(_members(conn, chunk, read), report, previous))
        replace_matches(conn, stored, found)
        seeds.update(x for row in found for x in row[1:3])
    region = _Region()
    relinks = _recluster(conn, seeds, set(changed), written, now, report, region)
    authors = map(AuthorRow._make, derived.authors)
    new_rows = [(a.record_id, a.key, a.name) for a in authors if a.role == "creator"]
    new_rows += author_table.creator_rows(conn, sorted(ready))
    author_table.apply_changes(conn, _author_changes(conn, old_rows, new_rows, region))
    return relinks


# Members read for the groups of a refresh, kept while fewer than this: a record is in
# several of the groups a change touches (100k records, 970 changed: 18,470 member rows
# of 4,721 records).
_KEPT_MEMBERS = 50_000


def _members(
    conn: sqlite3.Connection, group_keys: list[int], read: dict[int, Features]
) -> list[tuple[int, Features]]:
    """The members of these groups as (group key, features) in key order: the keys from
    the key index alone, then each record's features read once (in record order) for the
    groups of the whole refresh (`read` keeps them)."""
    keys = group_members(conn, group_keys)
    # A group of one has no pairs (at 1M, 58,206 of the 82,178 groups a 1% change touches).
    sizes = Counter(g for g, _ in keys)
    if len(read) > _KEPT_MEMBERS:
        read.clear()
    missing = sorted({r for g, r in keys if r not in read and sizes[g] > 1})
    read.update((f.record_id, f) for f in stored_features(conn, missing))
    # Both columns are INTEGER NOT NULL; a member without features is no longer live.
    return [(g, read[r]) for g, r in keys if sizes[g] > 1 and r in read]


def _author_changes(
    conn: sqlite3.Connection,
    old_rows: list[tuple[int, str, str]],
    new_rows: list[tuple[int, str, str]],
    region: _Region,
) -> author_table.AuthorChanges:
    """How the changed records' creators and the re-clustered works change each key's
    counts. Works outside the region are untouched, so a key's work count moves by the
    (key, work) pairs the region had before and has after."""
    changes = author_table.AuthorChanges()
    old_pairs = {(r, k) for r, k, _ in old_rows}
    new_pairs = {(r, k) for r, k, _ in new_rows}
    changes.records.update(k for _, k in new_pairs - old_pairs)
    changes.records.subtract(k for _, k in old_pairs - new_pairs)
    changes.forms.update((k, n) for _, k, n in new_rows)
    changes.forms.subtract((k, n) for _, k, n in old_rows)
    changed = {r for r, _, _ in old_rows} | {r for r, _, _ in new_rows}
    others = [r for r in set(region.old_work) | set(region.new_work) if r not in changed]
    other_pairs = {(r, k) for r, k, _ in author_table.creator_rows(conn, others)}
    before = {(k, region.old_work[r]) for r, k in old_pairs | other_pairs if r in region.old_work}
    after = {(k, region.new_work[r]) for r, k in new_pairs | other_pairs if r in region.new_work}
    changes.works.update(k for k, _ in after - before)
    changes.works.subtract(k for k, _ in before - after)
    return changes
