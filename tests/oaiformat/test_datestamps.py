"""format_utc writes any moment as the protocol's seconds form, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import example, given
from hypothesis import strategies as st

from oaiformat.datestamps import format_utc, parse_strict

OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
MOMENTS = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC) | OFFSETS
)


@given(MOMENTS)
@example(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC))
def test_format_utc_writes_the_moment_in_utc_to_the_second(moment: datetime) -> None:
    written = format_utc(moment)
    assert len(written) == 20  # YYYY-MM-DDThh:mm:ssZ, the year zero-padded
    parsed, is_day = parse_strict(written)
    assert not is_day
    assert parsed == moment.replace(microsecond=0)  # the same instant, whatever the offset
