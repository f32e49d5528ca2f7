"""MongoDB repositories and the ports to argon2, the signing keys and the face engine."""
