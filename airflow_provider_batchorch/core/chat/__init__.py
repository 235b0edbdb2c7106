"""Chat requests and replies, plain Python: the offline request parser and its recommendation of agents, the request
policy every draft passes, follow-up commands, and the texts of the replies."""
