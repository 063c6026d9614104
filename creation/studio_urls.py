"""Merchant studio pages."""

from django.urls import path

from creation import studio_views as views

app_name = "studio"
urlpatterns = [
    path("", views.studio_page, name="studio"),
    path("jobs/<int:pk>/concepts/", views.job_concepts, name="job-concepts"),
    path("concepts/<int:pk>/similar/", views.concept_similar, name="concept-similar"),
    path("concepts/<int:pk>/save/", views.concept_save, name="concept-save"),
    path("boards/", views.boards_page, name="boards"),
    path("boards/<int:pk>/", views.board_page, name="board"),
    path("boards/<int:pk>/export/", views.board_export, name="board-export"),
    path("boards/<int:pk>/delete/", views.board_delete, name="board-delete"),
    path(
        "boards/<int:pk>/concepts/<int:concept_id>/remove/",
        views.board_concept_remove,
        name="board-concept-remove",
    ),
]
