from django.apps import AppConfig


class CreationConfig(AppConfig):
    """Merchant-only concept images (built in a later issue)."""

    name = "creation"
    verbose_name = "Creation"
