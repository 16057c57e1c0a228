"""UTC datestamps: the protocol's two forms, and lenient normalisation of what origins send."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

SECONDS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DAY_FORMAT = "%Y-%m-%d"

# re.ASCII: \d would also take other scripts' digits, which the XSD's date types refuse.
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", re.ASCII)
# What real repositories send besides the two legal forms: fractions, offsets, a space
# instead of 'T', a missing 'Z' (seen in the scrapi and hepcrawl captures).
_LENIENT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?)?$",
    re.ASCII,
)


# What reads the time: passed in wherever a time is needed later than the call (a page
# stamped when it is written, a refresh stamped when it ends), so tests can fix it.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def format_utc(moment: datetime) -> str:
    """Return `moment` as YYYY-MM-DDThh:mm:ssZ (seconds, UTC)."""
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    # Not strftime("%Y"): it writes year 999 as "999", which then sorts wrongly against
    # stored datestamps compared as text. (%-formatting is also three times faster, and
    # the provider writes two of these a page.)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (  # noqa: UP031
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
    )


def parse_strict(value: str) -> tuple[datetime, bool]:
    """Parse one of the protocol's two forms.

    Returns (the UTC moment, True when the value had day granularity).
    Raises ValueError for anything else, impossible dates included.
    """
    if _DAY.fullmatch(value):
        return datetime.strptime(value, DAY_FORMAT).replace(tzinfo=UTC), True
    if _SECONDS.fullmatch(value):
        return datetime.strptime(value, SECONDS_FORMAT).replace(tzinfo=UTC), False
    raise ValueError(f"not a UTC datestamp (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ): {value!r}")


@functools.lru_cache(maxsize=4096)
def normalise(value: str) -> str:
    """Return an origin's datestamp as YYYY-MM-DDThh:mm:ssZ, or raise ValueError.

    Day values become midnight UTC; offsets are applied; fractions are dropped. Cached: a
    harvest reads each datestamp twice (page check, then store), and lists repeat them.
    """
    if _SECONDS.fullmatch(value):
        # The protocol's own form (nearly every datestamp a harvest reads): only checked
        # for an impossible date, and returned as it is.
        datetime(  # raises ValueError for impossible dates
            int(value[:4]),
            int(value[5:7]),
            int(value[8:10]),
            int(value[11:13]),
            int(value[14:16]),
            int(value[17:19]),
        )
        return value
    match = _LENIENT.match(value.strip())
    if not match:
        raise ValueError(f"unreadable datestamp: {value!r}")
    year, month, day, hour, minute, second, zone = match.groups()
    moment = datetime(  # raises ValueError for impossible dates
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
    )
    offset = timedelta(0)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    try:
        return format_utc((moment - offset).replace(tzinfo=UTC))
    except OverflowError as exc:
        raise ValueError(f"datestamp out of range: {value!r}") from exc


def day_start(day: date) -> str:
    """Return the first second of a UTC day."""
    return f"{day.isoformat()}T00:00:00Z"
