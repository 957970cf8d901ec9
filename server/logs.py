"""Logging set-up for `vevents serve`: readable lines by default, JSON lines on request.

The access log (`vevents.server.access`, one record per request) carries its fields as record
attributes (`method`, `path`, `status`, `duration_ms`, `request_id`), so the JSON formatter
emits them as fields instead of a sentence a log shipper would have to parse.
"""

from __future__ import annotations

import json
import logging
import time
import warnings

__all__ = ["ACCESS_FIELDS", "STARLETTE_NOTICE", "JsonFormatter", "TextFormatter", "configure_logging"]

ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "request_id")
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
STARLETTE_NOTICE = "Using `httpx` with `starlette.testclient`"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, access fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in ACCESS_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`TEXT_FORMAT`, with `asctime` formatted once per second rather than once per record
    (`time.strftime` was a fifth of the access log's cost)."""

    _second: int | None = None
    _stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = second
        return (self.default_msec_format or "%s,%03d") % (self._stamp, record.msecs)


def configure_logging(level: str, log_format: str = "text") -> None:
    """Configure the root logger once, for the serving process (and each worker process)."""
    # The access log writes a record per request, so its cost is per request: skip what no
    # format here uses (the logging HOWTO's "Optimization" section): the caller's file and
    # line (a stack walk per record), thread, process and multiprocessing names.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        # uvicorn installs its own handlers when it configures logging; send its records
        # through ours so that one run has one format.
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    if level != "debug":  # Connexion narrates its start-up at INFO
        logging.getLogger("connexion").setLevel(logging.WARNING)
    # Importing Connexion makes Starlette warn about its test client; nothing to act on here.
    warnings.filterwarnings("ignore", message=STARLETTE_NOTICE)
