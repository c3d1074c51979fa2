"""Pipelined publisher confirms, without a broker: acks and nacks (single and ``multiple``) and returns are matched to
the pending requests by delivery tag, and each fails or confirms only its own request.

    python3 -m unittest discover -s clients/python/tests -v
"""
import threading
import unittest
from collections import OrderedDict
from concurrent.futures import Future
from types import SimpleNamespace

import json
import pika.spec

from grm_client import GrmClient, GrmPublishError
from grm_client.client import ClientStats, _Pending


def bare_client(window=1000):
    """A GrmClient with only the state the confirm callbacks use (no I/O thread, no connection)."""
    client = GrmClient.__new__(GrmClient)
    client._lock = threading.Lock()
    client._pending = {}
    client._unconfirmed = OrderedDict()
    client._next_tag = 1
    client._generation = 1
    client._window = window
    client._conn = None
    client.score_queue = "grm.score"
    client.stats = ClientStats()
    return client


def publish(client, n):
    """Registers n requests as published on the current channel (tags continue from the client's counter)."""
    out = []
    for _ in range(n):
        tag = client._next_tag
        client._next_tag += 1
        request_id = f"req-{tag}"
        body = json.dumps({"requestId": request_id}).encode()
        pending = _Pending(request_id, body, "r", Future(), None, None, False, published=True, queued=False)
        client._pending[request_id] = pending
        client._unconfirmed[tag] = pending
        out.append(pending)
    return out


def ack(tag, multiple=False):
    return SimpleNamespace(method=pika.spec.Basic.Ack(delivery_tag=tag, multiple=multiple))


def nack(tag, multiple=False):
    return SimpleNamespace(method=pika.spec.Basic.Nack(delivery_tag=tag, multiple=multiple))


class ConfirmMatchingTests(unittest.TestCase):
    def test_single_and_multiple_acks_confirm_exactly_their_tags(self):
        client = bare_client()
        p = publish(client, 6)
        client._on_confirm(ack(2), 1)
        self.assertEqual([1, 3, 4, 5, 6], list(client._unconfirmed))
        client._on_confirm(ack(4, multiple=True), 1)  # 1, 3, 4 (2 is already confirmed)
        self.assertEqual([5, 6], list(client._unconfirmed))
        self.assertEqual(4, client.stats.published)
        self.assertFalse(any(x.future.done() for x in p))  # confirmed, still waiting for the result
        self.assertEqual(6, len(client._pending))
        client._on_confirm(ack(6, multiple=True), 1)
        self.assertEqual(6, client.stats.published)
        self.assertEqual(0, len(client._unconfirmed))

    def test_a_nack_fails_only_its_requests(self):
        client = bare_client()
        p = publish(client, 5)
        client._on_confirm(nack(2), 1)
        with self.assertRaises(GrmPublishError) as raised:
            p[1].future.result(0)
        self.assertIn("nacked", str(raised.exception))
        self.assertNotIn("req-2", client._pending)
        client._on_confirm(nack(4, multiple=True), 1)  # 1, 3, 4
        for i in (0, 2, 3):
            self.assertIsInstance(p[i].future.exception(0), GrmPublishError)
        self.assertFalse(p[4].future.done())
        self.assertEqual(["req-5"], list(client._pending))
        self.assertEqual(4, client.stats.nacked)
        self.assertEqual(0, client.stats.published)

    def test_a_return_fails_its_request_and_its_ack_does_not_count_it_published(self):
        client = bare_client()
        p = publish(client, 3)
        client._on_return(p[1].body, 1)
        with self.assertRaises(GrmPublishError) as raised:
            p[1].future.result(0)
        self.assertIn("is a worker running", str(raised.exception))
        client._on_confirm(ack(3, multiple=True), 1)
        self.assertEqual(2, client.stats.published)
        self.assertEqual(1, client.stats.unroutable)
        self.assertFalse(p[0].future.done() or p[2].future.done())
        self.assertEqual({"req-1", "req-3"}, set(client._pending))

    def test_callbacks_of_an_earlier_channel_are_ignored(self):
        client = bare_client()
        p = publish(client, 2)
        client._on_confirm(nack(2, multiple=True), 0)
        client._on_return(p[0].body, 0)
        self.assertEqual(2, len(client._unconfirmed))
        self.assertFalse(any(x.future.done() for x in p))
        self.assertEqual(ClientStats(), client.stats)

    def test_a_full_window_wakes_the_io_loop_when_it_has_room(self):
        client = bare_client(window=2)
        timers = []
        client._conn = SimpleNamespace(call_later=lambda delay, cb: timers.append(delay))
        publish(client, 2)
        client._on_confirm(ack(1), 1)
        self.assertEqual([0], timers)
        client._on_confirm(ack(2), 1)  # the window was not full: no wake-up needed
        self.assertEqual([0], timers)


if __name__ == "__main__":
    unittest.main()
