"""The census of open resources: what is open, described, and what was opened since."""

from __future__ import annotations

import asyncio
import io
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading

from memhound._leaks._resources import take_census


def new_descriptions(before, after) -> list[str]:
    return sorted(resource.description for resource in after.new_since(before).values())


def test_open_files_sockets_and_connections_are_counted_and_described():
    before = take_census()
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - kept open on purpose
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn = sqlite3.connect(":memory:")
    memory = io.BytesIO(b"not a resource")
    after = take_census()
    try:
        described = new_descriptions(before, after)
        assert f"_io.BufferedRandom name={handle.fileno()} (open)" in described
        assert any(
            d.startswith(f"socket.socket fd={sock.fileno()} AF_INET SOCK_STREAM") for d in described
        )
        assert "sqlite3.Connection ':memory:' (open)" in described
        assert not any("BytesIO" in d for d in described)
        assert after.counts()["fd"] >= before.counts()["fd"] + 2
    finally:
        handle.close()
        sock.close()
        conn.close()
        memory.close()
    assert new_descriptions(before, take_census()) == []


def test_an_open_mmap_is_a_resource():
    import mmap

    before = take_census()
    mapping = mmap.mmap(-1, 8192)
    try:
        assert new_descriptions(before, take_census()) == ["mmap.mmap size=8192 (open)"]
    finally:
        mapping.close()
    assert new_descriptions(before, take_census()) == []


def test_a_wrapped_file_counts_once():
    before = take_census()
    with open(__file__, encoding="utf-8") as text:
        described = new_descriptions(before, take_census())
        assert described == [f"_io.TextIOWrapper name={text.name!r} (open)"]


def test_threads_processes_and_pending_tasks():
    before = take_census()
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="census-worker", daemon=True)
    thread.start()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    loop = asyncio.new_event_loop()
    task = loop.create_task(asyncio.sleep(60), name="census-task")
    try:
        described = new_descriptions(before, take_census())
        assert "threading.Thread 'census-worker' daemon (alive)" in described
        assert any(d.startswith(f"subprocess.Popen pid={child.pid}") for d in described)
        assert "_asyncio.Task 'census-task' coro=sleep() (pending)" in described
    finally:
        stop.set()
        thread.join()
        child.kill()
        child.wait()
        task.cancel()
        loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
        loop.close()
    assert new_descriptions(before, take_census()) == []
