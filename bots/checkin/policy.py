"""Pure rules for check-ins: who has gone quiet, when not to send, and how stress readings add up.

No I/O here, so each rule is table-tested, daylight-saving changes included.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bots.checkin.settings import CheckinSettings
from bots.checkin.storage import ActivityRow, StressSummary

DAY_MS = 86_400_000
WEEK_S = 604_800
MIN_USUAL_PER_WEEK = 3.0  # below this a quiet week is ordinary; only a long silence counts
STRESS_SMOOTHING = 0.3


@dataclass(frozen=True)
class QuietSignal:
    user_id: str
    usual_per_week: float
    recent: int
    window_days: int
    days_silent: int | None
    still_reading: bool
    listener: bool = False  # has only ever read; `days_silent` counts from their last read

    def describe(self) -> str:
        """For peer workers: e.g. "usually ~12 a week, 0 in the last 7 days; still reading"."""
        if self.listener:
            return f"only ever reads along, and has read nothing for {self.days_silent} days"
        parts = []
        if self.usual_per_week >= MIN_USUAL_PER_WEEK:
            parts.append(f"usually ~{round(self.usual_per_week)} messages or reactions a week, "
                         f"{self.recent} in the last {self.window_days} days")
        if self.days_silent is not None:
            parts.append(f"nothing for {self.days_silent} days")
        parts.append("still reading" if self.still_reading else "not reading either")
        return "; ".join(parts)


def quiet_signal(row: ActivityRow, now_ms: int, settings: CheckinSettings,
                 silent_after_s: int | None = None) -> QuietSignal | None:
    """Has this member gone quiet compared with their own habit? None if not (or too new to say).

    Quiet: recent activity under `drop_ratio` of their usual weekly rate, or none for `silent_after`
    after having been active. Someone who has never written is a listener: not quiet while they read, but quiet once
    they have read nothing for `silent_after` either (reading is their presence; a spec auditor's, thirty-second
    session: a listener who stopped reading was never noticed).
    """
    if now_ms - row.first_seen_at < settings.new_member_grace_s * 1000:
        return None
    silent_after_ms = (silent_after_s if silent_after_s is not None else settings.silent_after_s) * 1000
    window_days = round(settings.window_s / 86400)
    if row.last_active_at is None:
        if row.last_read_at is None or now_ms - row.last_read_at < silent_after_ms:
            return None
        return QuietSignal(user_id=row.user_id, usual_per_week=0.0, recent=0,
                           window_days=window_days, days_silent=(now_ms - row.last_read_at) // DAY_MS,
                           still_reading=False, listener=True)
    usual = row.baseline / settings.baseline_weeks
    window_weeks = settings.window_s / WEEK_S
    dropped = usual >= MIN_USUAL_PER_WEEK and row.recent < settings.drop_ratio * usual * window_weeks
    silent_ms = now_ms - row.last_active_at
    silent = silent_ms >= silent_after_ms
    if not (dropped or silent):
        return None
    still_reading = row.last_read_at is not None and now_ms - row.last_read_at < settings.window_s * 1000
    return QuietSignal(
        user_id=row.user_id, usual_per_week=usual, recent=row.recent,
        window_days=window_days, days_silent=silent_ms // DAY_MS if silent else None,
        still_reading=still_reading,
    )


def should_check_in(signal: QuietSignal | None) -> bool:
    """Reading is presence: a member who keeps reading is not sent a check-in, however quiet."""
    return signal is not None and not signal.still_reading


def in_quiet_hours(now: datetime, timezone: ZoneInfo, quiet_hours: tuple[int, int]) -> bool:
    """Quiet hours in the organisation's local time; a window like 21:00-09:00 wraps midnight."""
    start, end = quiet_hours
    if start == end:
        return False
    local = now.astimezone(timezone)
    minute = local.hour * 60 + local.minute
    return start <= minute < end if start < end else minute >= start or minute < end


def checkins_allowed(preference: tuple[bool, int | None], now_ms: int) -> bool:
    enabled, paused_until = preference
    return enabled and (paused_until is None or paused_until <= now_ms)


STRESS_MAX_GAP_S = 3600  # readings an hour apart still tell one episode (an hourly automation); more, two moments


def add_stress_reading(summary: StressSummary | None, level: int, at_ms: int, threshold: int,
                       sustained_s: int, max_gap_s: int | None = None) -> tuple[StressSummary, bool]:
    """Fold one reading into the rolling summary; True when this reading starts a sustained episode
    worth one alert (stress at or above threshold for `sustained_s`, not yet alerted this episode). Readings further
    apart than `max_gap_s` (at least `sustained_s`, at most STRESS_MAX_GAP_S) show nothing of what came between: two
    high ones hours apart are two moments, not stress that stayed high (a reviewer's), so the episode starts again
    at the later one."""
    max_gap_s = max(sustained_s, min(max_gap_s or 0, STRESS_MAX_GAP_S))
    if summary is None:
        summary = StressSummary(0, at_ms, level, float(level), None, False)
    average = level if summary.readings == 0 else (1 - STRESS_SMOOTHING) * summary.average + STRESS_SMOOTHING * level
    unbroken = summary.readings > 0 and at_ms - summary.last_at <= max_gap_s * 1000
    if level >= threshold and unbroken and summary.above_since is not None:
        above_since, alerted = summary.above_since, summary.alerted
    elif level >= threshold:
        above_since, alerted = at_ms, False
    else:
        above_since, alerted = None, False
    updated = replace(summary, readings=summary.readings + 1, last_at=at_ms, last_level=level,
                      average=round(average, 2), above_since=above_since, alerted=alerted)
    alert = above_since is not None and not alerted and at_ms - above_since >= sustained_s * 1000
    if alert:
        updated = replace(updated, alerted=True)
    return updated, alert
