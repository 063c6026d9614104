from django.urls import path

from analytics import apis

urlpatterns = [path("events/", apis.ResultEventApi.as_view(), name="api-events")]
