"""Storages whose URLs never leave visibility to chance.

Product photos are served by the app (catalog.media), which checks on every request that the
product is still searchable: a bucket URL would keep working after a quarantine or a delete.
Generated images have no URL at all: only the authenticated views of creation/ stream them.
"""

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage


class NoUrlMixin:
    def url(self, name):
        raise ValueError(
            f"{name} is in private storage, which has no URL: serve it through an "
            "authenticated view (creation.serving.generated_image_response)."
        )


class PrivateFileSystemStorage(NoUrlMixin, FileSystemStorage):
    pass


class PrivateS3Storage(NoUrlMixin, S3Storage):
    pass


class AppServedS3Storage(S3Storage):
    """Product photos in a private bucket; their URL is the app's /media/ view."""

    def url(self, name, parameters=None, expire=None, http_method=None):
        return settings.MEDIA_URL + name
