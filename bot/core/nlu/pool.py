"""Parses spread over one or more Rasa servers, with a budget instead of a cliff.

Rasa 3.6 parses one message at a time per process (about 20 ms of CPU each), so a peak beyond
what the replicas can do must wait somewhere. It waits here, in one FIFO queue per gateway, not
in Rasa's socket backlog: each replica gets at most `concurrency` parses at once (the least busy
healthy replica first), and a message that gets no slot within its budget (default 800 ms) raises
`NLUBusy`, which the dialogue answers honestly with its topic menu. Queue time is never a
failure: only a refused connection, a reset, a 5xx or a hung request takes a replica out
(`NLUUnavailable` when none is left), and a health check on `/status` every second puts it back.
The same checks learn which model each replica serves: the parse cache's key (cache.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bot.core.metrics import NLU_QUEUE_WAIT, NLU_REPLICAS
from bot.core.nlu.errors import NLUBusy, NLUUnavailable
from bot.core.nlu.replica import Replica, ReplicaFailed
from bot.core.nlu.result import ParseResult, to_result
from bot.core.nlu.spelling import for_model

log = logging.getLogger(__name__)


def resolved(url: str) -> list[str]:
    """`url` once per address its host name resolves to (compose's `deploy.replicas` puts every
    Rasa container behind one name); the URL itself if the name does not resolve."""
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname or "", parts.port or 80, type=socket.SOCK_STREAM)
    except OSError:
        return [url]
    addresses = sorted({str(info[4][0]) for info in infos})

    def netloc(host: str) -> str:
        return f"{f'[{host}]' if ':' in host else host}:{parts.port or 80}"

    return [urlunsplit(parts._replace(netloc=netloc(host))) for host in addresses] or [url]


class RasaPool:
    def __init__(self, session: aiohttp.ClientSession, urls: list[str], token: str = "",
                 *, timeout_seconds: float = 3.0, budget_seconds: float = 0.8,
                 concurrency: int = 4, health_interval: float = 1.0,
                 model_interval: float = 30.0, resolve: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._session = session
        self._configured = list(urls)  # already cleaned: bot.config.rasa_urls
        if not self._configured:
            raise ValueError("no Rasa URL given")
        self._token = token
        self.replicas = [Replica(url, token) for url in self._configured]
        self._timeout = timeout_seconds
        self._probe_timeout = aiohttp.ClientTimeout(total=min(timeout_seconds, 2.0))
        self.budget = budget_seconds
        self.concurrency = concurrency
        self._health_interval = health_interval
        self._model_interval = model_interval
        self._resolve = resolve
        self._clock = clock
        self._waiters: deque[asyncio.Future[Replica]] = deque()
        self._health_task: asyncio.Task[None] | None = None
        self._turn = 0
        NLU_REPLICAS.labels(state="healthy").set(len(self.replicas))
        NLU_REPLICAS.labels(state="down").set(0)

    # ------------------------------------------------------------------ parsing
    async def parse(self, text: str) -> ParseResult:
        """One parse within the budget: NLUBusy if no slot came in time, NLUUnavailable if no
        replica works. A replica that fails is taken out and the next one is tried."""
        self._start_health_checks()
        deadline = self._clock() + self.budget
        text = for_model(text)  # the one spelling the model was trained on (spelling.py)
        last_failure: ReplicaFailed | None = None
        for _ in range(len(self.replicas)):
            replica = await self._acquire(deadline)
            try:
                data = await replica.parse(text, self._timeout)
            except ReplicaFailed as exc:
                self._take_out(replica, exc)
                last_failure = exc
                continue
            finally:
                self._release(replica)
            return to_result(data)
        raise NLUUnavailable(str(last_failure or "no Rasa replica answered"))

    @property
    def model(self) -> str | None:
        """The model every healthy replica serves, or None while unknown or mixed (a rolling
        update): the parse cache is only used when this is known."""
        models = {r.model for r in self.replicas if r.healthy}
        return next(iter(models)) if len(models) == 1 and None not in models else None

    def _healthy(self) -> list[Replica]:
        return [r for r in self.replicas if r.healthy]

    def _pick(self) -> Replica | None:
        """The healthy replica with the fewest parses in flight and a free slot; ties go round
        the list so that equally idle replicas share the work."""
        free = [r for r in self._healthy() if r.outstanding < self.concurrency]
        if not free:
            return None
        self._turn += 1
        order = {id(r): (i - self._turn) % len(self.replicas)
                 for i, r in enumerate(self.replicas)}
        return min(free, key=lambda r: (r.outstanding, order[id(r)]))

    async def _acquire(self, deadline: float) -> Replica:
        if not self._healthy():
            raise NLUUnavailable("every Rasa replica is down")
        while self._waiters and self._waiters[0].done():
            self._waiters.popleft()
        if not self._waiters:  # nobody is queueing: no overtaking, take a slot at once
            replica = self._pick()
            if replica is not None:
                replica.outstanding += 1
                return replica
        started = self._clock()
        waiter: asyncio.Future[Replica] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            # asyncio.timeout, not asyncio.wait: no task, set and callbacks per waiting message
            async with asyncio.timeout(max(deadline - started, 0.0)):
                return await waiter  # NLUUnavailable if every replica went down meanwhile
        except TimeoutError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                return waiter.result()  # the slot came as the budget ran out: use it
            waiter.cancel()
            raise NLUBusy(f"no Rasa slot within {self.budget * 1000:.0f} ms") from None
        except asyncio.CancelledError:
            self._abandon(waiter)
            raise
        finally:
            NLU_QUEUE_WAIT.observe(self._clock() - started)

    def _abandon(self, waiter: asyncio.Future[Replica]) -> None:
        """The caller went away (its request was cancelled): hand back a slot given to it."""
        if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
            self._release(waiter.result())
        else:
            waiter.cancel()

    def _release(self, replica: Replica) -> None:
        replica.outstanding -= 1
        self._dispatch()

    def _dispatch(self) -> None:
        """Give free slots to the waiters, oldest first."""
        while self._waiters:
            if self._waiters[0].done():
                self._waiters.popleft()
                continue
            replica = self._pick()
            if replica is None:
                return
            replica.outstanding += 1
            self._waiters.popleft().set_result(replica)

    # ------------------------------------------------------------------ health
    def _take_out(self, replica: Replica, reason: Exception) -> None:
        replica.close()  # its idle connections went with whatever failed
        if replica.healthy:
            replica.healthy = False
            log.warning("nlu_replica_down", extra={"replica": replica.name,
                                                   "detail": str(reason)})
            self._count()
        if not self._healthy():
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_exception(NLUUnavailable("every Rasa replica is down"))

    def _put_back(self, replica: Replica) -> None:
        if not replica.healthy:
            replica.healthy = True
            log.info("nlu_replica_up", extra={"replica": replica.name})
            self._count()
            self._dispatch()

    def _count(self) -> None:
        healthy = len(self._healthy())
        NLU_REPLICAS.labels(state="healthy").set(healthy)
        NLU_REPLICAS.labels(state="down").set(len(self.replicas) - healthy)

    def _start_health_checks(self) -> None:
        if self._health_task is None or self._health_task.done():
            self._health_task = asyncio.get_running_loop().create_task(self._health_loop())

    async def _health_loop(self) -> None:
        """Every second: probe replicas that are out. Every `model_interval`: every replica,
        for the model it serves (and, with `resolve`, the replicas behind each name)."""
        next_full = 0.0
        while True:
            full = self._clock() >= next_full
            if full:
                next_full = self._clock() + self._model_interval
                if self._resolve:
                    await self._refresh_addresses()
            await self._probe([r for r in self.replicas if full or not r.healthy])
            await asyncio.sleep(self._health_interval)

    async def _probe(self, replicas: list[Replica]) -> list[tuple[bool, str]]:
        """Ask each replica's `/status` at once; put back those that answer ready."""
        results = await asyncio.gather(*(r.status(self._session, self._probe_timeout)
                                         for r in replicas))
        for replica, (ready, _) in zip(replicas, results, strict=True):
            if ready:
                self._put_back(replica)
        return list(results)

    async def _refresh_addresses(self) -> None:
        loop = asyncio.get_running_loop()
        urls: list[str] = []
        for url in self._configured:
            urls += await loop.run_in_executor(None, resolved, url)
        known = {r.url: r for r in self.replicas}
        if set(urls) != set(known):
            self.replicas = [known.get(url) or Replica(url, self._token, healthy=False)
                             for url in dict.fromkeys(urls)]
            for gone in set(known) - set(urls):
                known[gone].close()
            log.info("nlu_replicas", extra={"count": len(self.replicas)})
            self._count()

    async def status(self) -> tuple[bool, str]:
        """(ready, detail) for `/readyz`: at least one replica answers with a model loaded."""
        results = await self._probe(self.replicas)
        ready = [ok for ok, _ in results if ok]
        if len(self.replicas) == 1:
            return results[0]
        details = "; ".join(f"{r.name}: {detail}" for r, (_, detail) in
                            zip(self.replicas, results, strict=True) if detail != "ok")
        summary = f"{len(ready)}/{len(self.replicas)} replicas ready"
        return bool(ready), f"{summary} ({details})" if details else summary

    async def close(self) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health_task
        for replica in self.replicas:
            replica.close()
