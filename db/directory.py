"""The referral directory's models, kept importable here; they live in db/models/directory.py.

The topic labels (`TOPICS`, `SUBTOPICS`) live in handlers/referral/topics.py: db does not
translate.
"""

from __future__ import annotations

from db.models.directory import (
    SERVICE_STATUSES,
    TRANSLATABLE,
    DirLanguage,
    DirLocation,
    DirOrganization,
    DirPhone,
    DirSchedule,
    DirService,
    DirServiceAtLocation,
    DirTaxonomyTerm,
    DirTranslation,
)

__all__ = [
    "SERVICE_STATUSES",
    "TRANSLATABLE",
    "DirLanguage",
    "DirLocation",
    "DirOrganization",
    "DirPhone",
    "DirSchedule",
    "DirService",
    "DirServiceAtLocation",
    "DirTaxonomyTerm",
    "DirTranslation",
]
