"""Logging set-up. Bothy logs event IDs, room IDs and kinds of things, never message text; matrix-nio
is kept at WARNING because its debug output can include event content, and its records that can quote
an event or a response even at WARNING are redacted by `WithholdNioContent`.
"""

from __future__ import annotations

import logging
import sys
import traceback

# nio loggers whose records may quote events or responses: schema-validation failures print the
# offending instance (an event's body, decrypted or not), and the HTTP layer reprs raw frames.
NIO_CONTENT_LOGGERS = ("nio.events", "nio.responses", "nio.http")
WITHHELD = "details withheld: may contain message content"


class WithholdNioContent(logging.Filter):
    """Replace the text of nio records that may carry event content, keeping where and how bad it was."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _may_carry_content(record):
            record.msg = f"{record.name}: {WITHHELD}"
            record.args = None
            record.exc_info = record.exc_text = record.stack_info = None
        return True


def _may_carry_content(record: logging.LogRecord) -> bool:
    if record.name != "nio" and not record.name.startswith("nio."):
        return False
    in_content_logger = any(record.name == n or record.name.startswith(f"{n}.") for n in NIO_CONTENT_LOGGERS)
    # Elsewhere (the Olm machine) a failed validation of a decrypted payload quotes the payload too.
    return in_content_logger or "validat" in str(record.msg).lower()


def withhold_nio_content() -> None:
    """Attach the filter to every nio logger. A logger's filters see only records logged on that very
    logger, not its children's, so each one gets it; nio is imported first so all of them exist."""
    import nio  # noqa: F401 - creates nio's loggers

    names = ["nio", *(n for n in logging.Logger.manager.loggerDict if n.startswith("nio."))]
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, WithholdNioContent) for f in logger.filters):
            logger.addFilter(WithholdNioContent())


# aiohttp's server logs a request it cannot parse, or whose handler failed, at ERROR, quoting the line or header at
# fault or the body: a bot's webhook ID or token, what a member's device sent (a reviewer's). Only the kind of error
# is kept.
HTTP_SERVER_LOGGERS = ("aiohttp.server", "aiohttp.web")
HTTP_WITHHELD = "details withheld: may quote a request"


class WithholdHttpContent(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        record.msg = f"{record.name}: {type(error).__name__ if error else 'a request failed'} ({HTTP_WITHHELD})"
        record.args = None
        record.exc_info = record.exc_text = record.stack_info = None
        return True


def withhold_http_content() -> None:
    for name in HTTP_SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, WithholdHttpContent) for f in logger.filters):
            logger.addFilter(WithholdHttpContent())


# Libraries kept at WARNING even when Bothy logs at DEBUG: their debug output quotes what they handle (nio's
# events, aiohttp's requests, aiosqlite's every SQL statement with its parameters, outbox messages included).
QUIET_LIBRARIES = ("nio", "peewee", "aiohttp", "apscheduler", "aiosqlite")


def quiet_libraries(level: str) -> None:
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries(level)
    withhold_nio_content()
    withhold_http_content()


def describe_error(error: BaseException) -> str:
    """An error's type and the innermost frame it came from: enough to find the bug and, unlike its message
    or a traceback's last line, never able to quote a member's words (a bad argument, an event's content)."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"
    return f"{type(error).__name__} at {where}"
