"""Workload: a stdlib-heavy program (json, re, collections, email, textwrap, datetime).

Usage: python stdlib_mix.py [SCALE]   (SCALE multiplies the amount of work; default 1.0)
"""

from __future__ import annotations

import collections
import datetime
import email.message
import email.parser
import email.policy
import json
import re
import sys
import textwrap

WORD = re.compile(r"[A-Za-z]+")


def make_message(index: int) -> str:
    message = email.message.EmailMessage()
    message["From"] = f"sender{index}@example.org"
    message["To"] = "team@example.org"
    message["Subject"] = f"Report {index}"
    day = datetime.date(2024, 1, 1) + datetime.timedelta(days=index % 365)
    payload = {"index": index, "day": day.isoformat(), "values": list(range(index % 20))}
    message.set_content(json.dumps(payload) + "\n" + textwrap.fill("lorem ipsum dolor " * 8, 40))
    return message.as_string()


def analyse(raw: str, words: collections.Counter[str]) -> int:
    parsed = email.parser.Parser(policy=email.policy.default).parsestr(raw)
    body = parsed.get_content()  # type: ignore[attr-defined]
    first_line, _, text = body.partition("\n")
    data = json.loads(first_line)
    words.update(word.lower() for word in WORD.findall(text))
    return sum(data["values"]) + len(parsed["Subject"])


def main(scale: float) -> None:
    count = max(1, int(300 * scale))
    words: collections.Counter[str] = collections.Counter()
    total = sum(analyse(make_message(i), words) for i in range(count))
    print(f"stdlib_mix: {total} {words.most_common(1)}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
