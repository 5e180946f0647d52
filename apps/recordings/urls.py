from django.urls import path

from . import views

app_name = "recordings"
urlpatterns = [
    path("", views.recording_list, name="list"),
    path("<int:pk>/file", views.recording_file, name="file"),
    path("<int:pk>/rename/", views.recording_rename, name="rename"),
    path("<int:pk>/delete/", views.recording_delete, name="delete"),
]
