"""Domain events the catalog announces; other apps subscribe (imports flow catalog <- retrieval)."""

from django.dispatch import Signal

# Sent after the transaction that created product images committed. kwargs: image_ids (list[int]).
product_images_added = Signal()

# Sent when products may have become searchable or hidden (a quarantine, a release, an admin
# change of a product or a merchant). No kwargs.
catalog_visibility_changed = Signal()
