"""Messages about batches to people: Slack threads and slash-command replies."""
