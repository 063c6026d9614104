from django.urls import path

from retrieval import apis, merchant_apis

urlpatterns = [
    path("search/", apis.TextSearchApi.as_view(), name="api-search-text"),
    path("search/photo/", apis.PhotoSearchApi.as_view(), name="api-search-photo"),
    path("suggest/", apis.SuggestApi.as_view(), name="api-suggest"),
    path("products/", apis.ProductListApi.as_view(), name="api-products"),
    path("products/<int:pk>/", apis.ProductDetailApi.as_view(), name="api-product"),
    path("products/<int:pk>/similar/", apis.SimilarProductsApi.as_view(), name="api-similar"),
    path(
        "merchant/synonyms/", merchant_apis.SynonymListApi.as_view(), name="api-merchant-synonyms"
    ),
    path(
        "merchant/synonyms/<int:pk>/",
        merchant_apis.SynonymApi.as_view(),
        name="api-merchant-synonym",
    ),
    path("merchant/rules/", merchant_apis.RuleListApi.as_view(), name="api-merchant-rules"),
    path("merchant/rules/<int:pk>/", merchant_apis.RuleApi.as_view(), name="api-merchant-rule"),
    path(
        "merchant/search-settings/",
        merchant_apis.SearchSettingsApi.as_view(),
        name="api-merchant-search-settings",
    ),
]
