"""GrmClient: submit scoring jobs to GrmWorker over RabbitMQ and get one typed result per requestId.

One I/O thread owns the pika BlockingConnection (pika connections are not thread-safe). Any thread may call
submit(); it registers the request under a lock, appends it to the outbox and wakes the I/O thread with
add_callback_threadsafe. The I/O thread publishes with publisher confirms, pipelined (up to ``max_unconfirmed``
publishes wait for their confirm at once, matched to requests by delivery tag), consumes the client's private
results queue, resolves futures by requestId, expires per-request deadlines and reconnects when the connection is
lost.
"""
from __future__ import annotations

import asyncio
import collections
import hashlib
import heapq
import json
import logging
import os
import ssl
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import pika
import pika.spec

from .result import GrmClientClosed, GrmJobError, GrmPublishError, Result

log = logging.getLogger("grm_client")

# keyword option -> wire field (docs/wire.md, "Request")
WIRE_FIELDS = {
    "reference": "reference",
    "k_max": "kMax",
    "k_min": "kMin",
    "temperature": "temperature",
    "max_new_tokens": "maxNewTokens",
    "seed": "seed",
    "stopping": "stopping",
    "aggregation": "aggregation",
    "metadata": "metadata",
}
# keyword options the client itself uses
CLIENT_OPTIONS = {"route", "request_id", "key", "timeout", "raise_on_error"}

_DEFAULT: Any = object()


def request_id_for_key(key: Any, namespace: str = "grm") -> str:
    """The deterministic requestId of a caller's key: ``key-`` + sha256(namespace NUL key) in hex."""
    data = key if isinstance(key, bytes) else str(key).encode("utf-8")
    return "key-" + hashlib.sha256(namespace.encode("utf-8") + b"\x00" + data).hexdigest()


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(eq=False)
class _Pending:
    request_id: str
    body: bytes
    route: str
    future: Future
    timeout: float | None
    deadline: float | None
    raise_on_error: bool
    published: bool = False  # sent on some connection (not necessarily confirmed): re-sent after a reconnect
    returned: bool = False  # the broker returned it (mandatory, no queue took it)
    queued: bool = True  # in the outbox (guarded by the client's lock)


@dataclass
class ClientStats:
    submitted: int = 0
    published: int = 0  # publishes the broker confirmed (basic.ack, not returned); re-sends count again
    republished: int = 0  # publishes of a request already sent on an earlier connection
    unroutable: int = 0  # returned by the broker: no queue took them (GrmPublishError)
    nacked: int = 0  # nacked by the broker (GrmPublishError)
    results: int = 0
    reconnects: int = 0
    timeouts: int = 0
    ignored: int = 0  # results for requestIds this client no longer waits for (duplicates, other clients' route)
    extra: dict = field(default_factory=dict)


class _ConnectionLost(Exception):
    pass


