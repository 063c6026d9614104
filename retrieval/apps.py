from django.apps import AppConfig


class RetrievalConfig(AppConfig):
    name = "retrieval"
    verbose_name = "Retrieval"

    def ready(self) -> None:
        from retrieval import receivers, session  # checks: registers the system checks

        receivers.connect()
        session.connect()
