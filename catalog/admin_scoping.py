"""The admin of a model a merchant owns (its `merchant` field): merchants' staff see, add and
change only their shop's rows, and never choose the shop; superusers see every shop's."""

from django.contrib import admin

from catalog.selectors import merchant_of_user


class MerchantOwnedAdmin(admin.ModelAdmin):
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        merchant = merchant_of_user(request.user)
        return queryset.filter(merchant=merchant) if merchant else queryset.none()

    def get_list_display(self, request):
        if request.user.is_superuser:
            return [*self.list_display, "merchant"]
        return self.list_display

    def has_add_permission(self, request):
        has_merchant = request.user.is_superuser or merchant_of_user(request.user) is not None
        return has_merchant and super().has_add_permission(request)

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            obj.merchant = merchant_of_user(request.user)
        super().save_model(request, obj, form, change)
