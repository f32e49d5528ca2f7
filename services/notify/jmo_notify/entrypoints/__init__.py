"""notify's processes: the API (member inbox, preferences, operators' dead letters) and the worker."""
