"""The back office's ports to the outside: the services' APIs, sessions, staff accounts, the identity provider."""
