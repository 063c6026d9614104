"""Search settings in the admin: a merchant manages its own synonym sets, rules and the
handling of out-of-stock results."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse

from catalog.admin_scoping import MerchantOwnedAdmin
from catalog.models import Product
from catalog.selectors import merchant_of_user
from retrieval.models import MerchandisingRule, SearchSettings, Synonym
from retrieval.rules import rule_check
from retrieval.synonyms import synonym_clean


class SynonymForm(forms.ModelForm):
    class Meta:
        model = Synonym
        fields = ["kind", "terms", "synonyms"]
        help_texts = {
            "terms": "Comma-separated words or phrases of up to three words.",
            "synonyms": "One-way sets only: what the terms also find, comma-separated.",
        }

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["terms"], data["synonyms"] = synonym_clean(
                kind=data.get("kind"), terms=data.get("terms") or [], synonyms=data.get("synonyms")
            )
        except ValidationError as err:
            raise ValidationError(err.messages) from err
        return data


@admin.register(Synonym)
class SynonymAdmin(MerchantOwnedAdmin):
    form = SynonymForm
    list_display = ["__str__", "kind", "created_at"]
    list_filter = ["kind"]

    def get_fields(self, request, obj=None):
        fields = ["kind", "terms", "synonyms"]
        return ["merchant", *fields] if request.user.is_superuser else fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        if request.user.is_superuser:
            kwargs["fields"] = ["merchant", "kind", "terms", "synonyms"]
        return super().get_form(request, obj, change, **kwargs)


class RuleForm(forms.ModelForm):
    merchant = None  # the signed-in merchant's shop, set by RuleAdmin.get_form

    class Meta:
        model = MerchandisingRule
        fields = [
            "name",
            "match",
            "query",
            "action",
            "product",
            "position",
            "attribute",
            "value",
            "starts_at",
            "ends_at",
        ]

    def _post_clean(self):
        super()._post_clean()
        if self.merchant is not None:
            self.instance.merchant = self.merchant
        if self.errors or self.instance.merchant_id is None:
            return
        try:
            rule_check(self.instance)
        except ValidationError as err:
            self.add_error(None, err)


@admin.register(MerchandisingRule)
class RuleAdmin(MerchantOwnedAdmin):
    form = RuleForm
    list_display = ["name", "match", "query", "action", "starts_at", "ends_at"]
    list_filter = ["action"]
    list_select_related = ["product"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if request.user.is_superuser:
            kwargs["fields"] = ["merchant", *RuleForm.Meta.fields]
        form = super().get_form(request, obj, change, **kwargs)
        form.merchant = None if request.user.is_superuser else merchant_of_user(request.user)
        return form

    def get_fields(self, request, obj=None):
        fields = RuleForm.Meta.fields
        return ["merchant", *fields] if request.user.is_superuser else fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "product" and not request.user.is_superuser:
            kwargs["queryset"] = Product.objects.for_merchant(merchant_of_user(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(SearchSettings)
class SearchSettingsAdmin(admin.ModelAdmin):
    """One page per shop; a merchant's staff go straight to their own."""

    fields = ["name", "out_of_stock_results"]
    readonly_fields = ["name"]
    list_display = ["name", "out_of_stock_results"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        merchant = merchant_of_user(request.user)
        return queryset.filter(pk=merchant.pk) if merchant else queryset.none()

    def changelist_view(self, request, extra_context=None):
        merchant = None if request.user.is_superuser else merchant_of_user(request.user)
        if merchant and self.has_view_or_change_permission(request):
            return redirect(reverse("admin:retrieval_searchsettings_change", args=[merchant.pk]))
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False  # a shop is created with its settings

    def has_delete_permission(self, request, obj=None):
        return False  # deleting the settings would delete the shop (a proxy of Merchant)

    def response_change(self, request, obj):
        if request.user.is_superuser or "_continue" in request.POST:
            return super().response_change(request, obj)
        self.message_user(request, "Search settings saved.")
        return redirect(reverse("admin:retrieval_searchsettings_change", args=[obj.pk]))
