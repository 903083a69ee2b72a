"""One module per pane: plugins, messages, logs, reloads."""
