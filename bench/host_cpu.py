"""CPU seconds used by each host of the loopback cluster, read between two moments.

A host's figure is its whole process tree: the processes alive now and the children it has
already reaped (gunicorn's workers, PostgreSQL's backends). A PostgreSQL host's live sessions
are split by the host they serve (libpq's PGAPPNAME, set by cluster_hosts), so that a database
session counts towards "primary <- app1", not towards the database alone.
"""

from __future__ import annotations

import psutil
from cluster_hosts import Host, pg_connect


def _tree_seconds(pid: int) -> tuple[float, dict[int, float]]:
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


def cpu_seconds(hosts: list[Host], databases: list[Host]) -> dict[str, float]:
    """Cumulative CPU seconds by label: each host, and each database's share per client host.
    The difference of two readings over the seconds between them is the cores used."""
    seconds = {}
    for host in hosts:
        if not host.alive():
            continue
        total, live = _tree_seconds(host.process.pid)
        if host in databases:
            for pid, client in _sessions(host).items():
                if pid in live:  # a client host holds several sessions
                    label = f"{host.name} <- {client}"
                    seconds[label] = seconds.get(label, 0.0) + live[pid]
                    total -= live[pid]
        seconds[host.name] = total
    return seconds


def cores_used(before: dict[str, float], after: dict[str, float], seconds: float) -> dict:
    """Cores used by each label between two readings, largest first. A session that ended in
    between is counted in its database's own line (its parent reaped it)."""
    used = {label: (after[label] - before.get(label, 0.0)) / seconds for label in after}
    return {label: round(cores, 3) for label, cores in sorted(used.items(), key=lambda i: -i[1])}
