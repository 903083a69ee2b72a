def test_echo_returns_the_payload(harness):
    assert harness.send("echo", "echo", {"nested": [1, {"a": None}]}) == {"nested": [1, {"a": None}]}


def test_echo_counts_what_it_echoed(harness):
    before = harness.host.instance("echo").data.get("echoed", 0)
    harness.send("echo", "echo", "again")
    assert harness.host.instance("echo").data["echoed"] == before + 1


def test_echo_is_loaded_from_manifest_json(harness):
    assert harness.plugin("echo").manifest_path.endswith("manifest.json")
