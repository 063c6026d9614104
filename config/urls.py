from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from catalog.media import product_image_file
from config import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("retrieval.api_urls")),
    path("api/v1/", include("catalog.api_urls")),
    path("api/v1/", include("creation.api_urls")),
    path("api/v1/", include("analytics.api_urls")),
    path("create/", include("creation.urls")),
    path("studio/", include("creation.studio_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Product photos, local or on S3, through the visibility check (catalog/media.py).
    re_path(r"^media/(?P<path>.+)$", product_image_file, name="media"),
    path("", include("retrieval.urls")),
]

handler500 = "config.errors.server_error"
