"""Calendar files open in every calendar: RFC 5545 as parsed by the `icalendar` library,
with long lines folded, text escaped, and repeating events as one series whose local time
survives daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from dateutil.rrule import rrulestr

from db.models import Event, EventStatus
from handlers.events.listing import ics, occurrences

BERLIN = ZoneInfo("Europe/Berlin")


def event(**fields: object) -> Event:
    values: dict[str, object] = {
        "id": 7,
        "title": {"de": "Nähcafé; für alle, mit Kaffee\\Tee"},
        "description": {"de": "Zeile eins\nZeile zwei " + "lang " * 40},
        "starts_at": datetime(2027, 3, 16, 17, 0, tzinfo=UTC),  # Tue 18:00 in Berlin (CET)
        "ends_at": datetime(2027, 3, 16, 19, 0, tzinfo=UTC),
        "timezone": "Europe/Berlin",
        "place": "Lindenweg 4",
        "district": "Südstadt",
        "online_url": "",
        "repeat": "none",
        "repeat_until": None,
        "status": EventStatus.PUBLISHED,
        "updated_at": datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
    }
    values.update(fields)
    return Event(**values)


def parsed(data: bytes) -> icalendar.Event:
    for line in data.split(b"\r\n"):
        assert len(line) <= 75, line  # folded at 75 octets
    calendar = icalendar.Calendar.from_ical(data)
    [entry] = calendar.walk("VEVENT")
    return entry


def test_a_one_off_event_in_utc_with_its_text_escaped_and_folded() -> None:
    one = event()
    entry = parsed(ics(one, one.starts_at))
    assert str(entry["SUMMARY"]) == "Nähcafé; für alle, mit Kaffee\\Tee"
    assert str(entry["DESCRIPTION"]).startswith("Zeile eins\nZeile zwei lang")
    assert str(entry["LOCATION"]) == "Lindenweg 4, Südstadt"
    assert entry.decoded("DTSTART") == datetime(2027, 3, 16, 17, 0, tzinfo=UTC)
    assert entry.decoded("DTEND") == datetime(2027, 3, 16, 19, 0, tzinfo=UTC)
    assert "RRULE" not in entry


def test_a_weekly_event_is_one_series_that_keeps_its_local_time_across_the_clock_change() -> None:
    weekly = event(repeat="weekly", repeat_until=datetime(2027, 4, 30, tzinfo=UTC))
    data = ics(weekly, weekly.starts_at)
    entry = parsed(data)
    assert b"BEGIN:VTIMEZONE" in data and b"TZID:Europe/Berlin" in data
    start = entry.decoded("DTSTART")
    assert start == datetime(2027, 3, 16, 18, 0, tzinfo=BERLIN)
    rule = rrulestr(entry["RRULE"].to_ical().decode(), dtstart=start)
    expected = occurrences(weekly, weekly.starts_at, weekly.starts_at + timedelta(days=400))
    assert [moment.astimezone(UTC) for moment in rule] == expected
    # after the change to summer time (28 March 2027) it is still 18:00 in Berlin
    assert all(moment.astimezone(BERLIN).hour == 18 for moment in rule)


def test_a_monthly_event_on_the_31st_falls_on_the_last_day_of_shorter_months() -> None:
    monthly = event(
        starts_at=datetime(2027, 1, 31, 17, 0, tzinfo=UTC),
        ends_at=datetime(2027, 1, 31, 18, 0, tzinfo=UTC),
        repeat="monthly",
        repeat_until=datetime(2027, 6, 1, tzinfo=UTC),
    )
    entry = parsed(ics(monthly, monthly.starts_at))
    rule = rrulestr(entry["RRULE"].to_ical().decode(), dtstart=entry.decoded("DTSTART"))
    expected = occurrences(monthly, monthly.starts_at, monthly.starts_at + timedelta(days=400))
    assert [moment.astimezone(UTC) for moment in rule] == expected
    assert [m.astimezone(BERLIN).day for m in rule] == [31, 28, 31, 30, 31]


def test_a_cancelled_event_says_so() -> None:
    cancelled = event(status=EventStatus.CANCELLED)
    assert str(parsed(ics(cancelled, cancelled.starts_at))["STATUS"]) == "CANCELLED"
