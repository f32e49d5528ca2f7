"""supervisord configuration and control for the local run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Program:
    name: str
    argv: list[str]
    env: dict[str, str]
    stop_wait_seconds: int = 30
    start_seconds: int = 3
    # supervisord stops the highest numbers first: services before the broker and database they drain into.
    priority: int = 100


class Supervisor:
    """One supervisord per data directory; programs start only when asked, in order."""

    def __init__(self, data_dir: Path, cwd: Path) -> None:
        self.dir = data_dir / "supervisor"
        self.logs = data_dir / "logs"
        self.conf = self.dir / "supervisord.conf"
        self.cwd = cwd
        self.process: subprocess.Popen | None = None

    def log_path(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def write_config(self, programs: list[Program]) -> None:
        (self.dir / "procs").mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        sections = [
            f"[unix_http_server]\nfile={self.dir}/supervisor.sock\n",
            f"[supervisord]\nnodaemon=true\nlogfile={self.logs}/supervisord.log\npidfile={self.dir}/supervisord.pid\n"
            f"childlogdir={self.logs}\nloglevel=info\n",
            "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
            f"[supervisorctl]\nserverurl=unix://{self.dir}/supervisor.sock\n",
        ]
        for program in programs:
            spec_file = self.dir / "procs" / f"{program.name}.json"
            spec_file.write_text(json.dumps({"argv": program.argv, "env": program.env, "cwd": str(self.cwd)}))
            sections.append(
                f"[program:{program.name}]\n"
                f"command={sys.executable} -m jmo_local.launch {spec_file}\n"
                f"priority={program.priority}\nautostart=false\nautorestart=true\n"
                f"startsecs={program.start_seconds}\nstartretries=10\n"
                f"stopsignal=TERM\nstopwaitsecs={program.stop_wait_seconds}\nstopasgroup=true\nkillasgroup=true\n"
                f"stdout_logfile={self.log_path(program.name)}\nstdout_logfile_maxbytes=50MB\n"
                "stdout_logfile_backups=3\nredirect_stderr=true\n"
            )
        self.conf.write_text("\n".join(sections))

    def start_daemon(self) -> None:
        # Its own session: Ctrl-C in the terminal reaches only the run command,
        # which then stops everything in order through supervisorctl.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.ctl("status", check=False).returncode in (0, 3):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"supervisord exited; see {self.logs}/supervisord.log")
            time.sleep(0.2)
        raise RuntimeError("supervisord did not come up")

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
            check=check,
        )

    def rpc(self):
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, f"unix://{self.dir}/supervisor.sock")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def start(self, *names: str) -> None:
        """Start programs without waiting on each in turn; readiness is checked by the caller."""
        proxy = self.rpc()
        for name in names:
            try:
                proxy.supervisor.startProcess(name, False)
            except xmlrpc.client.Fault as fault:
                if "ALREADY_STARTED" not in fault.faultString:
                    raise

    def status(self) -> str:
        return self.ctl("status", check=False).stdout

    def pids(self) -> list[int]:
        try:
            return [p["pid"] for p in self.rpc().supervisor.getAllProcessInfo() if p.get("pid")]
        except (OSError, xmlrpc.client.Error):
            return []

    def shutdown(self, timeout: float = 180) -> None:
        """Stop every program (services first, then Kafka and the database), then supervisord.

        Whatever is still alive after `timeout` is killed, so nothing outlives the run command.
        """
        if self.process is None:
            return
        children = self.pids()
        self.ctl("shutdown", check=False)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
