"""Legal service and mediation (法律服务与调解): advisers, consultations, mediation cases."""

from django.urls import path

from . import legal_views as v

urlpatterns = [
    path("legal/", v.legal_index, name="legal"),
    path("legal/advisers/new/", v.adviser_new, name="adviser_new"),
    path("legal/advisers/<int:pk>/end/", v.adviser_end, name="adviser_end"),
    path("legal/consultations/new/", v.consultation_new, name="consultation_new"),
    path("legal/mediations/", v.mediation_list, name="mediations"),
    path("legal/mediations/new/", v.mediation_new, name="mediation_new"),
    path("legal/mediations/<int:pk>/", v.mediation_detail, name="mediation"),
    path("legal/mediations/<int:pk>/parties/", v.mediation_party, name="mediation_party"),
    path("legal/mediations/<int:pk>/sessions/", v.mediation_session, name="mediation_session"),
    path("legal/mediations/<int:pk>/conclude/", v.mediation_conclude, name="mediation_conclude"),
]
