"""Django admin for staff and for merchants: a merchant sees and edits only its own products."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from catalog.images import inspect_image
from catalog.models import Category, Merchant, MerchantMembership, Product, ProductImage
from catalog.selectors import merchant_of_user
from catalog.services import product_image_create


class ProductImageForm(forms.ModelForm):
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
        inspect_image(data)  # the same check as every other way in; errors show on the field
        return upload


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    extra = 1
    fields = ["preview", "file", "position", "width", "height", "sha256"]
    readonly_fields = ["preview", "width", "height", "sha256"]

    @admin.display(description="Image")
    def preview(self, obj: ProductImage) -> str:
        if not obj.pk:
            return ""
        return format_html('<img src="{}" alt="" style="height:64px">', obj.file.url)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["title", "sku", "category", "price", "currency", "stock_quantity", "is_active"]
    list_filter = ["is_active", "category"]
    search_fields = ["title", "sku", "description"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [ProductImageInline]
    list_select_related = ["category"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.for_merchant(merchant_of_user(request.user))

    def get_list_display(self, request):
        if request.user.is_superuser:
            return [*self.list_display, "merchant"]
        return self.list_display

    def get_exclude(self, request, obj=None):
        return [] if request.user.is_superuser else ["merchant"]

    def has_add_permission(self, request):
        has_merchant = request.user.is_superuser or merchant_of_user(request.user) is not None
        return has_merchant and super().has_add_permission(request)

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            obj.merchant = merchant_of_user(request.user)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        """New images go through the catalog service: the same checks as every way in."""
        if formset.model is not ProductImage:
            return super().save_formset(request, form, formset, change)
        instances = formset.save(commit=False)
        for image in formset.deleted_objects:
            image.delete()
        for image in instances:
            if image.pk is None:
                image.file.open("rb")
                data = image.file.read()
                product_image_create(product=form.instance, data=data, position=image.position)
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
