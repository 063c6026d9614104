from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("retrieval.api_urls")),
    path("api/v1/", include("catalog.api_urls")),
    path("api/v1/", include("creation.api_urls")),
    path("create/", include("creation.urls")),
    path("studio/", include("creation.studio_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("retrieval.urls")),
]

if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
    # Local media are served by the app itself so the demo works with DEBUG off too; with S3
    # storage, image URLs point at the bucket instead.
    def media(request, path):
        return serve(request, path, document_root=settings.MEDIA_ROOT)

    urlpatterns += [re_path(r"^media/(?P<path>.*)$", media)]
