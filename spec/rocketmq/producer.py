"""The producer client and the application around it (DefaultMQProducerImpl.sendDefaultImpl).

The application sends messages m0, m1, ... one after another. A sync send retries
(retryTimesWhenSendFailed) and an async send retries (retryTimesWhenSendAsyncFailed) a fast
network error only: a reply that timed out has used the whole sendMsgTimeout, which is the
budget of every try together; a oneway send is tried once and the
application counts it as stored once it is on the wire. A non-OK status is handed to the
application (or retried, with retryAnotherBrokerWhenNotStoreOK); with checkStatus the
application resends anything but SEND_OK, otherwise it takes the status as success.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import TYPE_CHECKING

from noloss.spec.rocketmq.actions import Action, Effect, Reply, add_packet, arg_of, distinct, next_message, remove_packet, up
from noloss.spec.rocketmq.state import REPLY, REQUEST, SEND_OK, Packet, State

if TYPE_CHECKING:
    from noloss.spec.rocketmq.model import Model

ACTOR = "producer"


def enabled_reads(state: State) -> Hashable:
    """All that `enabled` reads of the state (Model.actions keeps its actions per value of it)."""
    return (state.producer, state.master.status, state.network, state.pending)


def enabled(model: Model, state: State) -> Iterator[Action]:
    producer = state.producer
    if not producer.waiting and producer.current < model.config.messages:
        # With the master down the request never reaches the wire: a verb of its own, so a
        # counterexample never prints "send" for a send that did not happen.
        yield Action(ACTOR, "send" if up(state.master) else "send-refused", producer.current)
    for packet in distinct(state.network):
        if packet.kind == REPLY:
            yield Action(ACTOR, "receive", packet.msg, Reply(packet.attempt, packet.status))
    if producer.waiting and not _reply_can_come(state):
        yield Action(ACTOR, "timeout", producer.current)


def _reply_can_come(state: State) -> bool:
    """Some request or reply of the outstanding attempt is in flight or held by the master."""
    producer = state.producer
    key = (producer.current, producer.attempt)
    if any((packet.msg, packet.attempt) == key for packet in state.network):
        return True
    return any((request.msg, request.attempt) == key for request in state.pending)


def send(model: Model, state: State, action: Action) -> State:
    """The application calls send(m) and the request goes to the master, which is up."""
    producer = state.producer
    attempt = producer.attempt + 1
    network = add_packet(state.network, Packet(REQUEST, producer.current, attempt, 0))
    if model.config.sends_oneway:
        # Oneway: nothing comes back; the application counts the message as sent.
        return state._replace(network=network, producer=next_message(producer._replace(attempt=attempt), True))
    retries = model.config.send_retries
    return state._replace(network=network, producer=producer._replace(waiting=True, attempt=attempt, retries_left=retries))


def send_refused(model: Model, state: State, action: Action) -> State:
    """The application calls send(m) while the master is down: the client fails at once, nothing is sent."""
    return _application_sees_failure(model, state)


def receive(model: Model, state: State, action: Action) -> State:
    """The producer reads a reply: the outstanding attempt's is handled, any other is stale and dropped."""
    reply = arg_of(action, Reply)
    packet = Packet(REPLY, action.message if action.message is not None else -1, reply.attempt, reply.status)
    state = state._replace(network=remove_packet(state.network, packet))
    producer = state.producer
    if not (producer.waiting and packet.msg == producer.current and reply.attempt == producer.attempt):
        return state
    if reply.status == SEND_OK:
        return state._replace(producer=next_message(producer, True))
    if model.config.retryAnotherBrokerWhenNotStoreOK and producer.retries_left > 0:
        return _retry(model, state)
    if model.config.checkStatus:
        return _application_sees_failure(model, state)
    # The application takes FLUSH_DISK_TIMEOUT & co. as success: the message is acknowledged.
    return state._replace(producer=next_message(producer, True))


def timeout(model: Model, state: State, action: Action) -> State:
    """No reply can come: a timeout if the master is up, a network error if it is down.

    Only the network error is retried. sendDefaultImpl gives each try what is left of
    sendMsgTimeout, so a try whose reply timed out has used it all, and the loop's
    `if (timeout < costTime) { callTimeout = true; break; }` ends the call; an async send's
    timeout goes to the callback.
    """
    network_error = not up(state.master)
    if network_error and state.producer.retries_left > 0:
        return _retry(model, state)
    return _application_sees_failure(model, state)


def _retry(model: Model, state: State) -> State:
    """The client sends the same message again under a new attempt (a duplicate if the first was stored)."""
    producer = state.producer
    if not up(state.master):
        # Connection refused on every remaining try: send() throws.
        return _application_sees_failure(model, state)
    attempt = producer.attempt + 1
    network = add_packet(state.network, Packet(REQUEST, producer.current, attempt, 0))
    producer = producer._replace(attempt=attempt, retries_left=producer.retries_left - 1)
    return state._replace(network=network, producer=producer)


def _application_sees_failure(model: Model, state: State) -> State:
    """send() threw or (with checkStatus) returned a non-OK status: resend later, or give up unacknowledged."""
    producer = state.producer
    if model.config.checkStatus and producer.resends < model.config.redeliveries:
        return state._replace(producer=producer._replace(waiting=False, resends=producer.resends + 1))
    return state._replace(producer=next_message(producer, False))


EFFECTS: dict[str, Effect] = {"send": send, "send-refused": send_refused, "receive": receive, "timeout": timeout}
