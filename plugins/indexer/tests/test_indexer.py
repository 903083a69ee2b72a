def test_index_counts_and_stores_then_lookup_reads_back(harness):
    reply = harness.send("indexer", "index", {"id": "doc1", "text": "to be or not to be"})
    assert reply == {"id": "doc1", "words": 6, "stored_in": "store"}
    summary = harness.send("indexer", "lookup", {"id": "doc1"})
    assert summary["total"] == 6 and summary["top"][0] == ["to", 2]
