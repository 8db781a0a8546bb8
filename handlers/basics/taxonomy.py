"""The fixed vocabularies of the network: activities, spoken languages and levels, days,
times of day, partner kinds and districts. Ids are stored; labels are translated on display."""

from __future__ import annotations

from babel import Locale

from bot.core.i18n import N_, _, current_language, pgettext

ACTIVITIES: dict[str, str] = {
    "interpreting": N_("Language mediation and interpreting"),
    "accompany_authorities": N_("Accompanying to appointments and authorities"),
    "german_lessons": N_("German lessons and conversation"),
    "homework_help": N_("Homework help and tutoring"),
    "childcare": N_("Childcare"),
    "leisure_sports": N_("Leisure and sports"),
    "job_applications": N_("Help with job applications"),
    "housing_search": N_("Help with the housing search"),
    "digital_help": N_("Digital and IT help"),
    "transport": N_("Transport and driving"),
    "sorting_donations": N_("Sorting donations"),
    "event_help": N_("Help at events"),
    "forms_letters": N_("Help with forms and letters"),
    "accompany_doctors": N_("Accompanying to doctors"),
}

#: Languages volunteers speak and needs ask for (ISO 639 codes; names come from CLDR).
SPOKEN_LANGUAGES: tuple[str, ...] = (
    "de",
    "en",
    "ar",
    "fa",
    "fa_AF",  # Dari, the Persian of Afghanistan (CLDR names it so in every language)
    "ps",
    "ku",
    "ckb",
    "ti",
    "so",
    "uk",
    "ru",
    "tr",
    "fr",
    "es",
    "sq",
    "ro",
    "bg",
    "pl",
    "am",
    "ur",
)

LEVELS: dict[str, str] = {
    "basic": N_("basic"),
    "good": N_("good"),
    "native": N_("native or fluent"),
}
LEVEL_POINTS = {"basic": 8, "good": 20, "native": 30}

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIMES: dict[str, str] = {
    "morning": N_("mornings"),
    "afternoon": N_("afternoons"),
    "evening": N_("evenings"),
}
TIME_RANGES = {"morning": (6, 12), "afternoon": (12, 17), "evening": (17, 24)}

ORGANISATION_KINDS: dict[str, str] = {
    "welcome_initiative": N_("Welcome initiative"),
    "self_organisation": N_("Refugee self-organisation"),
    "counselling_centre": N_("Counselling centre"),
    "job_centre": N_("Job centre"),
    "housing_office": N_("Housing office"),
    "shelter": N_("Shelter"),
    "company": N_("Company"),
    "university": N_("University"),
    "housing_cooperative": N_("Housing cooperative"),
}


def activity_label(activity: str) -> str:
    return _(ACTIVITIES[activity]) if activity in ACTIVITIES else activity


def language_name(code: str) -> str:
    """A spoken language named in the reader's language as it stands mid-sentence: "Arabisch",
    "Arabic", "арабский" (Russian and Ukrainian write language names in lower case)."""
    locale = Locale.parse(current_language())
    return str(locale.languages.get(code) or Locale.parse(code).get_display_name(locale) or code)


def language_label(code: str) -> str:
    """A language name that starts a line, a button or a table cell: "Арабский"."""
    name = language_name(code)
    return name[:1].upper() + name[1:]


def day_name(day: str, width: str = "wide") -> str:
    locale = Locale.parse(current_language())
    return str(locale.days["stand-alone"][width][DAYS.index(day)])


def kind_label(kind: str) -> str:
    return _(ORGANISATION_KINDS[kind]) if kind in ORGANISATION_KINDS else kind


def slot_bit(day_index: int, part: str) -> int:
    return 1 << (day_index * 3 + list(TIMES).index(part))


def availability_bits(days: list[str], times: list[str]) -> int:
    bits = 0
    for day in days:
        for part in times:
            bits |= slot_bit(DAYS.index(day), part)
    return bits


def days_and_times(bits: int) -> tuple[list[str], list[str]]:
    days = [d for i, d in enumerate(DAYS) if any(bits & slot_bit(i, p) for p in TIMES)]
    times = [p for p in TIMES if any(bits & slot_bit(i, p) for i in range(7))]
    return days, times


def part_of_day(hour: int) -> str:
    for part, (start, end) in TIME_RANGES.items():
        if start <= hour < end:
            return part
    return "morning" if hour < 6 else "evening"


def role_label(role: str) -> str:
    """A person's role as people call it (/mydata shows roles; the ids are English words)."""
    labels = {
        "coordinator": pgettext("role", "coordinator"),
        "volunteer": pgettext("role", "volunteer"),
        "org_member": pgettext("role", "member of an organisation"),
        "org_admin": pgettext("role", "admin of an organisation"),
    }
    return labels.get(role, role)
