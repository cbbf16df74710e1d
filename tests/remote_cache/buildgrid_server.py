"""A BuildGrid REAPI server on loopback, as the remote cache of tests and benchmarks.

Its state (blobs on disk, action results in a redis append-only file, the JWT secret, logs) lives
in one directory, so a server stopped and started again on the same directory still has every
entry. Needs `redis-server` (Debian's `redis-server` package) and the BuildGrid PEX
(`./pants package tests/remote_cache:buildgrid`, run by Python 3.11).

Also a command line, for scripts:

    python3 buildgrid_server.py start|stop|token --pex PEX --state-dir DIR [--port N]

`start` prints the server's address (with `--port 0`, on a free port it picks).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

CONFIG_TEMPLATE = Path(__file__).with_name("buildgrid.yml")
STARTUP_TIMEOUT_SECONDS = 120
LOG_TAIL_LINES = 30
TOKEN_LIFETIME_SECONDS = 24 * 3600


class ServerError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def log_tail(path: Path) -> str:
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return "\n".join(lines[-LOG_TAIL_LINES:])


@dataclass(frozen=True)
class BuildGridServer:
    pex: Path
    state_dir: Path
    port: int

    @property
    def address(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    @property
    def redis_port(self) -> int:
        # Kept with the state, so that a restart finds the same redis.
        return int((self.state_dir / "redis.port").read_text())

    def start(self) -> None:
        """Starts redis and BuildGrid on the state directory (made on first use) and waits until
        BuildGrid accepts connections."""
        if shutil.which("redis-server") is None:
            raise ServerError("redis-server is not installed (apt-get install redis-server)")
        for directory in ("cas", "redis"):
            (self.state_dir / directory).mkdir(parents=True, exist_ok=True)
        secret = self.state_dir / "jwt.secret"
        if not secret.exists():
            secret.write_text(secrets.token_hex(32))
        if not (self.state_dir / "redis.port").exists():
            (self.state_dir / "redis.port").write_text(str(free_port()))
        config = self.state_dir / "buildgrid.yml"
        config.write_text(
            string.Template(CONFIG_TEMPLATE.read_text()).substitute(
                port=self.port, redis_port=self.redis_port, state_dir=self.state_dir
            )
        )
        subprocess.run(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--dir",
                str(self.state_dir / "redis"),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.state_dir / "redis.pid"),
                "--logfile",
                str(self.state_dir / "redis.log"),
            ],
            check=True,
        )
        log = self.state_dir / "buildgrid.log"
        with log.open("ab") as log_file:
            server = subprocess.Popen(
                [str(self.pex), "server", "start", str(config)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        (self.state_dir / "buildgrid.pid").write_text(str(server.pid))
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not self._accepts_connections():
            if server.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ServerError(
                    f"BuildGrid did not start on port {self.port}; the end of {log}:\n"
                    f"{log_tail(log)}"
                )
            time.sleep(0.5)

    def stop(self) -> None:
        """Stops BuildGrid, then redis (which flushes its append-only file as it exits)."""
        for name in ("buildgrid", "redis"):
            pid_file = self.state_dir / f"{name}.pid"
            if pid_file.exists():
                pid = int(pid_file.read_text())
                if self._is_own(name, pid):
                    stop_process(pid)
                pid_file.unlink(missing_ok=True)

    def _is_own(self, name: str, pid: int) -> bool:
        """Whether process `pid` is this state directory's `name` (buildgrid or redis). A pid file
        outlives its process when a run is killed, and the state directory outlives the machine's
        boot (CI keeps it): its number may now be another process's, such as the Docker daemon's,
        which a new boot starts with the same low pid. Only the process with our own arguments
        is ours to stop."""
        marker = (
            str(self.state_dir / "buildgrid.yml")
            if name == "buildgrid"
            else f"127.0.0.1:{self.redis_port}"
        )
        return marker in process_command_line(pid)

    def bearer_token(self) -> str:
        """A JWT the server accepts (it requires an expiry), signed with BuildGrid's own JWT
        library."""
        minted = subprocess.run(
            [
                str(self.pex),
                "-c",
                "import jwt, sys, time; print(jwt.encode("
                "{'sub': 'cpython-fips', 'exp': int(time.time()) + int(sys.argv[2])}, "
                "open(sys.argv[1]).read(), algorithm='HS256'))",
                str(self.state_dir / "jwt.secret"),
                str(TOKEN_LIFETIME_SECONDS),
            ],
            env={**os.environ, "PEX_INTERPRETER": "1"},
            capture_output=True,
            text=True,
            check=True,
        )
        return minted.stdout.strip()

    def _accepts_connections(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0


def process_command_line(pid: int) -> str:
    """The arguments of process `pid`, space-separated; empty if there is no such process."""
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except (FileNotFoundError, ProcessLookupError):
        return ""


def stop_process(pid: int, grace_seconds: float = 20) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("start", "stop", "token"))
    parser.add_argument("--pex", type=Path, required=True, help="the BuildGrid PEX")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=50051, help="0: any free port")
    args = parser.parse_args()
    port = args.port or free_port()
    server = BuildGridServer(args.pex.resolve(), args.state_dir.resolve(), port)
    try:
        if args.command == "start":
            server.start()
            print(server.address)
        elif args.command == "stop":
            server.stop()
        else:
            print(server.bearer_token())
    except ServerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
