from django.apps import AppConfig


class RetrievalConfig(AppConfig):
    name = "retrieval"
    verbose_name = "Retrieval"

    def ready(self) -> None:
        # checks: importing it registers the system checks (nothing else names it).
        from retrieval import checks, receivers, session  # noqa: F401

        receivers.connect()
        session.connect()
