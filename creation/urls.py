"""Merchant create pages."""

from django.urls import path

from creation import views

app_name = "creation"
urlpatterns = [
    path("", views.create_page, name="create"),
    path("jobs/<int:pk>/", views.job_page, name="job"),
    path("jobs/<int:pk>/cancel/", views.job_cancel, name="job-cancel"),
    path("images/<int:pk>/", views.image_file, name="image-file"),
]
