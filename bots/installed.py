"""The one registration list: the bots this Bothy runs, in the order that decides which bot answers a
command that several could (the first is also the fallback account for bots left out of the config)."""

from __future__ import annotations

from bothy.installation import Installation
from bots.checkin.bot import CheckinBot
from bots.host.bot import HostBot
from bots.mood.bot import MoodBot
from bots.referral.bot import ReferralBot

INSTALLATION = Installation((HostBot, CheckinBot, MoodBot, ReferralBot))
