from django.apps import AppConfig


class FidelisProjectConfig(AppConfig):
    """Project-wide management commands (the embedded database server, the demo)."""

    name = "config"
    label = "fidelis_project"
    verbose_name = "Fidelis"
