"""IdempotencyStore.run, the one Idempotency-Key sequence of every create, on the real database."""

from __future__ import annotations

from typing import Any

import pytest

from jmo_shared.errors import DomainError, ErrorKind
from jmo_shared.idempotency import IdempotencyStore, StoredAnswer
from jmo_shared.mongo import Database, Tx

pytestmark = pytest.mark.integration


class Creates:
    """A create that counts its runs and stores its answer in its own transaction."""

    def __init__(self, db: Database, store: IdempotencyStore, key: str | None, fail: BaseException | None = None):
        self.db, self.store, self.key, self.fail, self.runs = db, store, key, fail, 0

    async def __call__(self) -> dict[str, Any]:
        self.runs += 1
        if self.fail is not None:
            raise self.fail

        async def work(tx: Tx) -> dict[str, Any]:
            answer = {"id": f"made-{self.runs}"}
            await tx["things"].insert_one(answer | {"_id": answer["id"]}, session=tx.session)
            if self.key is not None:
                await self.store.complete(tx, "m-1", self.key, 201, answer)
            return answer

        return await self.db.transaction(work)


def body(stored: StoredAnswer) -> dict[str, Any]:
    return stored.body


async def test_a_replay_gets_the_first_answer_and_creates_nothing(database: Database) -> None:
    store = IdempotencyStore(database, "test")
    create = Creates(database, store, "k-1")
    first = await store.run("m-1", "k-1", {"a": 1}, "create it", create, body)
    again = await store.run("m-1", "k-1", {"a": 1}, "create it", create, body)
    assert first == again == {"id": "made-1"}
    assert create.runs == 1
    assert await database["things"].count_documents({}) == 1


async def test_a_required_key_missing_is_a_bad_request_naming_the_action(database: Database) -> None:
    store = IdempotencyStore(database, "test")
    create = Creates(database, store, None)
    with pytest.raises(DomainError) as refused:
        await store.run("m-1", None, {"a": 1}, "file the complaint", create, body)
    assert (refused.value.kind, refused.value.code) == (ErrorKind.BAD_REQUEST, "idempotency_key_required")
    assert "file the complaint twice" in refused.value.detail
    assert create.runs == 0


async def test_an_optional_key_missing_just_runs_the_create(database: Database) -> None:
    store = IdempotencyStore(database, "test")
    create = Creates(database, store, None)
    await store.run("m-1", None, {"a": 1}, "merge", create, body, required=False)
    await store.run("m-1", None, {"a": 1}, "merge", create, body, required=False)
    assert create.runs == 2


async def test_the_same_key_with_another_request_is_refused(database: Database) -> None:
    store = IdempotencyStore(database, "test")
    await store.run("m-1", "k-2", {"a": 1}, "create it", Creates(database, store, "k-2"), body)
    with pytest.raises(DomainError) as refused:
        await store.run("m-1", "k-2", {"a": 2}, "create it", Creates(database, store, "k-2"), body)
    assert refused.value.code == "idempotency_key_reused"


async def test_a_refusal_gives_the_key_back_for_a_corrected_request(database: Database) -> None:
    store = IdempotencyStore(database, "test")
    refused = Creates(database, store, "k-3", fail=DomainError("no", "not like this"))
    with pytest.raises(DomainError):
        await store.run("m-1", "k-3", {"a": 1}, "merge", refused, body, release_on=DomainError)
    corrected = Creates(database, store, "k-3")
    assert await store.run("m-1", "k-3", {"a": 1}, "merge", corrected, body, release_on=DomainError) == {"id": "made-1"}


async def test_a_failure_outside_release_on_keeps_the_key_in_flight(database: Database) -> None:
    store = IdempotencyStore(database, "test")
    unknown = Creates(database, store, "k-4", fail=ConnectionError("commit outcome unknown"))
    with pytest.raises(ConnectionError):
        await store.run("m-1", "k-4", {"a": 1}, "merge", unknown, body, release_on=DomainError)
    retry = Creates(database, store, "k-4")
    with pytest.raises(DomainError) as in_flight:
        await store.run("m-1", "k-4", {"a": 1}, "merge", retry, body, release_on=DomainError)
    assert (in_flight.value.kind, in_flight.value.code) == (ErrorKind.CONFLICT, "request_in_flight")
    assert retry.runs == 0
    # The default gives the key back after any failure.
    crashed = Creates(database, store, "k-5", fail=ConnectionError("away"))
    with pytest.raises(ConnectionError):
        await store.run("m-1", "k-5", {"a": 1}, "create it", crashed, body)
    assert await store.run("m-1", "k-5", {"a": 1}, "create it", Creates(database, store, "k-5"), body) == {
        "id": "made-1"
    }
