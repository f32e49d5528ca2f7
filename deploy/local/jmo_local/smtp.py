"""The local SMTP server: every message notify sends is kept as an .eml file.

`make run` starts it as a program of its own (`python -m jmo_local.smtp --port 1025 --dir $DATA_DIR/mail`);
the end-to-end stack (jmo_local.system.own_stack) and notify's tests run it in a thread (`MailServer`).
There is no relay: nothing leaves the machine. Read a message with any mail client, or:
`python -c "import email,sys; print(email.message_from_bytes(open(sys.argv[1],'rb').read()))" FILE`.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import os
import signal
import threading
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

DEFAULT_PORT = 1025


class _KeepAsFiles:
    """aiosmtpd handler: one .eml file per message (written whole, then renamed into place)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook name
        self.directory.mkdir(parents=True, exist_ok=True)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode()
        head = (f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n").encode()
        name = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:12]}.eml"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(head + content)
        os.replace(partial, self.directory / name)
        print(f"smtp: {name} to {', '.join(envelope.rcpt_tos)}", flush=True)
        return "250 Message accepted for delivery"


class MailServer:
    """An SMTP server on 127.0.0.1:`port` in a thread of this process, keeping messages in `directory`."""

    def __init__(self, directory: Path, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> None:
        self.directory = Path(directory)
        self.host = host
        self.port = port
        self._controller: Controller | None = None

    def start(self) -> MailServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(_KeepAsFiles(self.directory), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def messages(self) -> list[EmailMessage]:
        """Every message received so far, oldest first."""
        return read_mailbox(self.directory)


def read_mailbox(directory: Path) -> list[EmailMessage]:
    if not Path(directory).is_dir():
        return []
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(Path(directory).glob("*.eml"))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="Local SMTP server keeping every message as an .eml file")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SMTP_PORT", DEFAULT_PORT)))
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("DATA_DIR", ".data")) / "mail")
    args = parser.parse_args()
    server = MailServer(args.dir, args.port).start()
    print(f"smtp: listening on 127.0.0.1:{args.port}, keeping messages in {args.dir}", flush=True)
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    while not stopped.wait(0.5):
        pass
    server.stop()


if __name__ == "__main__":
    main()
