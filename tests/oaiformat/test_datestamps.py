"""format_utc writes any moment as the protocol's seconds form, in UTC; normalise reads what
origins send into it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from oaiformat.datestamps import format_utc, normalise, parse_strict

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


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_normalise_keeps_a_datestamp_in_the_seconds_form(moment: datetime) -> None:
    written = format_utc(moment.replace(tzinfo=UTC))
    assert normalise(written) == written
    # The same moment in a lenient form comes out the same.
    assert normalise(written[:-1] + "+00:00") == written


@pytest.mark.parametrize(
    "value",
    [
        "2021-02-29T00:00:00Z",  # not a leap year
        "2020-13-01T00:00:00Z",
        "2020-04-31T00:00:00Z",
        "2020-01-01T24:00:00Z",
        "2020-01-01T23:60:00Z",
        "2020-01-01T23:59:60Z",
        "0000-01-01T00:00:00Z",
        "2021-02-29",
    ],
)
def test_normalise_refuses_an_impossible_moment_in_any_form(value: str) -> None:
    with pytest.raises(ValueError):
        normalise(value)
