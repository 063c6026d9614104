from django.urls import path

from retrieval import apis

urlpatterns = [
    path("search/", apis.TextSearchApi.as_view(), name="api-search-text"),
    path("search/photo/", apis.PhotoSearchApi.as_view(), name="api-search-photo"),
    path("products/", apis.ProductListApi.as_view(), name="api-products"),
    path("products/<int:pk>/", apis.ProductDetailApi.as_view(), name="api-product"),
    path("products/<int:pk>/similar/", apis.SimilarProductsApi.as_view(), name="api-similar"),
]
