"""A batch job whose memory rises and falls: it loads records in batches, keeps an index of
every record it has seen, and drops each batch's parsed rows when the batch is done. Used by
the README's timeline picture (`memhound timeline`)."""

import json
import time

index: dict[int, str] = {}


def load_batch(start: int, size: int) -> list[dict]:
    return [
        json.loads(json.dumps({"id": n, "name": f"record-{n}", "tags": ["a"] * 8}))
        for n in range(start, start + size)
    ]


def run() -> None:
    held = []
    for batch in range(12):
        rows = load_batch(batch * 4000, 4000)
        for row in rows:
            index[row["id"]] = row["name"]
        held.append(rows)
        if len(held) > 4:  # keep the last four batches for retries
            held.pop(0)
        time.sleep(0.03)
    held.clear()
    time.sleep(0.1)


if __name__ == "__main__":
    run()
    print(f"indexed {len(index)} records")
