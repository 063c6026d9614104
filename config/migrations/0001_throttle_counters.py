"""Request counters of the API throttles (config/throttles.py), shared by every app process.

UNLOGGED: counters need no crash safety or replication, and skip the write-ahead log.
"""

from django.db import migrations

CREATE = """
CREATE UNLOGGED TABLE fidelis_throttle (
    key text NOT NULL,
    window_start bigint NOT NULL,
    hits integer NOT NULL,
    PRIMARY KEY (key, window_start)
);
"""


class Migration(migrations.Migration):
    dependencies = []
    operations = [migrations.RunSQL(CREATE, "DROP TABLE fidelis_throttle;")]
