from django.urls import path

from . import views

urlpatterns = [
    path("chat/<str:chat_id>/stream/", views.stream),
    path("chat/<str:chat_id>/stop/", views.stop_generation),
]
