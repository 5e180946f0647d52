from django.urls import path

from . import views

app_name = "branding"
urlpatterns = [
    path("", views.kit_list, name="kits"),
    path("<int:pk>/", views.kit_detail, name="kit"),
    path("<int:pk>/delete/", views.kit_delete, name="kit_delete"),
    path("<int:pk>/apply/", views.kit_apply, name="kit_apply"),
    path("<int:pk>/assets/", views.asset_upload, name="asset_upload"),
    path("assets/<int:pk>/", views.asset_place, name="asset_place"),
    path("assets/<int:pk>/delete/", views.asset_delete, name="asset_delete"),
    path("assets/<int:pk>/file", views.asset_file, name="asset_file"),
    path("templates/", views.template_create, name="template_create"),
    path("templates/<int:pk>/apply/", views.template_apply, name="template_apply"),
    path("templates/<int:pk>/delete/", views.template_delete, name="template_delete"),
]
