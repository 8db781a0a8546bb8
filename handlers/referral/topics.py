"""The topics of referral advice, with their labels marked for translation.

Services in the directory and events are filed under these ids; the labels are translated
on display. They live in the bot, not in db/, because the database must not know about
translation (db never imports bot); the directory import, search and the features read them.
"""

from __future__ import annotations

from bot.core.i18n import N_

#: Topics of referral advice; ids are stored and labels translated on display.
TOPICS: dict[str, str] = {
    "residence_asylum": N_("Residence and asylum law"),
    "education_school": N_("Education and school"),
    "language_courses": N_("Language courses"),
    "work_jobcentre": N_("Work and job centre"),
    "recognition": N_("Recognition of qualifications"),
    "housing": N_("Housing"),
    "health": N_("Health"),
    "psychosocial": N_("Psychosocial support"),
    "family_children": N_("Family and children"),
    "women": N_("Women"),
    "lgbtiq": N_("LGBTIQ"),
    "anti_discrimination": N_("Anti-discrimination"),
    "money_benefits": N_("Money and benefits"),
    "everyday_help": N_("Everyday help"),
}

#: Finer topics where one topic alone sends people to too many places.
SUBTOPICS: dict[str, dict[str, str]] = {
    "residence_asylum": {
        "asylum_procedure": N_("Asylum procedure"),
        "residence_permit": N_("Residence permit"),
        "family_reunification": N_("Family reunification"),
    },
    "health": {
        "doctor_search": N_("Finding a doctor"),
        "health_insurance": N_("Health insurance"),
        "pregnancy": N_("Pregnancy"),
    },
    "work_jobcentre": {
        "job_search": N_("Finding work"),
        "jobcentre_benefits": N_("Job centre and benefits"),
        "training": N_("Apprenticeships and training"),
    },
    "housing": {
        "flat_search": N_("Finding a flat"),
        "tenancy": N_("Tenancy problems"),
    },
}
