"""Django admin for staff and for merchants: a merchant sees and edits only its own products."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from catalog.admin_scoping import MerchantOwnedAdmin
from catalog.models import (
    Category,
    FeedImport,
    GeneratedImage,
    GuardRelease,
    Merchant,
    MerchantMembership,
    Product,
    ProductImage,
)
from catalog.selectors import merchant_of_user
from catalog.services import (
    feed_import_submit,
    product_image_admit,
    product_image_create,
    product_image_release,
)
from catalog.signals import catalog_visibility_changed, product_images_removed


class ProductImageForm(forms.ModelForm):
    merchant = None  # set per request by the inline

    class Meta:
        model = ProductImage
        fields = ["file", "position"]

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if "file" not in self.changed_data:
            return upload
        if self.instance.pk:
            raise ValidationError(
                "To replace an image, delete it and add the new one.", code="replace_image"
            )
        data = upload.read()
        upload.seek(0)
        # The same checks as every other way in, so their errors show on the field; the
        # result goes to the service on save, which then does not check twice.
        self.admitted = product_image_admit(data=data, merchant=self.merchant)
        return upload


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    extra = 1
    fields = ["preview", "file", "position", "guard_status", "guard_reason", "width", "height"]
    readonly_fields = ["preview", "guard_status", "guard_reason", "width", "height"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # Refusals name the registry entry only to the merchant that owns it.
        formset.form.merchant = obj.merchant if obj else merchant_of_user(request.user)
        return formset

    @admin.display(description="Image")
    def preview(self, obj: ProductImage) -> str:
        if not obj.pk:
            return ""
        return format_html('<img src="{}" alt="" style="height:64px">', obj.file.url)


ATTRIBUTES = ["brand", "color", "size", "material", "gtin", "condition"]


@admin.register(Product)
class ProductAdmin(MerchantOwnedAdmin):
    list_display = ["title", "sku", "category", "price", "currency", "availability", "is_active"]
    list_filter = ["is_active", "availability", "category"]
    search_fields = ["title", "sku", "description", "brand", "gtin", "item_group_id"]
    fieldsets = [
        (None, {"fields": ["merchant", "title", "slug", "sku", "description", "category"]}),
        ("Price and stock", {"fields": ["price", "sale_price", "currency", "availability"]}),
        (None, {"fields": ["stock_quantity", "is_active"]}),
        (
            "Attributes",
            {"fields": [*ATTRIBUTES, "item_group_id", "product_type", "link"]},
        ),
    ]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [ProductImageInline]
    list_select_related = ["category"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser:
            return self.fieldsets
        first, *rest = self.fieldsets  # a merchant's products are always its own
        fields = [f for f in first[1]["fields"] if f != "merchant"]
        return [(first[0], {"fields": fields}), *rest]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)  # the merchant's own shop
        catalog_visibility_changed.send(sender=Product)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        catalog_visibility_changed.send(sender=Product)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        catalog_visibility_changed.send(sender=Product)

    def save_formset(self, request, form, formset, change):
        """New images go through the catalog service: the same checks as every way in."""
        if formset.model is not ProductImage:
            return super().save_formset(request, form, formset, change)
        instances = formset.save(commit=False)
        admitted = {id(f.instance): getattr(f, "admitted", None) for f in formset.forms}
        for image in formset.deleted_objects:
            image.delete()
        if formset.deleted_objects:
            product_images_removed.send(sender=ProductImage, product_ids={form.instance.pk})
        for image in instances:
            if image.pk is None:
                image.file.open("rb")
                product_image_create(
                    product=form.instance,
                    data=image.file.read(),
                    position=image.position,
                    admitted=admitted.get(id(image)),
                )
            else:
                image.save()


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent"]
    prepopulated_fields = {"slug": ["name"]}


class MerchantMembershipInline(admin.TabularInline):
    model = MerchantMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MerchantMembershipInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        catalog_visibility_changed.send(sender=Merchant)


class StaffReadOnlyAdmin(admin.ModelAdmin):
    """Staff (superusers) may look; rows are written only by catalog services.

    Every permission is answered here, not by the model permissions: merchants hold
    delete_productimage for their own products' inline, and ModelAdmin's default would have
    let them delete any merchant's image through this admin's unscoped delete view.
    """

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(ProductImage)
class ProductImageAdmin(StaffReadOnlyAdmin):
    """Staff review of the guard's quarantines."""

    list_display = ["__str__", "guard_status", "guard_reason", "guard_match", "created_at"]
    list_filter = ["guard_status"]
    fields = ["product", "file", "guard_status", "guard_reason", "guard_match", "sha256"]
    readonly_fields = fields


