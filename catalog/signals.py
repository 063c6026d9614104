"""Domain events the catalog announces; other apps subscribe (imports flow catalog <- retrieval)."""

from django.dispatch import Signal

# Sent after the transaction that created product images committed. kwargs: image_ids (list[int]).
product_images_added = Signal()

# Sent when products may have become searchable or hidden (a quarantine, a release, an admin
# change of a product or a merchant). No kwargs.
catalog_visibility_changed = Signal()

# Sent when product images were deleted (a feed or the API replaced them, the admin removed
# one). kwargs: product_ids (set[int]). Their products' vectors must no longer include them.
product_images_removed = Signal()
