"""manage.py import_catalog: real photos in, one product each; bad files reported and skipped."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.models import Product, ProductImage

pytestmark = pytest.mark.django_db


def run_import(folder: Path, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_catalog", str(folder), stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_import_creates_one_product_per_photo_with_category_from_folder(photo_folder):
    folder = photo_folder(30)

    out, _ = run_import(folder)

    assert "30 imported" in out
    assert Product.objects.count() == 30
    for product in Product.objects.select_related("category"):
        image = product.images.get()
        assert product.category.slug in {p.name for p in folder.iterdir()}
        assert (folder / product.category.slug).is_dir()
        assert image.width > 0 and image.height > 0 and len(image.sha256) == 64
        assert product.price > 0 and product.sku.startswith("FD-")
        with image.file.open("rb") as fh:
            assert fh.read(2) == b"\xff\xd8"  # the stored file is the JPEG


def test_import_is_idempotent(photo_folder):
    folder = photo_folder(12)
    run_import(folder)
    titles = sorted(Product.objects.values_list("title", "price", "stock_quantity"))

    out, _ = run_import(folder)

    assert "0 imported, 12 already in the catalog" in out
    assert sorted(Product.objects.values_list("title", "price", "stock_quantity")) == titles


def test_bad_files_are_reported_and_skipped_without_rows_or_files(photo_folder, media_root):
    folder = photo_folder(5)
    good = next((folder / "dress").glob("*.jpg"))
    bad = folder / "dress"
    (bad / "truncated.jpg").write_bytes(good.read_bytes()[:3000])
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "notes.jpg").write_text("this is a text file, not a photo\n" * 20)

    out, err = run_import(folder)

    assert "5 imported" in out and "3 skipped" in out
    assert "truncated.jpg: The image is damaged or truncated" in err
    assert "empty.jpg: The file is empty." in err
    assert "notes.jpg: The file is not an image we can read" in err
    assert Product.objects.count() == 5
    assert ProductImage.objects.count() == 5
    stored = [p for p in media_root.rglob("*") if p.is_file()]
    assert len(stored) == 5


def test_missing_folder_is_a_clear_error(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="is not a folder"):
        run_import(tmp_path / "nope")


def test_a_product_whose_image_was_deleted_gets_it_back(photo_folder):
    folder = photo_folder(6)
    run_import(folder)
    product = Product.objects.first()
    product.images.all().delete()  # as the admin's inline does; the product stays

    out, _ = run_import(folder)

    assert "0 imported, 5 already in the catalog, 1 images restored, 0 skipped" in out
    assert product.images.count() == 1 and Product.objects.count() == 6
