def test_archive_provides_storage_through_execute(harness):
    assert harness.host.bus.providers("storage") == ["store", "archive"]
    assert harness.execute("archive", {"key": "x"}) == {"stored": True, "position": 0}
    assert harness.send("archive", "records") == [{"key": "x"}]
