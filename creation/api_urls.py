from django.urls import path

from creation import apis

urlpatterns = [
    path("create/jobs/", apis.CreateJobListApi.as_view(), name="api-create-jobs"),
    path("create/jobs/<int:pk>/", apis.CreateJobDetailApi.as_view(), name="api-create-job"),
    path(
        "create/jobs/<int:pk>/cancel/", apis.CreateJobCancelApi.as_view(), name="api-create-cancel"
    ),
    path("create/images/<int:pk>/", apis.GeneratedImageFileApi.as_view(), name="api-create-image"),
]
