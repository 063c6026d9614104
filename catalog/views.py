"""Storefront pages owned by the catalog: browsing."""

from django.core.paginator import Paginator
from django.shortcuts import render

from catalog.selectors import products_for_storefront
from config.replicas import replica_reads

PAGE_SIZE = 24


@replica_reads
def home(request):
    page = Paginator(products_for_storefront(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "storefront/home.html", {"page": page})
