from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config import embedded_db


class Command(BaseCommand):
    help = "Start, stop or show the embedded PostgreSQL server (used when DATABASE_URL is unset)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status"])

    def handle(self, *args, action: str, **options):
        pgdata = settings.EMBEDDED_PGDATA
        if pgdata is None:
            raise CommandError("DATABASE_URL is set: the embedded server is not used.")
        if action == "start":
            try:
                embedded_db.start(pgdata, settings.DATABASE_NAME)
            except embedded_db.EmbeddedPostgresError as err:
                raise CommandError(str(err)) from err
            self.stdout.write(f"PostgreSQL running, data in {pgdata}")
        elif action == "stop":
            stopped = embedded_db.stop(pgdata)
            self.stdout.write("stopped" if stopped else "was not running")
        else:
            running = embedded_db.is_running(pgdata)
            self.stdout.write(f"{'running' if running else 'stopped'} ({pgdata})")
