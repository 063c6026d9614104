from django.urls import path

from catalog import apis, product_apis

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
    # A SKU may hold "/" (sent as %2F): the path converter keeps it whole. The two routes above
    # win for the SKUs "bulk" and "<number>/images"; those are changed through the bulk upsert.
    path(
        "merchant/products/<path:sku>/",
        product_apis.MerchantProductApi.as_view(),
        name="api-merchant-product",
    ),
]
