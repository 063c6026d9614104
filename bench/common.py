"""Shared benchmark plumbing: Django on a throw-away embedded PostgreSQL, stats, table, JSON."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DATASET = ROOT.parent / "shared" / "datasets" / "clothing-small"


def django_setup(profile: str = "bench", keep: Path | None = None) -> None:
    """Configure Django for a benchmark: the given encoder profile, a fresh database, or the
    database and media kept in `keep` by an earlier run (created there on first use)."""
    sys.path.insert(0, str(ROOT))
    os.environ["FIDELIS_ENCODER"] = profile
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Measure what production runs: DEBUG also records every SQL statement with its text,
    # which cost ~3 ms of a ~30 ms search.
    os.environ["DJANGO_DEBUG"] = "0"
    # Production settings, minus what a loopback benchmark cannot have: a deployment's secret
    # key and HTTPS. The throttles stay on (their cost is measured) with rates no run reaches.
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + secrets.token_urlsafe(40))
    os.environ.setdefault("FIDELIS_HTTPS", "0")
    for scope in ("SEARCH", "PHOTO_SEARCH", "TOKEN", "CREATE"):
        os.environ.setdefault(f"FIDELIS_THROTTLE_{scope}", "1000000/min")
    if keep is not None:
        os.environ["FIDELIS_PGDATA"] = str(keep.resolve() / "pgdata")
        os.environ["FIDELIS_MEDIA_ROOT"] = str(keep.resolve() / "media")
    else:
        if not os.environ.get("DATABASE_URL"):
            os.environ["FIDELIS_PGDATA"] = scratch_dir("fidelis-bench-pg.")
        os.environ["FIDELIS_MEDIA_ROOT"] = scratch_dir("fidelis-bench-media.")
    import django
    from django.conf import settings
    from django.core.management import call_command

    from config import embedded_db

    if settings.EMBEDDED_PGDATA:
        embedded_db.start(settings.EMBEDDED_PGDATA, settings.DATABASE_NAME)
    django.setup()
    call_command("migrate", verbosity=0)


def run_benchmark(name: str, run, args, profile: str = "bench", keep: Path | None = None) -> None:
    """Run `run(args)` on a fresh database (or the one kept in `keep`) with the given profile;
    write its results JSON."""
    django_setup(profile, keep)
    try:
        results = run(args)
    finally:
        django_teardown()
    write_json(name, results)


def django_teardown() -> None:
    from django.conf import settings
    from django.db import connections

    from config import embedded_db

    connections.close_all()
    if settings.EMBEDDED_PGDATA:
        embedded_db.stop(settings.EMBEDDED_PGDATA)
    # A 100k-product run leaves 1-2 GB behind: a few runs filled the disk.
    while _SCRATCH:
        shutil.rmtree(_SCRATCH.pop(), ignore_errors=True)


_SCRATCH: list[str] = []


def scratch_dir(prefix: str) -> str:
    """A new temporary directory, removed with the benchmark's database at teardown."""
    path = tempfile.mkdtemp(prefix=prefix)
    _SCRATCH.append(path)
    return path


def machine_record(encoder) -> dict:
    """What makes runs on two machines comparable: the CPU, and each tower's format with the
    measurements that chose it (retrieval/formats.py)."""
    from retrieval.cpu import cpu_info

    decision = encoder.format_decision or {}
    return {
        "cpu": cpu_info(),
        "formats": encoder.formats,
        "format_candidates": {
            tower: decision.get(f"{tower}_candidates", "forced") for tower in ("image", "text")
        },
    }


def machine_rows(record: dict) -> list[tuple[str, str, str]]:
    cpu = record["cpu"]
    formats = record["formats"]
    return [
        ("CPU", cpu["model"][:14], " ".join(cpu["flags"]) or "no relevant flags"),
        ("format: image tower / text tower", f"{formats['image']} / {formats['text']}", ""),
    ]


def log_tail(path: Path, chars: int = 3000) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    return f"--- last lines of {path} ---\n{text[-chars:]}"


def start_worker(log_path: Path, extra_env: dict | None = None) -> subprocess.Popen:
    """A real procrastinate worker process on the benchmark's database, logging to `log_path`;
    the caller stops it."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "procrastinate", "worker"],
            env=os.environ | (extra_env or {}),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def photos(split: str, count: int) -> list[Path]:
    found = sorted((DATASET / split).glob("*/*.jpg"))
    if len(found) < count:
        sys.exit(f"Need {count} photos under {DATASET / split}, found {len(found)}.")
    return found[:count]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def print_table(title: str, rows: list[tuple[str, str, str]]) -> None:
    """rows: (metric, value, target)."""
    width = max(len(r[0]) for r in rows)
    print(f"\n{title}\n" + "-" * (width + 40))
    print(f"{'metric':<{width}}  {'value':>14}  target")
    for metric, value, target in rows:
        print(f"{metric:<{width}}  {value:>14}  {target}")


def write_json(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nwrote {path.relative_to(ROOT)}")
    return path
