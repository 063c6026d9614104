"""/media/<path>: a product photo, only while a shopper may see it.

A shopper gets the file only while the photo passed the guard and its product is searchable
(active, its merchant published). Quarantined, inactive and deleted products' photos answer 404,
the same 404 as a path that never existed. The merchant's own users (and superusers) still see
their photos, so the admin can show a quarantined one. Served here rather than by the bucket:
a bucket URL, once known, would outlive a quarantine or a delete.
"""

from __future__ import annotations

import mimetypes

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from catalog.models import ProductImage
from catalog.selectors import merchant_of_user, product_images_shown, products_searchable


@require_safe
def product_image_file(request: HttpRequest, path: str) -> FileResponse:
    image = ProductImage.objects.filter(file=path).values("pk", "product__merchant_id").first()
    if image is None:
        raise Http404("No such image.")
    public = (
        product_images_shown().filter(pk=image["pk"], product__in=products_searchable()).exists()
    )
    if not public and not _may_see_unlisted(request, image["product__merchant_id"]):
        raise Http404("No such image.")
    try:
        response = FileResponse(default_storage.open(path, "rb"))
    except FileNotFoundError:
        raise Http404("No such image.") from None
    response["Content-Type"] = mimetypes.guess_type(path)[0] or "application/octet-stream"
    response["X-Content-Type-Options"] = "nosniff"
    # Short and, for unlisted photos, private: a quarantine or a delete must show soon.
    response["Cache-Control"] = "public, max-age=60" if public else "private, no-store"
    return response


def _may_see_unlisted(request: HttpRequest, merchant_id: int) -> bool:
    user = request.user
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    merchant = merchant_of_user(user)
    return merchant is not None and merchant.pk == merchant_id
