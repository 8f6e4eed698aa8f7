"""Redis Sentinel: the master dies in the middle of a conversation and the conversation goes on.

A master, a replica and three sentinels run as real redis-server processes on loopback; the
gateway finds the master through the sentinels only (LOTSEN_REDIS_SENTINELS). The test kills the
master with SIGKILL and the next message must be answered, in the same session with its
language and earlier messages, within 15 s and without restarting anything.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis as SyncRedis

from bot.runtime.gateway import create_app
from scripts.stack import free_port
from tests.conftest import Conversation, make_settings

SERVICE = "lotsen-test"


def wait_until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        except Exception as exc:  # redis errors while a server starts
            if "Connection" not in type(exc).__name__ and "Loading" not in type(exc).__name__:
                raise
        time.sleep(0.1)
    raise TimeoutError(f"{what} within {timeout:.0f} s")


class SentinelSet:
    """Master, replica and three sentinels, each its own redis-server process."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("the Sentinel test needs redis-server (Debian package redis-server)")
        self.binary, self.folder = binary, folder
        self.master_port, self.replica_port = free_port(), free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: dict[str, subprocess.Popen] = {}

    def _start(self, name: str, args: list[str]) -> None:
        self.processes[name] = subprocess.Popen(
            [self.binary, *args], cwd=self.folder, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)

    def start(self) -> None:
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self._start("master", ["--port", str(self.master_port), *common])
        self._start("replica", ["--port", str(self.replica_port), *common,
                                "--replicaof", "127.0.0.1", str(self.master_port)])
        master = SyncRedis(port=self.master_port)
        wait_until(lambda: master.info("replication")["connected_slaves"] == 1
                   and master.info("replication")["slave0"]["state"] == "online", 15,
                   "the replica did not sync")
        for i, port in enumerate(self.sentinel_ports):
            config = self.folder / f"sentinel-{i}.conf"  # Sentinel rewrites its file: ours
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.folder}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.master_port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 2000\n")
            self._start(f"sentinel-{i}", [str(config), "--sentinel"])
        for port in self.sentinel_ports:  # every sentinel knows the replica and the others
            sentinel = SyncRedis(port=port, decode_responses=True)
            wait_until(lambda s=sentinel: len(s.sentinel_slaves(SERVICE)) == 1
                       and len(s.sentinel_sentinels(SERVICE)) == 2, 20,
                       "the sentinels did not find each other")

    def master(self) -> tuple[str, int]:
        sentinel = SyncRedis(port=self.sentinel_ports[0], decode_responses=True)
        host, port = sentinel.sentinel_get_master_addr_by_name(SERVICE)
        return host, int(port)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelSet]:
    group = SentinelSet(tmp_path)
    try:
        group.start()
        yield group
    finally:
        group.stop()


async def test_a_master_failover_during_a_conversation_loses_nothing_and_needs_no_restart(
        aiohttp_client, rasa_server, prefix, sentinels) -> None:
    settings = make_settings(
        prefix, rasa_server, redis_url="redis://ignored-under-sentinel:6379/0",
        redis_sentinels=",".join(f"127.0.0.1:{port}" for port in sentinels.sentinel_ports),
        redis_service=SERVICE)
    client = await aiohttp_client(create_app(settings))
    talk = await Conversation.start(client)
    first = await talk.say("مرحبا، ما هو sfi للآباء في إجازة الوالدين؟")
    assert talk.language == "ar" and first
    said_before = len(await talk.messages())
    master = SyncRedis(port=sentinels.master_port)
    master.wait(1, 2000)  # the replica has everything so far (replication is asynchronous)

    sentinels.processes["master"].kill()
    killed = time.monotonic()
    while True:  # the gateway retries by itself; the person (or the widget) may send again
        resp = await client.post(f"/webchat/sessions/{talk.session}/messages",
                                 json={"text": "شكرا"})
        waited = time.monotonic() - killed
        if resp.status == 200 or waited > 15:
            break
        assert resp.status == 503, await resp.text()  # "temporarily unavailable", never a 500
    assert resp.status == 200 and waited <= 15, f"{resp.status} {waited:.1f} s after the kill"
    data = await resp.json()
    assert data["language"] == "ar" and data["replies"]  # the session and its language survived
    assert sentinels.master() == ("127.0.0.1", sentinels.replica_port)  # Sentinel promoted it
    assert len(await talk.messages()) > said_before  # earlier messages kept, the new one added

    later = await Conversation.start(client)  # new conversations work on the new master
    assert await later.say("hej")
