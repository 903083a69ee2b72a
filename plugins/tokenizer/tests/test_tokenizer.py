import pytest

from logomesh_studio.sdk import RemoteError


def test_tokenize_lowercases_words(harness):
    reply = harness.send("tokenizer", "tokenize", {"text": "Hello, World! it's here"})
    assert reply == {"tokens": ["hello", "world", "it's", "here"]}


def test_non_string_text_is_a_clear_remote_error(harness):
    with pytest.raises(RemoteError, match="text must be a string"):
        harness.send("tokenizer", "tokenize", {"text": 42})
