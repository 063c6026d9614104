"""A short run of bench/cluster.py: Fidelis on several real hosts on loopback (a primary and a
streaming replica, an S3 server, two app hosts, two worker hosts) through its faults. The full
run (a 200-request burst) is `./fidelis bench cluster`."""

import json
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow


def test_a_cluster_serves_shares_media_reads_replicas_and_survives_killed_hosts(tmp_path):
    results_path = tmp_path / "cluster.json"
    done = subprocess.run(
        [sys.executable, "cluster.py", "--burst", "80", "--searches", "8", "--photos", "2",
         "--json", str(results_path)],
        cwd=settings.BASE_DIR / "bench",
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    results = json.loads(results_path.read_text())

    assert results["media"]["served_by_app2"]  # uploaded through app1
    assert results["freshness"]["within_2_s"]  # saved through app2, found through app1
    reads = results["replica_reads"]
    assert reads["ok"] == reads["searches"] and reads["replica_transactions"] >= reads["searches"]

    assert results["jobs_lost"] == 0 and results["duplicate_rows"] == 0
    for killed in ("killed_indexing_worker", "killed_create_worker"):
        assert results[killed]["rescued_by"] != results[killed]["victim"]

    burst = results["primary_restart"]
    assert results["server_errors"] == 0, burst["server_error_samples"]
    assert set(burst["statuses"]) <= {"200", "201", "503"} and "503" in burst["statuses"]
    assert burst["half_written_products"] == 0 and burst["writes_answered_ok_but_missing"] == 0
    assert burst["searches_ok_during_outage"] > 0  # from the replica
    assert all(results["workers_alive_after_primary_restart"].values())

    down = results["replica_down"]
    assert down["ok"] == down["searches"] and down["logged_fallback_on_both_apps"]
