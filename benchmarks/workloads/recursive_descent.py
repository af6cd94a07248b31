"""Workload: a recursive descent parser and evaluator, 100 to 900 frames deep, down and up again.

Each round builds nested arithmetic text, parses it into tuples (three frames per nesting level,
each reading characters and slicing numbers), evaluates the tree recursively and walks a JSON-like
document of nested lists and dicts; allocations happen at every depth on the way down and up.
Usage: python recursive_descent.py [SCALE]   (SCALE multiplies the amount of work; default 1.0)
"""

from __future__ import annotations

import sys

NESTINGS = (30, 120, 300)  # 90, 360 and 900 frames deep while parsing


def nested_text(levels: int) -> str:
    text = "1"
    for level in range(1, levels + 1):
        text = f"({text}+{level})*2"
    return text


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def expression(self) -> object:
        node = self.term()
        while self.peek() == "+":
            self.pos += 1
            node = ("+", node, self.term())
        return node

    def term(self) -> object:
        node = self.atom()
        while self.peek() == "*":
            self.pos += 1
            node = ("*", node, self.atom())
        return node

    def atom(self) -> object:
        if self.peek() == "(":
            self.pos += 1
            node = self.expression()
            self.pos += 1  # the closing parenthesis
            return node
        start = self.pos
        while self.peek().isdigit():
            self.pos += 1
        return int(self.text[start : self.pos])


def evaluate(node: object) -> int:
    if isinstance(node, int):
        return node
    operator, left, right = node  # type: ignore[misc]
    if operator == "+":
        return evaluate(left) + evaluate(right)
    return evaluate(left) * evaluate(right) % 1_000_003


def document(depth: int) -> object:
    if depth == 0:
        return {"leaf": [depth, str(depth)]}
    return {"depth": depth, "children": [document(depth - 1)], "tags": [f"t{depth}"]}


def walk(node: object) -> int:
    if isinstance(node, dict):
        return 1 + sum(walk(value) for value in node.values())
    if isinstance(node, list):
        return len([walk(item) for item in node])
    return 1


def main(scale: float) -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    texts = [nested_text(levels) for levels in NESTINGS]
    total = 0
    for _ in range(max(1, int(300 * scale))):
        for text in texts:
            total += evaluate(Parser(text).expression())
        total += walk(document(250))
    print(f"recursive_descent: {total}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
