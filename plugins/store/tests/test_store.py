import pytest

from logomesh_studio.sdk import RemoteError


def test_put_then_get(harness):
    assert harness.send("store", "put", {"key": "k", "value": [1, 2]}) == {"key": "k", "stored": True}
    assert harness.send("store", "get", {"key": "k"}) == [1, 2]


def test_get_missing_key_returns_default(harness):
    assert harness.send("store", "get", {"key": "missing", "default": 0}) == 0


def test_keys_and_delete(harness):
    harness.send("store", "put", {"key": "a", "value": 1})
    assert "a" in harness.send("store", "keys")
    assert harness.send("store", "delete", {"key": "a"}) is True
    assert harness.send("store", "delete", {"key": "a"}) is False


def test_store_is_the_preferred_storage_provider(harness):
    provider, reply = harness.request_capability("storage", {"key": "cap", "value": "v"})
    assert provider == "store" and reply["stored"] is True


def test_bad_request_leaves_the_store_running(harness):
    with pytest.raises(RemoteError, match="KeyError"):
        harness.send("store", "put", {"value": "no key"})
    assert harness.send("store", "get", {"key": "missing"}) is None
