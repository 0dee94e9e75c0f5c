"""/points/: 喜邻积分 — my points, the activity calendar, offers, the organiser's and the merchant's pages."""

from django.urls import path

from . import views

app_name = "points"

urlpatterns = [
    path("", views.index, name="index"),
    path("activities/", views.activities, name="activities"),
    path("activities/new/", views.activity_create, name="activity_create"),
    path("activities/<int:pk>/", views.activity_detail, name="activity"),
    path("activities/<int:pk>/signup/", views.sign_up, name="sign_up"),
    path("activities/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("signups/<int:pk>/<str:action>/", views.attendance, name="attendance"),
    path("deeds/", views.deeds, name="deeds"),
    path("deeds/report/", views.deed_report, name="deed_report"),
    path("deeds/<int:pk>/<str:action>/", views.deed_decide, name="deed_decide"),
    path("offers/", views.offers, name="offers"),
    path("offers/<int:pk>/buy/", views.buy, name="buy"),
    path("vouchers/<int:pk>/cancel/", views.voucher_cancel, name="voucher_cancel"),
    path("redeem/", views.redeem, name="redeem"),
    path("settlement/", views.settlement, name="settlement"),
    path("settlement.xlsx", views.settlement_xlsx, name="settlement_xlsx"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("leaderboard/choice/", views.leaderboard_choice, name="leaderboard_choice"),
    path("certificate.pdf", views.certificate, name="certificate"),
    path("verify/", views.verify, name="verify"),
    path("residents/<int:pk>/certificate.pdf", views.resident_certificate, name="resident_certificate"),
]
