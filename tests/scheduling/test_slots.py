"""Slot expansion over HTTP: DST-correct UTC instants, minus bookings, buffers, busy blocks and limits."""
from datetime import date, datetime, timedelta

from app.extensions import db
from app.scheduling.models import AvailabilityOverride
from app.scheduling.slots import Policy, candidate_slots
from tests.conftest import assert_error
from tests.factories import BookingFactory, BusyBlockFactory, UserFactory
from tests.scheduling.conftest import iso, make_tutor, utc


def slots(client, auth, user, tutor_id, start, end, duration=None):
    query = {"start": iso(start), "end": iso(end)}
    if duration:
        query["duration"] = duration
    return client.get(f"/api/v1/tutors/{tutor_id}/slots", query_string=query, headers=auth.headers(user))


def starts(response):
    assert response.status_code == 200, response.get_json()
    return [slot["start"].replace("+00:00", "Z") for slot in response.get_json()["slots"]]


def test_march_dst_change_shifts_utc_instants(client, auth, freeze):
    freeze(utc(2026, 3, 1))
    tutor = make_tutor(session_lengths=[60], slot_interval_minutes=60)
    viewer = UserFactory(timezone="Asia/Tokyo")
    response = slots(client, auth, viewer, tutor.id, utc(2026, 3, 6), utc(2026, 3, 10), 60)
    body = response.get_json()
    assert body["timezone"] == "America/New_York" and body["duration"] == 60
    got = starts(response)
    # Friday 6 March (EST, UTC-5): 09:00-16:00 local starts = 14:00Z-21:00Z.
    friday = [s for s in got if s.startswith("2026-03-06")]
    assert friday == [f"2026-03-06T{hour:02d}:00:00Z" for hour in range(14, 22)]
    # Monday 9 March (EDT, UTC-4 since Sunday 8 March): 13:00Z-20:00Z.
    monday = [s for s in got if s.startswith("2026-03-09")]
    assert monday == [f"2026-03-09T{hour:02d}:00:00Z" for hour in range(13, 21)]
    for slot in body["slots"]:
        assert datetime.fromisoformat(slot["end"]) - datetime.fromisoformat(slot["start"]) == timedelta(hours=1)
    assert not [s for s in got if s.startswith(("2026-03-07", "2026-03-08"))]


def test_november_dst_change_shifts_utc_instants(client, auth, freeze):
    freeze(utc(2026, 10, 20))
    tutor = make_tutor(session_lengths=[60], slot_interval_minutes=60)
    got = starts(slots(client, auth, tutor, tutor.id, utc(2026, 10, 30), utc(2026, 11, 3), 60))
    assert next(s for s in got if s.startswith("2026-10-30")) == "2026-10-30T13:00:00Z"  # EDT
    assert next(s for s in got if s.startswith("2026-11-02")) == "2026-11-02T14:00:00Z"  # EST
    assert [s for s in got if s.startswith("2026-11-02")][-1] == "2026-11-02T21:00:00Z"


def test_spring_forward_gap_is_skipped():
    policy = Policy(zone="America/New_York", session_lengths=(30,), slot_interval=30)
    # Sunday 8 March 2026: 02:00-02:59 local does not exist.
    got = candidate_slots(policy, [(6, 60, 240)], [], utc(2026, 3, 8), utc(2026, 3, 9), 30)
    assert [start for start, _ in got] == [utc(2026, 3, 8, 6), utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7),
                                           utc(2026, 3, 8, 7, 30)]


def test_fall_back_hour_uses_first_occurrence_and_real_durations():
    policy = Policy(zone="America/New_York", session_lengths=(60,), slot_interval=60)
    # Sunday 1 November 2026: 01:00-01:59 happens twice; the day's hours end at 03:00 EST = 08:00Z.
    got = candidate_slots(policy, [(6, 0, 180)], [], utc(2026, 11, 1), utc(2026, 11, 2), 60)
    assert got == [(utc(2026, 11, 1, 4), utc(2026, 11, 1, 5)), (utc(2026, 11, 1, 5), utc(2026, 11, 1, 6)),
                   (utc(2026, 11, 1, 7), utc(2026, 11, 1, 8))]


