"""What both NATS targets and their tools share: the stream's names, the errors that mean the
connection is gone, and how a client connects (nats-py, reconnection left to the adapter)."""

from __future__ import annotations

import asyncio

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client

STREAM = "NOLOSS"
SUBJECT = "noloss.messages"
NO_STREAM_ERRORS = (nats.js.errors.APIError, nats.js.errors.NoStreamResponseError, nats.errors.NoRespondersError)
"""No stream answered a request (JetStream still starting, an error reply): nothing was stored."""
NETWORK_ERRORS = (nats.errors.ConnectionClosedError, nats.errors.TimeoutError, nats.errors.NoServersError, nats.errors.StaleConnectionError, nats.errors.UnexpectedEOF, ConnectionError, OSError, asyncio.TimeoutError)


def error_words(error: BaseException) -> str:
    """An error as the history's `detail` says it: nats-py raises some with no message."""
    return str(error) or type(error).__name__


async def _ignore(error: Exception) -> None:
    """nats-py prints every connection error by default; the adapter handles them itself."""


async def connect(address: str) -> Client:
    """A connection to `address`, or to any that answers of `HOST:PORT,HOST:PORT,...` (the
    nodes of a cluster; nats-py tries them in a random order)."""
    servers = [f"nats://{one}" for one in address.split(",")]
    return await nats.connect(servers=servers, allow_reconnect=False, connect_timeout=1, max_reconnect_attempts=0, error_cb=_ignore)
