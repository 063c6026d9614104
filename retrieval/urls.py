"""Storefront pages (the shopper's side of the site)."""

from django.urls import path

from catalog import views as catalog_views
from retrieval import views

app_name = "storefront"
urlpatterns = [
    path("", catalog_views.home, name="home"),
    path("search/", views.search_text, name="search"),
    path("search/photo/", views.search_photo, name="search-photo"),
    path("products/<int:pk>/<slug:slug>/", views.product_detail, name="product"),
    # A search result opened: logged (analytics), then the product page.
    path("r/<uuid:query_id>/<int:pk>/", views.result_click, name="result-click"),
]
