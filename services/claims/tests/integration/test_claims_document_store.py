"""Claim documents are written in GridFS's layout without the bucket's upload, and read back by the bucket."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from bson import ObjectId
from gridfs import AsyncGridFSBucket
from prometheus_client import REGISTRY

from jmo_claims.adapters.collections import DOCUMENT_CHUNKS, DOCUMENT_FILES, DOCUMENTS_BUCKET, ensure_indexes
from jmo_claims.adapters.documents import CHUNK_SIZE, DocumentStore
from jmo_shared.mongo import Database, make_client

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def db(infra):
    client = make_client(infra.mongo_uri)
    database = Database(client, f"t_documents_{uuid.uuid4().hex[:10]}", "claims")
    await ensure_indexes(database)
    try:
        yield database
    finally:
        await client.drop_database(database.db.name)
        await client.close()


def _finds(collection: str) -> float:
    return REGISTRY.get_sample_value("mongo_commands_total", {"command": "find", "collection": collection}) or 0.0


async def _save(store: DocumentStore, content: bytes, member_id: str = "m-1") -> str:
    return await store.save(
        member_id=member_id,
        nik="3174011506890001",
        kind="ktp",
        filename="ktp.jpg",
        content=content,
        content_type="image/jpeg",
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_at=datetime(2026, 12, 7, 9, 30, 15, 123000, tzinfo=UTC),
    )


async def test_a_document_of_several_chunks_round_trips_through_the_bucket(db: Database) -> None:
    store = DocumentStore(db)
    content = os.urandom(2 * CHUNK_SIZE + 1234)  # two full chunks and a short last one
    finds_before = {c: _finds(c) for c in (DOCUMENT_FILES, DOCUMENT_CHUNKS)}
    document_id = await _save(store, content)
    # The upload reads neither collection (the bucket's upload looked for any document in both first).
    assert {c: _finds(c) for c in (DOCUMENT_FILES, DOCUMENT_CHUNKS)} == finds_before

    chunks = await db[DOCUMENT_CHUNKS].find({}, {"n": 1, "data": 1}).sort("n", 1).to_list()
    assert [c["n"] for c in chunks] == [0, 1, 2]
    assert [len(c["data"]) for c in chunks] == [CHUNK_SIZE, CHUNK_SIZE, 1234]

    bucket = AsyncGridFSBucket(db.db, bucket_name=DOCUMENTS_BUCKET)
    stream = await bucket.open_download_stream(ObjectId(document_id))
    assert await stream.read() == content
    assert stream.filename == "ktp.jpg" and stream.length == len(content) and stream.chunk_size == CHUNK_SIZE
    assert b"".join([chunk async for chunk in store.chunks(document_id)]) == content
    (described,) = await store.described([document_id])
    assert (described.member_id, described.kind, described.size) == ("m-1", "ktp", len(content))
    assert described.sha256 == hashlib.sha256(content).hexdigest()
    assert await store.pending_count("m-1", up_to=5) == 1


async def test_an_empty_document_is_a_file_without_chunks(db: Database) -> None:
    store = DocumentStore(db)
    document_id = await _save(store, b"", member_id="m-empty")
    assert b"".join([chunk async for chunk in store.chunks(document_id)]) == b""
    (described,) = await store.described([document_id])
    assert described.size == 0


async def test_gridfs_own_indexes_are_ours_to_create(db: Database) -> None:
    chunks = {tuple(i["key"].items()): i.get("unique", False) async for i in await db[DOCUMENT_CHUNKS].list_indexes()}
    files = {tuple(i["key"].items()) async for i in await db[DOCUMENT_FILES].list_indexes()}
    assert chunks[(("files_id", 1), ("n", 1))] is True
    assert (("filename", 1), ("uploadDate", 1)) in files