class GrmClient:
    """A thread-safe client of GrmWorker. Use as a context manager or call close().

    Results come back on the client's own ``route`` (default: ``grm-client.<random>``, unique per client) through a
    private queue ``grm-client.results.<random>`` bound to it on ``result_exchange``. The queue outlives a
    connection loss (it expires ``queue_expires`` seconds after the client is gone), and after a reconnect every
    pending request is published again: the worker answers a known requestId with its stored result, never by
    scoring it twice, so a broker restart loses no result.
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int | None = None,
        virtual_host: str = "/",
        username: str = "guest",
        password: str = "guest",
        *,
        use_tls: bool = False,
        tls_ca_file: str | None = None,
        tls_server_name: str | None = None,
        score_queue: str = "grm.score",
        result_exchange: str = "grm.rewards",
        route: str | None = None,
        key_namespace: str = "grm",
        timeout: float | None = 600.0,
        raise_on_error: bool = False,
        heartbeat: int = 30,
        connect_timeout: float = 10.0,
        reconnect_delay: tuple[float, float] = (0.5, 10.0),
        queue_expires: float = 600.0,
        prefetch: int = 1000,
        max_unconfirmed: int = 1000,
        name: str = "grm-client",
    ):
        self.host = host
        self.port = port if port is not None else (5671 if use_tls else 5672)
        self.virtual_host = virtual_host
        self.score_queue = score_queue
        self.result_exchange = result_exchange
        self.route = route or f"grm-client.{uuid.uuid4().hex[:16]}"
        self.key_namespace = key_namespace
        self.key_route = "grm-client.keys." + hashlib.sha256(key_namespace.encode("utf-8")).hexdigest()[:16]
        self.timeout = timeout
        self.raise_on_error = raise_on_error
        self.results_queue = f"grm-client.results.{uuid.uuid4().hex[:16]}"
        self._reconnect_delay = reconnect_delay
        self._queue_expires_ms = int(queue_expires * 1000)
        self._prefetch = prefetch
        if max_unconfirmed < 1:
            raise ValueError("max_unconfirmed must be at least 1")
        self._window = max_unconfirmed

        ssl_options = None
        if use_tls:
            context = ssl.create_default_context(cafile=tls_ca_file or None)
            ssl_options = pika.SSLOptions(context, server_hostname=tls_server_name or host)
        self._params = pika.ConnectionParameters(
            host=host,
            port=self.port,
            virtual_host=virtual_host,
            credentials=pika.PlainCredentials(username, password),
            ssl_options=ssl_options,
            heartbeat=heartbeat,
            blocked_connection_timeout=60,
            connection_attempts=1,
            socket_timeout=connect_timeout,
            stack_timeout=connect_timeout + 5,
            client_properties={"connection_name": name},
        )

        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._deadlines: list[tuple[float, int, _Pending]] = []
        self._seq = 0
        self._outbox: collections.deque[_Pending] = collections.deque()
        self._routes: set[str] = {self.route}
        self._bound: set[str] = set()
        self._closed = False
        self._closing = threading.Event()
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._drop_requested: bool | None = None
        self._conn: pika.BlockingConnection | None = None
        self._ch = None
        self._impl = None
        self._props = pika.BasicProperties(content_type="application/json", delivery_mode=2)
        # Publisher confirms of the current channel: delivery tag -> request, in tag order. Tags count from 1 per
        # channel; _generation tells a late callback of a channel already given up from the current one's.
        self._unconfirmed: collections.OrderedDict[int, _Pending] = collections.OrderedDict()
        self._next_tag = 1
        self._generation = 0
        self.stats = ClientStats()

        self._thread = threading.Thread(target=self._run, name=f"{name}-io", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            raise self._startup_error

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "GrmClient":
        """A client from the worker's own variables: GRM_RABBITMQ__HOST, __PORT, __VIRTUALHOST, __USERNAME,
        __PASSWORD, __USETLS, __TLSCAFILE, __TLSSERVERNAME, __SCOREQUEUE, __RESULTEXCHANGE (names are matched
        case-insensitively, as .NET configuration does). Keyword arguments override them."""
        source = os.environ if environ is None else environ
        env = {k.upper(): v for k, v in source.items() if k.upper().startswith("GRM_RABBITMQ__")}

        def get(name: str) -> str | None:
            value = env.get("GRM_RABBITMQ__" + name)
            return value if value not in (None, "") else None

        settings: dict[str, Any] = {}
        for name, arg in (("HOST", "host"), ("VIRTUALHOST", "virtual_host"), ("USERNAME", "username"),
                          ("PASSWORD", "password"), ("TLSCAFILE", "tls_ca_file"),
                          ("TLSSERVERNAME", "tls_server_name"), ("SCOREQUEUE", "score_queue"),
                          ("RESULTEXCHANGE", "result_exchange")):
            if get(name) is not None:
                settings[arg] = get(name)
        if get("PORT") is not None:
            settings["port"] = int(get("PORT"))  # type: ignore[arg-type]
        if get("USETLS") is not None:
            settings["use_tls"] = _truthy(get("USETLS"))
        settings.update(overrides)
        return cls(**settings)

    # ------------------------------------------------------------------ public API

    def request_id_for(self, key: Any) -> str:
        """The requestId ``submit(..., key=key)`` uses with this client's ``key_namespace``."""
        return request_id_for_key(key, self.key_namespace)

    def submit(self, query: str, responses: Sequence[str], **options: Any) -> "Future[Result]":
        """Queue one job; the future resolves to its Result (or raises GrmJobError with raise_on_error,
        TimeoutError naming the requestId, GrmPublishError, GrmClientClosed).

        Options: reference, k_max, k_min, temperature, max_new_tokens, seed, stopping, aggregation, metadata
        (wire fields), and route, request_id, key (deterministic requestId), timeout (seconds, None: none),
        raise_on_error. A requestId already pending on this client returns the same future."""
        if isinstance(responses, (str, bytes)):
            raise TypeError("responses must be a sequence of strings, not a single string")
        unknown = set(options) - set(WIRE_FIELDS) - CLIENT_OPTIONS
        if unknown:
            raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
        if options.get("request_id") is not None and options.get("key") is not None:
            raise TypeError("give request_id or key, not both")
        if options.get("request_id") is not None:
            request_id = str(options["request_id"])
        elif options.get("key") is not None:
            request_id = self.request_id_for(options["key"])
        else:
            request_id = f"req-{uuid.uuid4().hex}"
        # Keyed requests use a route that depends only on the key namespace: workers since 2026-12-06 answer a re-sent
        # requestId on the re-sender's route, earlier ones on the route it was stored with; this works with both.
        route = options.get("route") or (self.key_route if options.get("key") is not None else self.route)
        body: dict[str, Any] = {"requestId": request_id, "route": route, "query": query, "responses": list(responses)}
        for option, wire in WIRE_FIELDS.items():
            if options.get(option) is not None:
                body[wire] = options[option]
        timeout = self.timeout if options.get("timeout", _DEFAULT) is _DEFAULT else options["timeout"]
        raise_on_error = self.raise_on_error if options.get("raise_on_error") is None else bool(options["raise_on_error"])

        future: Future = Future()
        future.request_id = request_id  # type: ignore[attr-defined]
        encoded = json.dumps(body, ensure_ascii=False).encode("utf-8")
        with self._lock:
            if self._closed:
                raise GrmClientClosed("the client is closed")
            existing = self._pending.get(request_id)
            if existing is not None and not existing.future.done():
                return existing.future
            deadline = None if timeout is None else time.monotonic() + timeout
            pending = _Pending(request_id, encoded, route, future, timeout, deadline, raise_on_error)
            self._pending[request_id] = pending
            if deadline is not None:
                self._seq += 1
                heapq.heappush(self._deadlines, (deadline, self._seq, pending))
            self._routes.add(route)
            self._outbox.append(pending)
            self.stats.submitted += 1
        self._wake()
        return future

    def score(self, query: str, responses: Sequence[str], **options: Any) -> Result:
        """Submit one job and block until its result (see submit for options and errors)."""
        return self.submit(query, responses, **options).result()

    def score_many(self, requests: Iterable[Any], *, max_in_flight: int = 64, timeout: float | None = None,
                   **options: Any) -> list[Result]:
        """Score many jobs with at most ``max_in_flight`` pending at once; results in input order.

        Each request is a dict (``query``, ``responses`` and any submit option) or a ``(query, responses)`` pair;
        ``options`` apply to every request that does not set them. ``timeout`` bounds the whole call (TimeoutError
        naming the requestIds still waiting); the per-request timeout still applies to each job. The first error
        (GrmJobError with raise_on_error, a per-request TimeoutError) is raised after the others are cancelled."""
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        items = list(requests)
        results: list[Result | None] = [None] * len(items)
        deadline = None if timeout is None else time.monotonic() + timeout
        waiting: dict[Future, int] = {}
        upcoming = iter(enumerate(items))

        def submit_next() -> bool:
            for index, item in upcoming:
                if isinstance(item, Mapping):
                    merged = {**options, **item}
                    query, responses = merged.pop("query"), merged.pop("responses")
                else:
                    query, responses = item
                    merged = dict(options)
                waiting[self.submit(query, responses, **merged)] = index
                return True
            return False

        try:
            while len(waiting) < max_in_flight and submit_next():
                pass
            while waiting:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    ids = [getattr(f, "request_id", "?") for f in waiting]
                    shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
                    raise TimeoutError(f"score_many: no result within {timeout:g} s for {len(ids)} of {len(items)} "
                                       f"requests (requestIds {shown})")
                done, _ = wait(list(waiting), timeout=remaining, return_when=FIRST_COMPLETED)
                for f in done:
                    results[waiting.pop(f)] = f.result()
                    if len(waiting) < max_in_flight:
                        submit_next()
        finally:
            for f in waiting:
                f.cancel()
        return results  # type: ignore[return-value]

    async def ascore(self, query: str, responses: Sequence[str], **options: Any) -> Result:
        """The asyncio face of score(): awaits the job's future without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(query, responses, **options))

    async def ascore_many(self, requests: Iterable[Any], *, max_in_flight: int = 64, **options: Any) -> list[Result]:
        """asyncio score_many: at most ``max_in_flight`` pending, results in input order."""
        gate = asyncio.Semaphore(max_in_flight)

        async def one(item: Any) -> Result:
            async with gate:
                if isinstance(item, Mapping):
                    merged = {**options, **item}
                    return await self.ascore(merged.pop("query"), merged.pop("responses"), **merged)
                return await self.ascore(item[0], item[1], **options)

        return list(await asyncio.gather(*(one(item) for item in requests)))

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def close(self) -> None:
        """Stop the I/O thread; requests still pending fail with GrmClientClosed. The results queue is deleted."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._closing.set()
        self._wake()
        self._thread.join(timeout=30)

    def __enter__(self) -> "GrmClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _drop_connection(self, delete_results_queue: bool = False) -> None:
        """Test hook: the I/O thread closes its connection as if it were lost (and, with delete_results_queue,
        deletes the results queue first, as a broker restart does to a non-durable queue) and reconnects."""
        self._drop_requested = delete_results_queue
        self._wake()

    # ------------------------------------------------------------------ I/O thread

    def _wake(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            conn.add_callback_threadsafe(lambda: None)
        except Exception:  # closed or closing: the loop notices on its own
            pass

    def _run(self) -> None:
        delay = self._reconnect_delay[0]
        connected = False
        while not self._closing.is_set():
            try:
                self._open()
                if not connected:
                    connected = True
                    self._ready.set()
                else:
                    log.info("grm_client: reconnected to %s:%s", self.host, self.port)
                delay = self._reconnect_delay[0]
                self._serve()
            except Exception as error:  # pika errors, OSError, ssl errors: all mean "connection gone"
                if not connected:
                    self._startup_error = error
                    self._discard_connection()
                    self._ready.set()
                    return
                log.warning("grm_client: connection lost (%s: %s); reconnecting in %.1f s",
                            type(error).__name__, error, delay)
                self.stats.reconnects += 1
                self._discard_connection()
                self._sleep(delay)
                delay = min(delay * 2, self._reconnect_delay[1])
        self._shutdown()

    def _open(self) -> None:
        conn = pika.BlockingConnection(self._params)
        self._bound = set()
        channel = conn.channel()
        # Pipelined publisher confirms. BlockingChannel.confirm_delivery() makes basic_publish wait for each confirm
        # before the next publish (one round trip per request: 769 requests/s here), so the I/O thread publishes
        # through the channel's asynchronous pika.channel.Channel (BlockingChannel._impl; pika 1.x, checked with
        # Debian's python3-pika 1.2.0): its basic_publish only buffers the frame, its confirm_delivery takes our
        # ack/nack callback, and returns come to our return callback. Both run on this thread, inside pika's I/O
        # loop. We keep BlockingConnection rather than moving to SelectConnection so that connecting (TLS,
        # timeouts), declaring and binding stay plain synchronous calls with pika's own error handling; only the
        # publish path is asynchronous. Delivery tags are our own counter, reset with each channel (AMQP numbers a
        # channel's publishes from 1 after confirm.select).
        impl = getattr(channel, "_impl", None)
        if impl is None or not callable(getattr(impl, "confirm_delivery", None)) \
                or not callable(getattr(impl, "add_on_return_callback", None)):
            conn.close()
            raise RuntimeError(f"grm_client needs pika 1.x (BlockingChannel._impl); found pika {pika.__version__}")
        self._generation += 1
        generation = self._generation
        self._unconfirmed = collections.OrderedDict()
        self._next_tag = 1
        selected: list[bool] = []
        impl.add_on_return_callback(lambda _ch, _m, _p, body: self._on_return(body, generation))
        impl.confirm_delivery(ack_nack_callback=lambda frame: self._on_confirm(frame, generation),
                              callback=lambda _frame: selected.append(True))
        # basic.qos is synchronous and the channel answers in order: once it returns, confirm.select-ok has come.
        channel.basic_qos(prefetch_count=self._prefetch)
        if not selected:
            raise _ConnectionLost("confirm.select was not answered")
        channel.exchange_declare(self.result_exchange, "topic", durable=True)
        channel.queue_declare(self.results_queue, durable=False, exclusive=False, auto_delete=False,
                              arguments={"x-expires": self._queue_expires_ms})
        with self._lock:
            routes = sorted(self._routes)
        for route in routes:
            channel.queue_bind(self.results_queue, self.result_exchange, routing_key=route)
            self._bound.add(route)
        self._consumer_tag = channel.basic_consume(self.results_queue, self._on_message)
        self._ch = channel
        self._impl = impl
        self._conn = conn
        # Everything sent on an earlier connection (confirmed or not) may have lost its result, or its publish, with
        # it: send it again, ahead of the requests never sent, through the same window.
        with self._lock:
            again = [p for p in self._pending.values() if p.published and not p.queued]
            for pending in again:
                pending.queued = True
            self._outbox.extendleft(reversed(again))

    def _serve(self) -> None:
        assert self._conn is not None
        while not self._closing.is_set():
            if self._drop_requested is not None:
                delete, self._drop_requested = self._drop_requested, None
                if delete:
                    self._ch.queue_delete(self.results_queue)
                self._conn.close()
                raise _ConnectionLost("dropped by _drop_connection")
            self._flush_outbox()
            self._expire()
            self._conn.process_data_events(time_limit=self._idle_wait())
            if not self._conn.is_open:
                raise _ConnectionLost("connection closed")
            if not self._ch.is_open:
                raise _ConnectionLost("channel closed")

    def _flush_outbox(self, limit: int = 256) -> None:
        for _ in range(limit):
            if len(self._unconfirmed) >= self._window:
                return  # _on_confirm wakes the loop when the window has room again
            with self._lock:
                if not self._outbox:
                    return
                pending = self._outbox.popleft()
                pending.queued = False
                if self._pending.get(pending.request_id) is not pending:
                    continue  # expired or cancelled before it went out
            if pending.route not in self._bound:
                self._ch.queue_bind(self.results_queue, self.result_exchange, routing_key=pending.route)
                self._bound.add(pending.route)
            self._publish(pending)

    def _publish(self, pending: _Pending) -> None:
        if pending.published:
            self.stats.republished += 1
        pending.published = True  # set first: a publish cut by a lost connection goes out again after reconnect
        tag = self._next_tag
        self._next_tag += 1
        self._unconfirmed[tag] = pending
        # Buffered, not awaited: the confirm comes to _on_confirm. Raises if the channel is gone (-> reconnect).
        self._impl.basic_publish("", self.score_queue, pending.body, self._props, mandatory=True)

    def _on_confirm(self, frame: Any, generation: int) -> None:
        """basic.ack / basic.nack for one delivery tag, or (multiple) for every tag up to it."""
        if generation != self._generation:
            return  # a channel already given up: its requests are re-sent on the new one
        method = frame.method
        tag, unconfirmed = method.delivery_tag, self._unconfirmed
        was_full = len(unconfirmed) >= self._window
        if method.multiple:
            done = []
            while unconfirmed and (tag == 0 or next(iter(unconfirmed)) <= tag):
                done.append(unconfirmed.popitem(last=False)[1])
        else:
            one = unconfirmed.pop(tag, None)
            done = [one] if one is not None else []
        if isinstance(method, pika.spec.Basic.Nack):
            for pending in done:
                self.stats.nacked += 1
                self._fail(pending, GrmPublishError(f"request {pending.request_id}: the broker nacked it"))
        else:
            for pending in done:
                if not pending.returned:
                    self.stats.published += 1
        if was_full and len(unconfirmed) < self._window and self._conn is not None:
            # process_data_events does not return for a confirm (pika delivers it below BlockingConnection);
            # a zero-delay timer makes it return so that the outbox flushes into the freed window now.
            self._conn.call_later(0, lambda: None)

    def _on_return(self, body: bytes, generation: int) -> None:
        """basic.return of a mandatory publish no queue took (its basic.ack follows): fail that request only."""
        if generation != self._generation:
            return
        try:
            raw = json.loads(body)
            request_id = raw.get("requestId") if isinstance(raw, dict) else None
        except ValueError:
            request_id = None
        with self._lock:
            pending = self._pending.get(request_id) if isinstance(request_id, str) else None
        if pending is None:
            return  # timed out or cancelled meanwhile
        pending.returned = True
        self.stats.unroutable += 1
        self._fail(pending, GrmPublishError(
            f"request {pending.request_id}: no queue '{self.score_queue}' took it (is a worker running?)"))

    def _on_message(self, channel: Any, method: Any, _properties: Any, body: bytes) -> None:
        try:
            raw = json.loads(body)
            request_id = raw.get("requestId") if isinstance(raw, dict) else None
        except ValueError:
            request_id = None
        with self._lock:
            pending = self._pending.pop(request_id, None) if isinstance(request_id, str) else None
        if pending is None:
            self.stats.ignored += 1
        else:
            self.stats.results += 1
            result = Result.from_json(raw)
            if pending.raise_on_error and not result.ok:
                self._set(pending.future, error=GrmJobError(result))
            else:
                self._set(pending.future, result=result)
        # Acked once handled: if the connection goes before the ack, the redelivery is a duplicate and ignored.
        channel.basic_ack(method.delivery_tag)

    def _expire(self) -> None:
        now = time.monotonic()
        expired = []
        with self._lock:
            while self._deadlines and self._deadlines[0][0] <= now:
                _, _, pending = heapq.heappop(self._deadlines)
                if self._pending.get(pending.request_id) is pending:
                    del self._pending[pending.request_id]
                    expired.append(pending)
        for pending in expired:
            self.stats.timeouts += 1
            self._set(pending.future, error=TimeoutError(
                f"no result for requestId {pending.request_id} within {pending.timeout:g} s"))

    def _idle_wait(self) -> float:
        with self._lock:
            if self._outbox and len(self._unconfirmed) < self._window:
                return 0  # more to publish now (with the window full, _on_confirm wakes the loop)
            if self._deadlines:
                return max(0.0, min(0.5, self._deadlines[0][0] - time.monotonic()))
        return 0.5

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._closing.is_set():
            self._expire()
            left = end - time.monotonic()
            if left <= 0:
                return
            self._closing.wait(min(left, 0.1))

    def _fail(self, pending: _Pending, error: BaseException) -> None:
        with self._lock:
            if self._pending.get(pending.request_id) is pending:
                del self._pending[pending.request_id]
        self._set(pending.future, error=error)

    @staticmethod
    def _set(future: Future, result: Any = None, error: BaseException | None = None) -> None:
        if future.done():
            return
        try:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
        except Exception:  # cancelled meanwhile
            pass

    def _discard_connection(self) -> None:
        conn, self._conn, self._ch, self._impl = self._conn, None, None, None
        self._generation += 1  # late confirms or returns of the old channel are ignored
        self._unconfirmed = collections.OrderedDict()
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except Exception:
                pass

    def _shutdown(self) -> None:
        if self._conn is not None and self._conn.is_open:
            try:
                self._ch.basic_cancel(self._consumer_tag)
                self._ch.queue_delete(self.results_queue)
            except Exception:
                pass
        self._discard_connection()
        with self._lock:
            left = list(self._pending.values())
            self._pending.clear()
            self._outbox.clear()
            self._deadlines.clear()
        for pending in left:
            self._set(pending.future, error=GrmClientClosed(f"request {pending.request_id}: the client was closed"))
