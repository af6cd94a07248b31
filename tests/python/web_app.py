"""A small Flask + SQLAlchemy application for the framework tests (test_leaks_frameworks.py):
one tidy endpoint, one that keeps every request's JSON in a module list, one that goes through
the ORM. The units at the end drive it through Flask's test client."""

from flask import Flask, jsonify, request
from sqlalchemy import Column, Integer, String, create_engine, select
from sqlalchemy.orm import Session, declarative_base

app = Flask(__name__)
engine = create_engine("sqlite://")
Base = declarative_base()
AUDIT = []


class Item(Base):
    __tablename__ = "items"
    id = Column(Integer, primary_key=True)
    name = Column(String)


Base.metadata.create_all(engine)


@app.route("/tidy/<int:n>")
def tidy_view(n):
    return jsonify(n=n, q=request.args.get("q", ""))


@app.route("/audit/<int:n>", methods=["POST"])
def audit_view(n):
    AUDIT.append(request.get_json())  # the leak: every request's body, kept
    return jsonify(ok=True)


@app.route("/items/<int:n>")
def items_view(n):
    with Session(engine) as session:
        session.add(Item(name=f"item-{n}"))
        session.flush()
        rows = session.execute(select(Item).where(Item.id <= n % 7)).scalars().all()
        session.rollback()
    return jsonify(count=len(rows))


client = app.test_client()


def tidy(i):
    client.get(f"/tidy/{i}?q=x{i}")


def leaky(i):
    client.post(f"/audit/{i}", json={"n": i, "payload": "x" * 100})
    client.get(f"/tidy/{i}?q=x{i}")


def items(i):
    client.get(f"/items/{i}")
