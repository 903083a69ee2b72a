"""Tokenizer: splits text into lowercase words."""

import re

from logomesh_studio.sdk import Message, Plugin, handler

WORD = re.compile(r"[\w']+")


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens of ``text``."""
    return [word.lower() for word in WORD.findall(text)]


class TokenizerPlugin(Plugin):
    """``tokenize {text}`` -> ``{tokens}``."""

    @handler("tokenize")
    def on_tokenize(self, message: Message):
        text = message.payload.get("text", "")
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, not {type(text).__name__}")
        return {"tokens": tokenize(text)}

    def execute(self, input):
        return {"tokens": tokenize(str(input.get("text", "")))}