def test_slots_exclude_buffered_bookings_and_busy_blocks(client, auth, freeze):
    freeze(utc(2026, 3, 1))
    tutor = make_tutor(session_lengths=[60], slot_interval_minutes=60, buffer_before_minutes=0, buffer_after_minutes=15)
    # A confirmed 10:00-11:00 local (15:00Z) booking with a 15-minute buffer after blocks 11:00 too, and a
    # 09:00 slot would need its own buffer until 10:15.
    BookingFactory(tutor=tutor, start_at=utc(2026, 3, 3, 15), tutor_range_end=utc(2026, 3, 3, 16, 15))
    BusyBlockFactory(user_id=tutor.id, start_at=utc(2026, 3, 3, 19, 30), end_at=utc(2026, 3, 3, 20))
    BookingFactory(tutor=tutor, start_at=utc(2026, 3, 3, 20), state="cancelled")  # inactive: ignored
    got = starts(slots(client, auth, tutor, tutor.id, utc(2026, 3, 3), utc(2026, 3, 4), 60))
    assert got == ["2026-03-03T17:00:00Z", "2026-03-03T18:00:00Z", "2026-03-03T20:00:00Z", "2026-03-03T21:00:00Z"]


def test_pending_requests_hold_their_slot(client, auth, freeze):
    freeze(utc(2026, 3, 1))
    tutor = make_tutor(session_lengths=[60], slot_interval_minutes=60)
    BookingFactory(tutor=tutor, start_at=utc(2026, 3, 3, 14), state="requested")
    got = starts(slots(client, auth, tutor, tutor.id, utc(2026, 3, 3), utc(2026, 3, 4), 60))
    assert "2026-03-03T14:00:00Z" not in got and "2026-03-03T15:00:00Z" in got


def test_notice_horizon_and_daily_limit(client, auth, freeze):
    freeze(utc(2026, 3, 2, 13))  # Monday 08:00 EST
    tutor = make_tutor(session_lengths=[60], slot_interval_minutes=60, min_notice_minutes=180, max_days_ahead=2,
                       daily_limit=1)
    BookingFactory(tutor=tutor, start_at=utc(2026, 3, 3, 20))
    got = starts(slots(client, auth, tutor, tutor.id, utc(2026, 3, 2), utc(2026, 3, 9), 60))
    assert got[0] == "2026-03-02T16:00:00Z"  # 11:00 local, three hours from now
    assert not [s for s in got if s.startswith("2026-03-03")]  # the daily limit is used up
    assert all(s < "2026-03-04T13:00:01Z" for s in got)  # two days ahead at most


def test_overrides_replace_weekly_hours(client, auth, freeze):
    freeze(utc(2026, 3, 1))
    tutor = make_tutor(session_lengths=[60], slot_interval_minutes=60)
    db.session.add_all([
        AvailabilityOverride(tutor_id=tutor.id, date=date(2026, 3, 2)),
        AvailabilityOverride(tutor_id=tutor.id, date=date(2026, 3, 3), start_minute=600, end_minute=720),
        AvailabilityOverride(tutor_id=tutor.id, date=date(2026, 3, 7), start_minute=600, end_minute=660),
    ])
    db.session.commit()
    got = starts(slots(client, auth, tutor, tutor.id, utc(2026, 3, 2), utc(2026, 3, 8), 60))
    assert not [s for s in got if s.startswith("2026-03-02")]
    assert [s for s in got if s.startswith("2026-03-03")] == ["2026-03-03T15:00:00Z", "2026-03-03T16:00:00Z"]
    assert [s for s in got if s.startswith("2026-03-07")] == ["2026-03-07T15:00:00Z"]


