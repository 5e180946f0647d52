from django.urls import path

from . import views

app_name = "rtc"

urlpatterns = [
    path("webhook", views.webhook, name="webhook"),
]
