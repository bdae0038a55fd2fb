"""Table-driven tests of the check-in rules: baselines, listeners, new members, gaps, quiet hours, stress."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bots.checkin.policy import (
    add_stress_reading,
    checkins_allowed,
    in_quiet_hours,
    quiet_signal,
    should_check_in,
)
from bots.checkin.settings import CheckinSettings
from bots.checkin.storage import ActivityRow

DAY = 86_400_000
NOW = 1_800_000_000_000
SETTINGS = CheckinSettings(min_gap_s=14 * 86400, quiet_hours=(21 * 60, 9 * 60), window_s=7 * 86400, baseline_weeks=4,
                           drop_ratio=0.25, silent_after_s=10 * 86400, new_member_grace_s=14 * 86400,
                           pause_s=30 * 86400, max_per_sweep=200, keep_checkins_s=90 * 86400,
                           keep_presence_s=180 * 86400)


def member(*, joined_days_ago=90, active_days_ago=1, read_days_ago=None, recent=10, baseline=48):
    return ActivityRow("@m:x", NOW - joined_days_ago * DAY,
                       None if active_days_ago is None else NOW - active_days_ago * DAY,
                       None if read_days_ago is None else NOW - read_days_ago * DAY, recent, baseline)


@pytest.mark.parametrize(("row", "quiet", "checked_in"), [
    (member(recent=12, baseline=48), False, False),                      # usual 12/week, 12 this week
    (member(recent=2, baseline=48), True, True),                         # under a quarter of usual
    (member(recent=3, baseline=48), False, False),                       # exactly a quarter: not under it
    (member(recent=0, baseline=48, read_days_ago=1), True, False),       # quiet but still reading: no DM
    (member(recent=0, baseline=48, read_days_ago=8), True, True),        # reading stopped too
    (member(recent=0, baseline=2, active_days_ago=3), False, False),     # no habit to drop from, not silent
    (member(recent=0, baseline=0, active_days_ago=11), True, True),      # silent 11 days after being active
    (member(recent=0, baseline=0, active_days_ago=None), False, False),  # a pure listener never "goes quiet"
    (member(joined_days_ago=5, recent=0, baseline=48, active_days_ago=4), False, False),  # new member grace
])
def test_who_is_quiet(row, quiet, checked_in):
    signal = quiet_signal(row, NOW, SETTINGS)
    assert (signal is not None) == quiet
    assert should_check_in(signal) == checked_in


def test_the_signal_explains_itself_to_peer_workers():
    signal = quiet_signal(member(recent=0, baseline=48, active_days_ago=11, read_days_ago=2), NOW, SETTINGS)
    assert signal.describe() == ("usually ~12 messages or reactions a week, 0 in the last 7 days; "
                                 "nothing for 11 days; still reading")


def test_a_longer_silence_can_be_asked_for():
    row = member(recent=0, baseline=0, active_days_ago=11)
    assert quiet_signal(row, NOW, SETTINGS, silent_after_s=14 * 86400) is None


LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(("utc", "quiet"), [
    ("2026-01-15T20:59:00", False),  # winter: London = UTC
    ("2026-01-15T21:00:00", True),
    ("2026-01-16T08:59:00", True),
    ("2026-01-16T09:00:00", False),
    ("2026-07-15T20:30:00", True),   # summer: 21:30 in London (BST)
    ("2026-07-15T08:30:00", False),  # 09:30 in London
    ("2026-03-29T00:30:00", True),   # 00:30 GMT, just before the clocks go forward at 01:00 UTC
    ("2026-03-29T07:30:00", True),   # 08:30 BST, after the change: still quiet
    ("2026-03-29T08:30:00", False),  # 09:30 BST
    ("2026-10-24T08:30:00", False),  # 09:30 BST, the day before the clocks go back
    ("2026-10-25T08:30:00", True),   # 08:30 GMT, the same UTC time the morning after: quiet
    ("2026-10-25T09:00:00", False),  # 09:00 GMT
])
def test_quiet_hours_in_the_organisation_s_time_zone_across_dst(utc, quiet):
    moment = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert in_quiet_hours(moment, LONDON, SETTINGS.quiet_hours) == quiet


def test_quiet_hours_that_do_not_wrap_and_none():
    noon = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert in_quiet_hours(noon, LONDON, (11 * 60, 13 * 60))
    assert not in_quiet_hours(noon, LONDON, (0, 0))


@pytest.mark.parametrize(("preference", "allowed"), [
    ((True, None), True), ((False, None), False), ((True, NOW + DAY), False), ((True, NOW - DAY), True),
])
def test_opt_outs_and_pauses(preference, allowed):
    assert checkins_allowed(preference, NOW) == allowed


def test_sustained_high_stress_alerts_once_per_episode():
    minute = 60_000
    summary, alerts = None, []
    for offset, level in [(0, 80), (10, 85), (29, 90), (31, 88), (40, 95), (50, 40), (60, 90), (90, 91)]:
        summary, alert = add_stress_reading(summary, level, NOW + offset * minute, threshold=70, sustained_s=1800)
        alerts.append(alert)
    assert alerts == [False, False, False, True, False, False, False, True]
    assert summary.readings == 8 and summary.last_level == 91 and summary.alerted


def test_high_readings_further_apart_than_the_window_are_moments_not_an_episode():
    """80 at 09:00 and 75 at 18:00 with nothing between raised an urgent alert (a reviewer's); readings no further apart
    than the window still make one, and a new episode after a gap may alert again."""
    hour = 3_600_000
    summary, alert = add_stress_reading(None, 80, NOW, threshold=70, sustained_s=1800)
    summary, alert = add_stress_reading(summary, 75, NOW + 9 * hour, threshold=70, sustained_s=1800)
    assert not alert and summary.above_since == NOW + 9 * hour
    alerts = []
    for minutes in (20, 40):
        summary, alert = add_stress_reading(summary, 90, NOW + 9 * hour + minutes * 60_000, threshold=70,
                                            sustained_s=1800)
        alerts.append(alert)
    assert alerts == [False, True]
    # An automation posting hourly, allowed gaps of an hour (`stress.max_age`), tells one afternoon's episode.
    hourly, alert = None, False
    for hours in range(4):
        hourly, alert = add_stress_reading(hourly, 92, NOW + hours * hour, threshold=70, sustained_s=1800,
                                           max_gap_s=3600)
    assert alert or hourly.alerted
    # However long readings may arrive late (`stress.max_age: 12h`), more than an hour apart they are moments.
    summary, alert = add_stress_reading(None, 80, NOW, threshold=70, sustained_s=1800, max_gap_s=12 * 3600)
    summary, alert = add_stress_reading(summary, 75, NOW + 9 * hour, threshold=70, sustained_s=1800,
                                        max_gap_s=12 * 3600)
    assert not alert


def test_a_single_spike_is_not_an_episode():
    summary, alert = add_stress_reading(None, 99, NOW, threshold=70, sustained_s=1800)
    summary, alert = add_stress_reading(summary, 20, NOW + 40 * 60_000, threshold=70, sustained_s=1800)
    assert not alert and summary.above_since is None