class GuardReleaseForm(forms.ModelForm):
    class Meta:
        model = GuardRelease
        fields = ["image", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A saved release opens read-only: its form then has no fields to narrow.
        if "image" in self.fields:
            self.fields["image"].queryset = ProductImage.objects.filter(
                guard_status=ProductImage.GuardStatus.QUARANTINED
            )
        if "note" in self.fields:
            self.fields["note"].help_text = "Why this image is a real photo (kept for the audit)."


@admin.register(GuardRelease)
class GuardReleaseAdmin(admin.ModelAdmin):
    """Releasing a false positive is adding a release: the audit record is the action."""

    form = GuardReleaseForm
    list_display = ["image", "released_by", "created_at", "quarantine_reason", "note"]
    readonly_fields = ["released_by", "quarantine_reason", "entry", "created_at"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return False  # an audit record is never edited

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        release = product_image_release(
            image=form.cleaned_data["image"], user=request.user, note=form.cleaned_data["note"]
        )
        # The admin logs and redirects with `obj`: let it stand for the saved release.
        obj.pk, obj.released_by = release.pk, release.released_by
        obj.created_at = release.created_at
        obj._state.adding = False


@admin.register(GeneratedImage)
class GeneratedImageAdmin(StaffReadOnlyAdmin):
    """The registry, read-only: rows are written only by the registration service, and never
    deleted by hand (a deleted entry would let its image pass the guard)."""

    list_display = ["pk", "merchant", "prompt", "seed", "model_identity", "created_at"]
    fields = ["merchant", "prompt", "negative_prompt", "seed", "model_identity", "source_image"]
    fields += ["fidelity", "sha256", "width", "height", "created_at"]
    readonly_fields = fields
    list_filter = ["merchant"]

    def has_delete_permission(self, request, obj=None):
        return False


class FeedImportForm(forms.ModelForm):
    class Meta:
        model = FeedImport
        fields = ["merchant", "file", "delete_missing", "dry_run"]
        help_texts = {
            "file": "CSV, tab-separated or JSON Lines with Google Merchant Center attribute "
            'names (id, title, price as "12.90 EUR", image_link ...). Images by http(s) URL.',
        }


@admin.register(FeedImport)
class FeedImportAdmin(MerchantOwnedAdmin):
    """Upload a feed: it is imported by a job on the queue, its progress shown live."""

    form = FeedImportForm
    list_display = ["__str__", "status", "rows", "summary", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["status", "progress_bar", "summary", "row_errors", "error", "created_at"]
    readonly_fields += ["finished_at"]
    list_select_related = ["merchant"]

    def get_fields(self, request, obj=None):
        if obj is not None:  # a submitted import is a record: shown, never edited
            return ["merchant", "feed_file", "delete_missing", "dry_run", *self.readonly_fields]
        fields = ["file", "delete_missing", "dry_run"]
        return ["merchant", *fields] if request.user.is_superuser else fields

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["merchant", "feed_file", "delete_missing", "dry_run", *self.readonly_fields]

    @admin.display(description="Feed")
    def feed_file(self, obj: FeedImport) -> str:
        return obj.file.name.rsplit("/", 1)[-1]  # private storage: named, not linked

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        merchant = obj.merchant if request.user.is_superuser else merchant_of_user(request.user)
        job = feed_import_submit(
            merchant=merchant,
            user=request.user,
            upload=form.cleaned_data["file"],
            delete_missing=obj.delete_missing,
            dry_run=obj.dry_run,
        )
        # The admin logs and redirects with `obj`: let it stand for the submitted import.
        obj.pk, obj.merchant, obj.file = job.pk, job.merchant, job.file
        obj._state.adding = False

    def response_add(self, request, obj, post_url_continue=None):
        # Straight to the import's page, where its progress shows.
        return HttpResponseRedirect(reverse("admin:catalog_feedimport_change", args=[obj.pk]))

    def get_urls(self):
        progress = path(
            "<int:pk>/progress/",
            self.admin_site.admin_view(self.progress_view),
            name="catalog_feedimport_progress",
        )
        return [progress, *super().get_urls()]

    def progress_view(self, request, pk: int):
        job = self.get_queryset(request).filter(pk=pk).first()
        if job is None or not self.has_view_permission(request, job):
            raise Http404("No such feed import.")
        return JsonResponse(_progress_of(job))

    @admin.display(description="Progress")
    def progress_bar(self, obj: FeedImport) -> str:
        state = _progress_of(obj)
        return format_html(
            '<div class="feed-progress" data-progress-url="{}" data-done="{}">'
            '<progress max="100" value="{}" aria-label="Import progress">{}%</progress> '
            '<span class="feed-progress-text" role="status" aria-live="polite">{}</span></div>',
            reverse("admin:catalog_feedimport_progress", args=[obj.pk]),
            "1" if state["done"] else "",
            state["percent"],
            state["percent"],
            state["text"],
        )

    @admin.display(description="Summary")
    def summary(self, obj: FeedImport) -> str:
        return obj.report.get("summary", "") or obj.error

    @admin.display(description="Row errors")
    def row_errors(self, obj: FeedImport) -> str:
        errors = obj.report.get("errors", [])[:200]
        if not errors:
            return "None"
        return format_html(
            "<table><thead><tr><th>Row</th><th>Field</th><th>Message</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((e["row"], e["field"], e["message"]) for e in errors),
            ),
        )

    class Media:
        js = ["catalog/feed_progress.js"]


def _progress_of(job: FeedImport) -> dict:
    percent = round(job.progress * 100)
    if job.status == FeedImport.Status.DONE:
        text = job.report.get("summary", "Done.")
    elif job.status == FeedImport.Status.FAILED:
        text = f"Failed: {job.error}"
    elif job.status == FeedImport.Status.RUNNING:
        text = f"{job.rows} rows so far ({percent}%)."
    else:
        text = "Waiting for a worker ..."
    finished = job.status in (FeedImport.Status.DONE, FeedImport.Status.FAILED)
    return {
        "status": job.status,
        "percent": percent,
        "rows": job.rows,
        "text": text,
        "done": finished,
    }
