from django.apps import AppConfig


class FidelisProjectConfig(AppConfig):
    """Project-wide management commands (the embedded database server, the demo)."""

    name = "config"
    label = "fidelis_project"
    verbose_name = "Fidelis"

    def ready(self) -> None:
        # Every decode of an image anywhere (admin forms, thumbnails, the guard, feeds) stops at
        # the configured pixel count. Pillow raises DecompressionBombError above twice its
        # MAX_IMAGE_PIXELS (and only warns below): half the limit makes the error fire at it.
        from django.conf import settings
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = settings.FIDELIS_MAX_IMAGE_PIXELS // 2
