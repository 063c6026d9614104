from decimal import Decimal

import pytest

from catalog.models import Availability, Product

# (category, brand, colour, size, price, in stock) of the "linen" products the tests search.
LINEN = [
    ("dress", "Alder", "Blue", "S", "30.00", True),
    ("dress", "Alder", "Red", "M", "45.00", True),
    ("dress", "Birch", "Blue", "L", "60.00", False),
    ("shirt", "Birch", "White", "M", "25.00", True),
    ("shirt", "Alder", "Blue", "S", "80.00", True),
    ("pants", "Cedar", "Black", "L", "55.00", True),
    ("pants", "Cedar", "Blue", "M", "20.00", True),
]


@pytest.fixture
def linen(indexed_catalog):
    """Seven catalog products re-described as linen clothes of three categories."""
    products = []
    for i, (category, brand, color, size, price, in_stock) in enumerate(LINEN):
        product = indexed_catalog.filter(category__slug=category).exclude(
            pk__in=[p.pk for p in products]
        )[0]
        Product.objects.filter(pk=product.pk).update(
            title=f"Linen {color} piece {i}",
            description=f"Made of washed linen, {color.lower()}.",
            brand=brand,
            color=color,
            size=size,
            price=Decimal(price),
            stock_quantity=5 if in_stock else 0,
            availability=Availability.IN_STOCK if in_stock else Availability.OUT_OF_STOCK,
        )
        products.append(product)
    return Product.objects.filter(pk__in=[p.pk for p in products])
