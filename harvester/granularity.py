"""Datestamps in a repository's granularity: the from/until a harvest sends."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from oaiformat.datestamps import format_utc, normalise

# Seconds the next incremental list reaches back before this one's responseDate.
OVERLAP_SECONDS = 60
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def in_granularity(stamp: str, granularity: str) -> str:
    """Write a UTC datestamp in the repository's granularity (day: the date part)."""
    normalised = normalise(stamp)
    return normalised[:10] if granularity == "YYYY-MM-DD" else normalised


def until_in_granularity(stamp: str, granularity: str) -> str:
    """Write an `until` in the repository's granularity; a day means all of that day."""
    bound = in_granularity(stamp, granularity)
    if granularity != "YYYY-MM-DD" and _DAY.fullmatch(stamp.strip()):
        # `until` is inclusive (protocol §3.3.1): as midnight, a day given to a repository
        # counting seconds would leave out everything stamped later that day.
        return f"{bound[:10]}T23:59:59Z"
    return bound


def next_from_date(response_date: str, granularity: str) -> str:
    """The `from` of the next incremental list: the responseDate of this one's first page,
    less an overlap that absorbs clock and transaction skew at the server (harvester
    guidelines §3): the whole day at day granularity, OVERLAP_SECONDS at seconds."""
    if granularity == "YYYY-MM-DD":
        return in_granularity(response_date, granularity)
    moment = datetime.fromisoformat(normalise(response_date).replace("Z", "+00:00"))
    return format_utc(moment - timedelta(seconds=OVERLAP_SECONDS))
