"""The object store: safe key mapping, atomic commits, forbid-overwrite races, persistence."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from localcloud.oss.errors import OssError
from localcloud.oss.store import ObjectMeta, ObjectStore

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def meta(key: str, size: int = 1) -> ObjectMeta:
    return ObjectMeta(key=key, size=size, etag="ABC", crc64=7, content_type="text/plain",
                      last_modified=NOW, metadata={"x-oss-meta-a": "b"})


def spooled(store: ObjectStore, data: bytes) -> Path:
    path = store.spool_dir("b") / f"t-{threading.get_ident()}-{len(data)}-{id(data)}"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("key", ["../../escape", "a/../../b", "/abs", "nul\x00byte", "x" * 1023,
                                 "ünïcode/ключ", "a\\b", "."])
def test_any_key_stays_inside_the_bucket_directory(tmp_path: Path, key: str) -> None:
    store = ObjectStore(tmp_path / "buckets")
    store.commit("b", spooled(store, b"data"), meta(key, 4), forbid_overwrite=False)
    files = [p for p in (tmp_path / "buckets").rglob("*") if p.is_file()]
    assert all((tmp_path / "buckets" / "b" / "objects") in p.parents for p in files)
    with store.open("b", key) as found:
        assert found is not None
        assert found[0].key == key and found[1].read() == b"data"


def test_objects_survive_a_new_store_instance(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    store.commit("b", spooled(store, b"kept"), meta("k", 4), forbid_overwrite=False)
    again = ObjectStore(tmp_path)
    assert again.head("b", "k") == meta("k", 4)
    assert [m.key for m in again.list("b")] == ["k"]


def test_forbid_overwrite_race_stores_exactly_one(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    temps = [spooled(store, f"v{i}".encode() * (i + 1)) for i in range(20)]
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def commit(i: int) -> None:
        barrier.wait()
        try:
            store.commit("b", temps[i], meta("same"), forbid_overwrite=True)
            result = "stored"
        except OssError as err:
            result = f"{err.status} {err.code}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["409 FileAlreadyExists"] * 19 + ["stored"]
    assert list(store.spool_dir("b").iterdir()) == []


def test_overwrite_replaces_while_an_open_reader_keeps_its_view(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    store.commit("b", spooled(store, b"old"), meta("k", 3), forbid_overwrite=False)
    with store.open("b", "k") as found:
        assert found is not None
        store.commit("b", spooled(store, b"newer"), meta("k", 5), forbid_overwrite=False)
        assert found[1].read() == b"old"
    with store.open("b", "k") as found:
        assert found is not None and found[1].read() == b"newer"


def test_delete_reports_whether_the_object_existed(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    store.commit("b", spooled(store, b"x"), meta("k"), forbid_overwrite=False)
    assert store.delete("b", "k") is True
    assert store.delete("b", "k") is False
    assert store.head("b", "k") is None
