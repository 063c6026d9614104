from django.urls import path

from catalog import views

app_name = "storefront"
urlpatterns = [
    path("", views.home, name="home"),
    path("products/<int:pk>/<slug:slug>/", views.product_detail, name="product"),
]
