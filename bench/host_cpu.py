"""CPU seconds used by each host of the loopback cluster, read between two moments.

A host's figure is its whole process tree: the processes alive now and the children it has
already reaped (gunicorn's workers, PostgreSQL's backends). A PostgreSQL host's live sessions
are split by the host they serve (libpq's PGAPPNAME, set by cluster_hosts), so that a database
session counts towards "primary <- app1", not towards the database alone.
"""

from __future__ import annotations

import psutil
from cluster_hosts import Host, pg_connect


def tree_seconds(pid: int) -> tuple[float, dict[int, float]]:
    """(the tree's CPU seconds, those of each live descendant)."""
    root = psutil.Process(pid)
    times = root.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    live = {}
    for child in root.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue  # gone since the listing: counted by its parent once reaped
        live[child.pid] = child_times.user + child_times.system
    # A live child's time is not yet in its parent's children_* fields.
    return total + sum(live.values()), live


def _sessions(host: Host) -> dict[int, str]:
    with pg_connect(host, connect_timeout=2) as conn:
        rows = conn.execute(
            "SELECT pid, application_name FROM pg_stat_activity WHERE application_name <> ''"
        ).fetchall()
    return dict(rows)


def cpu_seconds(hosts: list[Host], databases: list[Host]) -> dict:
    """One reading: each host's cumulative CPU seconds, and each live database session's
    (database, label, seconds), by pid. Two readings give the cores used in between."""
    trees, sessions = {}, {}
    for host in hosts:
        if not host.alive():
            continue
        trees[host.name], live = tree_seconds(host.process.pid)
        if host in databases:
            for pid, client in _sessions(host).items():
                if pid in live:
                    sessions[pid] = (host.name, f"{host.name} <- {client}", live[pid])
    return {"trees": trees, "sessions": sessions}


def cores_used(before: dict, after: dict, seconds: float) -> dict[str, float]:
    """Cores used by each host between two readings, and by the database sessions of each
    client host apart from their database's own line, largest first. A session's time is
    counted from when it was first seen alive; a session that ended in between (a connection
    past FIDELIS_DB_CONN_MAX_AGE) leaves its last seconds in its database's own line."""
    used = {name: total - before["trees"].get(name, 0.0) for name, total in after["trees"].items()}
    for pid, (database, label, total) in after["sessions"].items():
        earlier = before["sessions"].get(pid)
        spent = total - (earlier[2] if earlier else 0.0)  # all of it, if it started since
        used[label] = used.get(label, 0.0) + spent
        used[database] -= spent
    cores = {label: value / seconds for label, value in used.items()}
    return {label: round(cores[label], 3) for label in sorted(cores, key=lambda x: -cores[x])}