def test_slot_query_bad_input(client, auth, tutor):
    headers = auth.headers(tutor)
    url = f"/api/v1/tutors/{tutor.id}/slots"
    assert_error(client.get(url, query_string={"start": "2026-12-01T00:00:00", "end": "2026-12-02T00:00:00Z"},
                            headers=headers), 422)
    assert_error(client.get(url, query_string={"start": "2026-12-02T00:00:00Z", "end": "2026-12-01T00:00:00Z"},
                            headers=headers), 422, "after start")
    assert_error(client.get(url, query_string={"start": "2026-12-01T00:00:00Z", "end": "2027-06-01T00:00:00Z"},
                            headers=headers), 422, "92 days")
    assert_error(client.get(url, query_string={"start": "2026-12-01T00:00:00Z", "end": "2026-12-02T00:00:00Z",
                                               "duration": 45}, headers=headers), 422, "not offered")


def test_slot_query_unknown_tutor_and_public(client, auth, tutor):
    student = UserFactory()
    query = {"start": "2026-12-01T00:00:00Z", "end": "2026-12-02T00:00:00Z"}
    assert_error(client.get(f"/api/v1/tutors/{student.id}/slots", query_string=query, headers=auth.headers(tutor)), 404)
    assert_error(client.get("/api/v1/tutors/999999/slots", query_string=query, headers=auth.headers(tutor)), 404)
    assert_error(client.get(f"/api/v1/tutors/{student.id}/slots", query_string=query), 404)
    # public, as profiles and reviews are: no login, the same answer
    anonymous = client.get(f"/api/v1/tutors/{tutor.id}/slots", query_string=query)
    assert anonymous.status_code == 200
    assert anonymous.get_json() == client.get(f"/api/v1/tutors/{tutor.id}/slots", query_string=query,
                                              headers=auth.headers(student)).get_json()
    assert_error(client.get(f"/api/v1/tutors/{tutor.id}/slots", query_string={"start": "nope"}), 422)


def test_buffers_longer_than_the_prefetched_busy_window_still_block(client, auth, freeze):
    # Settings beyond what the API accepts (a 40-hour buffer after sessions, written directly): the service
    # reads busy time a day around the window first, then re-reads the wider window the policy needs.
    freeze(utc(2026, 3, 1))
    tutor = make_tutor(session_lengths=[60], slot_interval_minutes=60, buffer_after_minutes=40 * 60)
    # Thursday 5 March 12:00Z, more than a day after the window ends: a slot starting after Tuesday 19:00Z
    # would have its 1 h + 40 h reach it.
    BookingFactory(tutor=tutor, start_at=utc(2026, 3, 5, 12))
    got = starts(slots(client, auth, tutor, tutor.id, utc(2026, 3, 3, 12), utc(2026, 3, 4), 60))
    assert got == [f"2026-03-03T{hour:02d}:00:00Z" for hour in range(14, 20)]


def test_slot_list_field_writes_what_the_nested_schema_writes_and_is_documented_as_it():
    from zoneinfo import ZoneInfo

    from app.scheduling.schemas import SlotListSchema, SlotSchema

    paris = ZoneInfo("Europe/Paris")
    slots_ = [{"start": utc(2026, 3, 29, 0, 30), "end": utc(2026, 3, 29, 1, 30)},
              {"start": datetime(2026, 3, 29, 3, 0, 0, 500, tzinfo=paris), "end": utc(2026, 3, 29, 2)}]
    body = SlotListSchema().dump({"tutor_id": 1, "timezone": "UTC", "duration": 60, "slots": slots_})
    assert body["slots"] == SlotSchema(many=True).dump(slots_)
    assert body["slots"][0] == {"start": "2026-03-29T00:30:00+00:00", "end": "2026-03-29T01:30:00+00:00"}
    assert SlotListSchema().dump({"slots": []})["slots"] == []


def test_slots_are_documented_as_a_list_of_slot_objects(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/tutors/{tutor_id}/slots"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    slots_property = spec["components"]["schemas"][ref]["properties"]["slots"]
    assert slots_property["type"] == "array"
    item = slots_property["items"]["$ref"].rsplit("/", 1)[-1]
    assert set(spec["components"]["schemas"][item]["properties"]) == {"start", "end"}
