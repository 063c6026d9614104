from django.apps import AppConfig


class RetrievalConfig(AppConfig):
    name = "retrieval"
    verbose_name = "Retrieval"

    def ready(self) -> None:
        from catalog.signals import product_images_added
        from retrieval import checks, session  # noqa: F401  (registers the system checks)
        from retrieval.tasks import embedding_job_defer

        def on_images_added(sender, image_ids, **kwargs):
            embedding_job_defer()

        product_images_added.connect(on_images_added, dispatch_uid="retrieval-embed-new-images")
        session.connect()
