"""Log lines: one JSON object a line in production (LOG_FORMAT=json), readable lines locally (plain).

Every record, from the project's `logging.getLogger(...)` calls, Django's and Celery's loggers and any
structlog logger alike, goes through one structlog `ProcessorFormatter`, so each line has the same
fields: `timestamp` (UTC, ISO 8601), `level`, `logger`, `event`, the `request_id` (and `user_id`) bound
for the request or task running (core/request_id.py), and the event's own fields: an audit event's
(core/audit.py) or whatever a line passed as `extra`.
"""

import logging
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID

import structlog
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import LazyObject, empty

FORMATS = ("json", "plain")

# Every LogRecord has these attributes: anything else on a record came as `extra`.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Copies of what the line already says: Celery's task arguments and result, runserver's clock time.
_NOT_FIELDS = frozenset({"data", "server_time"})
_SCALARS = (str, int, float, bool, type(None))
# A JSON line starts with these, whatever order the processors added them in.
_FIRST = ("timestamp", "level", "logger", "event", "request_id", "user_id", "task", "task_id")


class RequestUser:
    """The request's user for the log lines, read only once the app has looked the user up (the
    session's user in the middleware, a token's in DRF's authentication): a log line costs no query."""

    __slots__ = ("request",)

    def __init__(self, request) -> None:
        self.request = request

    def pk(self) -> int | None:
        user = self.request.__dict__.get("user")
        if isinstance(user, LazyObject):
            user = user._wrapped
            if user is empty:
                return None
        return user.pk if user is not None and user.is_authenticated else None


def _record_fields(logger, method_name: str, event_dict: dict) -> dict:
    """A stdlib record's fields: an audit event's, and any other `extra` a plain value can carry
    (Django's request object and runserver's socket are left out). Never over a line's own keys."""
    record = event_dict["_record"]
    for key, value in record.__dict__.items():
        if key in _RECORD_ATTRIBUTES or key in _NOT_FIELDS or key.startswith("_"):
            continue
        if key == "audit" and isinstance(value, dict):
            for name, field in value.items():
                event_dict.setdefault(name, field)
        elif isinstance(value, (*_SCALARS, Decimal, datetime, date, UUID, list, tuple, dict)):
            event_dict.setdefault(key, value)
    return event_dict


def _plain(value):
    if isinstance(value, Enum):  # a state, a party: its value ("awaiting_seller", "buyer")
        value = value.value
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item) for item in value]
    return str(value)  # Decimal amounts as written ("12.50"), UUIDs, ids of any other kind


def _values(logger, method_name: str, event_dict: dict) -> dict:
    """The user id if known (else no `user_id`), every value as JSON writes it: the same in both formats."""
    user = event_dict.get("user_id")
    if isinstance(user, RequestUser):
        if (pk := user.pk()) is None:
            del event_dict["user_id"]
        else:
            event_dict["user_id"] = pk
    for key, value in event_dict.items():
        if key not in ("exc_info", "stack_info") and not key.startswith("_"):
            event_dict[key] = _plain(value)
    return event_dict


def _ordered(logger, method_name: str, event_dict: dict) -> dict:
    head = {key: event_dict.pop(key) for key in _FIRST if key in event_dict}
    return {**head, **event_dict}


# Run on every record: structlog's own before they are handed to logging, stdlib ones in the formatter.
_SHARED = (
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
)


def _renderer(fmt: str) -> list:
    if fmt == "json":
        return [
            _values,
            structlog.processors.format_exc_info,
            _ordered,
            structlog.processors.JSONRenderer(default=str),
        ]
    return [
        _values,
        structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback),
    ]


def formatter(fmt: str) -> structlog.stdlib.ProcessorFormatter:
    """The formatter LOGGING's handler uses (tests build one to read a line as it would be written)."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, _record_fields],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_renderer(fmt)],
    )


def logging_config(fmt: str) -> dict:
    """settings.LOGGING: one handler on stderr writing `fmt` lines; dispute_desk at INFO, Django's
    request errors, everything else from WARNING. Also points structlog's own loggers at logging."""
    if fmt not in FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}.")
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": formatter, "fmt": fmt}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": "WARNING"},
        "loggers": {
            "dispute_desk": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
            # runserver's lines (`make run`): Django's own level, in this format rather than Django's.
            "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
            # django-health-check writes a traceback for each failing check on every poll of /readyz;
            # the probe's own answer names the check and its reason.
            "health_check": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        },
    }
