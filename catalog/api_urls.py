from django.urls import path, register_converter

from catalog import apis, product_apis


class SkuConverter:
    """A SKU may hold "/" (sent as %2F); one ending in "/images" would read as the image
    upload route, so those are changed through the bulk upsert instead."""

    regex = r"(?!.*/images/$).+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(SkuConverter, "sku")

urlpatterns = [
    path("merchant/token/", apis.MerchantTokenApi.as_view(), name="api-merchant-token"),
    path("merchant/token/rotate/", apis.TokenRotateApi.as_view(), name="api-token-rotate"),
    path("merchant/token/revoke/", apis.TokenRevokeApi.as_view(), name="api-token-revoke"),
    path(
        "merchant/token/revoke-all/", apis.TokenRevokeAllApi.as_view(), name="api-token-revoke-all"
    ),
    path(
        "merchant/products/",
        product_apis.MerchantProductListApi.as_view(),
        name="api-merchant-products",
    ),
    path(
        "merchant/products/bulk/",
        product_apis.MerchantProductBulkApi.as_view(),
        name="api-merchant-products-bulk",
    ),
    path(
        "merchant/products/<int:pk>/images/",
        apis.ProductImageUploadApi.as_view(),
        name="api-product-image-upload",
    ),
    # The bulk route above wins for the SKU "bulk": it is changed through the bulk upsert.
    path(
        "merchant/products/<sku:sku>/",
        product_apis.MerchantProductApi.as_view(),
        name="api-merchant-product",
    ),
]
