"""Identity's worker process: the registry consumers and the outbox relay (health/metrics on worker_port)."""

from __future__ import annotations


def main() -> None:
    from jmo_shared.runtime import serve

    from ..bootstrap import create_worker
    from ..settings import IdentitySettings

    settings = IdentitySettings()
    serve(create_worker(settings), settings, port=settings.worker_port)


if __name__ == "__main__":
    main()
