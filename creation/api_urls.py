from django.urls import path

from creation import apis, studio_apis

urlpatterns = [
    path("create/jobs/", apis.CreateJobListApi.as_view(), name="api-create-jobs"),
    path("create/jobs/<int:pk>/", apis.CreateJobDetailApi.as_view(), name="api-create-job"),
    path(
        "create/jobs/<int:pk>/cancel/", apis.CreateJobCancelApi.as_view(), name="api-create-cancel"
    ),
    path("create/images/<int:pk>/", apis.GeneratedImageFileApi.as_view(), name="api-create-image"),
]

urlpatterns += [
    path("studio/search/", studio_apis.StudioSearchApi.as_view(), name="api-studio-search"),
    path("studio/jobs/<int:pk>/", studio_apis.StudioJobApi.as_view(), name="api-studio-job"),
    path("studio/concepts/", studio_apis.ConceptListApi.as_view(), name="api-studio-concepts"),
    path(
        "studio/concepts/<int:pk>/",
        studio_apis.ConceptDetailApi.as_view(),
        name="api-studio-concept",
    ),
    path(
        "studio/concepts/<int:pk>/similar/",
        studio_apis.ConceptSimilarApi.as_view(),
        name="api-studio-concept-similar",
    ),
    path("studio/boards/", studio_apis.BoardListApi.as_view(), name="api-studio-boards"),
    path("studio/boards/<int:pk>/", studio_apis.BoardDetailApi.as_view(), name="api-studio-board"),
    path(
        "studio/boards/<int:pk>/concepts/",
        studio_apis.BoardConceptsApi.as_view(),
        name="api-studio-board-concepts",
    ),
    path(
        "studio/boards/<int:pk>/concepts/<int:concept_id>/",
        studio_apis.BoardConceptApi.as_view(),
        name="api-studio-board-concept",
    ),
    path(
        "studio/boards/<int:pk>/export/",
        studio_apis.BoardExportApi.as_view(),
        name="api-studio-board-export",
    ),
]
