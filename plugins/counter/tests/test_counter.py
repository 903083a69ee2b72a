import pytest

from logomesh_studio.sdk import PermissionDenied


def test_count_uses_the_tokenizer(harness):
    reply = harness.send("counter", "count", {"text": "a b a c a b", "top": 2})
    assert reply == {"total": 6, "unique": 3, "top": [["a", 3], ["b", 2]]}
    peers = {c.peer: c for c in harness.host.bus.connections("counter")}
    assert peers["tokenizer"].sent >= 1


def test_counter_may_only_send_tokenize_to_the_tokenizer(harness):
    with pytest.raises(PermissionDenied, match="send:store:get"):
        harness.send("store", "get", {"key": "x"}, as_="counter")
