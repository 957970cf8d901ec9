"""The one place that uses uvicorn internals: dropping a connection without an answer.

ASGI has no message for "close the connection now": an app that sends nothing gets a 500
from the server. A `drop` fault must look like a connection the network lost, so it aborts
the socket itself. Internals used (checked by tests/test_control_faults.py, which drops a
connection over a real uvicorn socket):

    send.__self__             uvicorn's RequestResponseCycle (the `send` it hands the app
                              is its bound method), both in httptools_impl and h11_impl
    RequestResponseCycle.transport   the connection's transport (asyncio's or uvloop's)

`transport.abort()` closes at once (RST, buffered data discarded) and makes later writes
no-ops, so uvicorn's own "no response started" 500 never reaches the wire.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["abort_connection"]


async def abort_connection(send: Any) -> bool:
    """Abort the connection `send` (uvicorn's own send) writes to; False when it is not uvicorn's."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    abort = getattr(transport, "abort", None)
    if not callable(abort):  # not uvicorn (asyncio's and uvloop's transports both have abort())
        return False
    abort()
    # Let the protocol learn of the loss (connection_lost) before the app returns, so that
    # uvicorn takes the request as disconnected rather than unanswered.
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return True
