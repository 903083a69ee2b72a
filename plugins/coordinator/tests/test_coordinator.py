def test_process_runs_the_whole_pipeline_as_a_workflow(harness):
    reply = harness.send("coordinator", "process", {"id": "d7", "text": "one two two"})
    assert reply["status"] == "completed"
    assert reply["steps"] == [["tokens", "completed"], ["counts", "completed"],
                              ["index", "completed"], ["echo", "completed"]]
    assert harness.send("indexer", "lookup", {"id": "d7"})["total"] == 3


def test_ping_all_broadcasts_to_every_echo_handler(harness):
    assert harness.send("coordinator", "ping-all") == ["echo"]
