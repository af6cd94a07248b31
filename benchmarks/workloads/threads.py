"""Workload: four threads allocating concurrently (lists, dicts, strings, small objects).

Usage: python threads.py [SCALE]   (SCALE multiplies the amount of work; default 1.0)
"""

from __future__ import annotations

import sys
import threading

THREADS = 4


class Message:
    def __init__(self, sender: int, body: str) -> None:
        self.sender = sender
        self.body = body
        self.headers = {"from": str(sender), "length": len(body)}


def worker(thread_index: int, rounds: int, results: list[int]) -> None:
    delivered = 0
    for round_index in range(rounds):
        inbox = [Message(thread_index, f"message {round_index}-{i}") for i in range(200)]
        delivered += sum(message.headers["length"] for message in inbox)  # type: ignore[misc]
    results[thread_index] = delivered


def main(scale: float) -> None:
    rounds = max(1, int(450 * scale))
    results = [0] * THREADS
    threads = [
        threading.Thread(target=worker, args=(i, rounds, results), name=f"worker-{i}")
        for i in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"threads: {sum(results)}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
