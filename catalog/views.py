"""Storefront pages: the catalog as shoppers browse it."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from catalog.selectors import products_for_storefront

PAGE_SIZE = 24


def home(request):
    page = Paginator(products_for_storefront(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "storefront/home.html", {"page": page})


def product_detail(request, pk: int, slug: str):
    product = get_object_or_404(products_for_storefront(), pk=pk)
    return render(request, "storefront/product_detail.html", {"product": product})
