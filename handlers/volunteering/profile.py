"""Volunteer sign-up and the volunteer's own profile (/volunteer, /profile).

    signup.activities  --done-->  signup.languages  --done-->  signup.levels (one per language)
    signup.levels      --all-->   signup.area       -->  signup.days  -->  signup.times
    signup.times       -->  signup.kind  -->  signup.limit  -->  signup.quiet  -->  signup.confirm
    signup.confirm     --save-->  END

Editing from /profile enters the same flow at one step (activities, languages, area, days and
times, offers per week, quiet hours); after that part `signup.edited` saves it and shows the
profile again, so each edit is one question, not a second run through the summary.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from bot.core.context import Context
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import N_, _, format_list, format_number, isolate, localise_digits, ngettext
from bot.core.router import Router
from bot.core.types import Button
from db.models import (
    Intent,
    Offer,
    OfferStatus,
    PersonRole,
    Role,
    VolunteerActivity,
    VolunteerLanguage,
    VolunteerProfile,
    VolunteerStatus,
)
from handlers.basics import forms
from handlers.basics.taxonomy import (
    ACTIVITIES,
    DAYS,
    LEVELS,
    SPOKEN_LANGUAGES,
    TIMES,
    activity_label,
    availability_bits,
    day_name,
    days_and_times,
    language_label,
    language_name,
)

router = Router("volunteers")

ACTIVITIES_STATE = "signup.activities"
LANGUAGES_STATE = "signup.languages"
LEVELS_STATE = "signup.levels"
AREA_STATE = "signup.area"
DAYS_STATE = "signup.days"
TIMES_STATE = "signup.times"
KIND_STATE = "signup.kind"
LIMIT_STATE = "signup.limit"
QUIET_STATE = "signup.quiet"
CONFIRM_STATE = "signup.confirm"
EDITED_STATE = "signup.edited"

LIMITS = (1, 2, 3, 5, 10)
QUIET_CHOICES = {"22-7": (22, 7), "21-8": (21, 8), "20-9": (20, 9), "none": None}
QUIET_TYPED = re.compile(r"^(\d{1,2})(?::00)?\s*[-–]\s*(\d{1,2})(?::00)?$")


# --- option lists in the reader's language ------------------------------------------------
def activity_options() -> list[forms.Option]:
    return [(key, _(label)) for key, label in ACTIVITIES.items()]


def language_options() -> list[forms.Option]:
    return [(code, language_label(code)) for code in SPOKEN_LANGUAGES]


def level_options() -> list[forms.Option]:
    return [(key, _(label)) for key, label in LEVELS.items()]


def day_options() -> list[forms.Option]:
    return [(day, day_name(day)) for day in DAYS]


def time_options() -> list[forms.Option]:
    return [(key, _(label)) for key, label in TIMES.items()]


def quiet_label(value: str) -> str:
    if value == "none":
        return _("No quiet hours")
    start, end = QUIET_CHOICES[value] or (0, 0)
    return localise_digits(f"{start:02d}:00–{end:02d}:00")


# --- the steps --------------------------------------------------------------------------
def _next(ctx: Context, default: str) -> str:
    """While editing one part of a profile, save and show the profile after that part."""
    if ctx.data.get("editing") and default not in (LEVELS_STATE, TIMES_STATE):
        return EDITED_STATE
    return default


async def ask_activities(ctx: Context) -> None:
    """What would you like to do? (several)"""
    ctx.reply(
        _("What would you like to help with? Choose one or more, then press Done."),
        forms.multi_buttons(
            ACTIVITIES_STATE, activity_options(), ctx.data.get("activities", []), per_row=1
        ),
    )


async def on_activities(ctx: Context, answer: Answer) -> str | None:
    """Toggle activities until Done."""
    done = forms.multi_choice(ctx, "activities", answer, activity_options())
    if done is None:
        ctx.reply(_("Please choose from the list, for example: 1, 3"))
    return _next(ctx, LANGUAGES_STATE) if done else ACTIVITIES_STATE


async def ask_languages(ctx: Context) -> None:
    """Which languages do you speak? (several)"""
    ctx.reply(
        _("Which languages do you speak? Choose all, then press Done."),
        forms.multi_buttons(
            LANGUAGES_STATE, language_options(), ctx.data.get("languages", []), per_row=3
        ),
    )


async def on_languages(ctx: Context, answer: Answer) -> str | None:
    """Toggle languages until Done; then ask the level of each."""
    done = forms.multi_choice(ctx, "languages", answer, language_options())
    if done is None:
        ctx.reply(_("I do not know that language. Please choose from the list."))
    if not done:
        return LANGUAGES_STATE
    levels = {k: v for k, v in ctx.data.get("levels", {}).items() if k in ctx.data["languages"]}
    ctx.remember(levels=levels)
    return LEVELS_STATE


def _language_without_level(ctx: Context) -> str | None:
    levels = ctx.data.get("levels", {})
    return next((code for code in ctx.data.get("languages", []) if code not in levels), None)


async def ask_level(ctx: Context) -> None:
    """How well do you speak this language?"""
    code = _language_without_level(ctx)
    if code is None:  # nothing left to ask: move on (happens after editing)
        await ctx.goto(_next(ctx, AREA_STATE))
        return
    ctx.reply(
        _("How well do you speak {language}?").format(language=language_name(code)),
        forms.choice_buttons(LEVELS_STATE, level_options(), per_row=3),
    )


async def on_level(ctx: Context, answer: Answer) -> str | None:
    code = _language_without_level(ctx)
    level = forms.single_choice(answer, level_options())
    if code is None:
        return _next(ctx, AREA_STATE)
    if level is None:
        ctx.reply(_("Please choose one of the options below."))
        return LEVELS_STATE
    ctx.remember(levels={**ctx.data.get("levels", {}), code: level})
    return LEVELS_STATE if _language_without_level(ctx) else _next(ctx, AREA_STATE)


async def ask_area(ctx: Context) -> None:
    """Where in the city? A district, or a postcode typed in."""
    ctx.reply(
        _(
            "Where in the city would you like to help? Choose your district, or type your "
            "postcode (5 digits)."
        ),
        forms.area_buttons(ctx, AREA_STATE),
    )


async def on_area(ctx: Context, answer: Answer) -> str | None:
    area = forms.area_answer(ctx, answer)
    if area is None:
        return AREA_STATE
    ctx.remember(district=area.district, postcode=area.postcode)
    return _next(ctx, DAYS_STATE)


async def ask_days(ctx: Context) -> None:
    """On which days? (several)"""
    ctx.reply(
        _("On which days do you usually have time? Choose, then press Done."),
        forms.multi_buttons(DAYS_STATE, day_options(), ctx.data.get("days", []), per_row=4),
    )


async def on_days(ctx: Context, answer: Answer) -> str | None:
    done = forms.multi_choice(ctx, "days", answer, day_options())
    if done is None:
        ctx.reply(_("Please choose from the list, for example: 1, 3"))
    return TIMES_STATE if done else DAYS_STATE


async def ask_times(ctx: Context) -> None:
    """At which times of day? (several)"""
    ctx.reply(
        _("At which times of day? Choose, then press Done."),
        forms.multi_buttons(TIMES_STATE, time_options(), ctx.data.get("times", []), per_row=3),
    )


async def on_times(ctx: Context, answer: Answer) -> str | None:
    done = forms.multi_choice(ctx, "times", answer, time_options())
    if done is None:
        ctx.reply(_("Please choose from the list, for example: 1, 3"))
    return _next(ctx, KIND_STATE) if done else TIMES_STATE


def kind_options() -> list[forms.Option]:
    return [("regular", _("Regularly")), ("one_off", _("Now and then, for single dates"))]


async def ask_kind(ctx: Context) -> None:
    """Regularly, or now and then?"""
    ctx.reply(
        _("Would you like to help regularly, or now and then?"),
        forms.choice_buttons(KIND_STATE, kind_options(), per_row=1),
    )


async def on_kind(ctx: Context, answer: Answer) -> str | None:
    kind = forms.chosen(ctx, answer, kind_options())
    if kind is None:
        return KIND_STATE
    ctx.remember(kind=kind)
    return _next(ctx, LIMIT_STATE)


def limit_options() -> list[forms.Option]:
    return [(str(n), str(n)) for n in LIMITS]


async def ask_limit(ctx: Context) -> None:
    """How many offers a week at most?"""
    ctx.reply(
        _("How many offers would you like to get per week at most?"),
        forms.choice_buttons(LIMIT_STATE, limit_options(), per_row=5),
    )


async def on_limit(ctx: Context, answer: Answer) -> str | None:
    value = forms.single_choice(answer, limit_options())
    if value is None:
        ctx.reply(_("Please choose one of the numbers below."))
        return LIMIT_STATE
    ctx.remember(limit=int(value))
    return _next(ctx, QUIET_STATE)


def quiet_options() -> list[forms.Option]:
    return [(key, quiet_label(key)) for key in QUIET_CHOICES]


async def ask_quiet(ctx: Context) -> None:
    """When should the bot stay silent?"""
    ctx.reply(
        _("When should I not send you offers? You can also type hours like 22-7."),
        forms.choice_buttons(QUIET_STATE, quiet_options()),
    )


async def on_quiet(ctx: Context, answer: Answer) -> str | None:
    match = QUIET_TYPED.match((answer.text or "").strip()) if not answer.is_button else None
    if match:
        start, end = int(match.group(1)), int(match.group(2))
        if start > 23 or end > 23 or start == end:
            ctx.reply(_("Please give two different hours between 0 and 23, like 22-7."))
            return QUIET_STATE
        ctx.remember(quiet=[start, end])
        return _next(ctx, CONFIRM_STATE)
    key = forms.single_choice(answer, quiet_options())
    if key is None:
        ctx.reply(_("Please choose one of the options, or type hours like 22-7."))
        return QUIET_STATE
    chosen = QUIET_CHOICES[key]
    ctx.remember(quiet=list(chosen) if chosen else None)
    return _next(ctx, CONFIRM_STATE)


def summary(data: dict[str, Any]) -> str:
    """The profile as the volunteer reads it back."""
    activities = format_list([activity_label(a) for a in data.get("activities", [])])
    languages = format_list(
        [
            f"{language_name(code)} ({_(LEVELS[level])})"
            for code, level in data.get("levels", {}).items()
        ]
    )
    area = data.get("district") or data.get("postcode") or "–"
    days = format_list([day_name(d) for d in data.get("days", [])])
    times = format_list([_(TIMES[t]) for t in data.get("times", [])])
    # mid-sentence, in lower case: the buttons' "Regularly" would read wrong in the summary
    kind = _("regularly") if data.get("kind", "regular") == "regular" else _("now and then")
    quiet = data.get("quiet")
    quiet_text = (
        localise_digits(f"{quiet[0]:02d}:00–{quiet[1]:02d}:00") if quiet else _("No quiet hours")
    )
    return "\n".join(
        [
            _("What: {activities}").format(activities=activities),
            _("Languages: {languages}").format(languages=languages),
            _("Where: {area}").format(area=isolate(area)),
            _("When: {days}, {times} ({kind})").format(days=days, times=times, kind=kind),
            ngettext(
                "At most {count} offer per week; quiet hours: {quiet}",
                "At most {count} offers per week; quiet hours: {quiet}",
                data.get("limit", 2),
            ).format(count=format_number(data.get("limit", 2)), quiet=quiet_text),
        ]
    )


async def ask_confirm(ctx: Context) -> None:
    """Show everything once more before saving."""
    ctx.reply(
        _("Please check your profile:") + "\n\n" + summary(ctx.data),
        [
            [Button(CONFIRM_STATE, _("Save"), "save")],
            [
                Button(CONFIRM_STATE, _("Start over"), "restart"),
                Button(CONFIRM_STATE, _("Cancel"), "cancel"),
            ],
        ],
    )


async def on_confirm(ctx: Context, answer: Answer) -> str | None:
    if answer.value == "restart":
        ctx.remember(editing=False, activities=[], languages=[], levels={}, days=[], times=[])
        return ACTIVITIES_STATE
    if answer.value == "cancel":
        ctx.reply(_("Nothing was saved."))
        return END
    if answer.value != "save":
        ctx.reply(_("Please answer with one of the buttons."))
        return CONFIRM_STATE
    profile = await save_profile(ctx, ctx.data)
    ctx.reply(
        _(
            "Thank you, {name}! Your volunteer profile is saved. I will send you offers "
            "that fit you. Change or pause them any time with /profile."
        ).format(name=isolate(profile.first_name))
    )
    return END


async def ask_edited(ctx: Context) -> None:
    """One part of the profile was edited from /profile: save it and show the profile again."""
    data = dict(ctx.data)
    await ctx.end_flow()
    await save_profile(ctx, data)
    ctx.reply(_("Saved."))
    await show_profile(ctx)


async def on_edited(ctx: Context, answer: Answer) -> str | None:
    """Never asked: the step saves and ends the flow when it is reached."""
    return END


SIGNUP = router.add_flow(
    Flow(
        name="signup",
        first=ACTIVITIES_STATE,
        steps={
            ACTIVITIES_STATE: Step(ask_activities, on_activities),
            LANGUAGES_STATE: Step(ask_languages, on_languages),
            LEVELS_STATE: Step(ask_level, on_level),
            AREA_STATE: Step(ask_area, on_area),
            DAYS_STATE: Step(ask_days, on_days),
            TIMES_STATE: Step(ask_times, on_times),
            KIND_STATE: Step(ask_kind, on_kind),
            LIMIT_STATE: Step(ask_limit, on_limit),
            QUIET_STATE: Step(ask_quiet, on_quiet),
            CONFIRM_STATE: Step(ask_confirm, on_confirm),
            EDITED_STATE: Step(ask_edited, on_edited),
        },
    )
)


# --- storing ----------------------------------------------------------------------------
async def load_profile(ctx: Context) -> VolunteerProfile | None:
    return await ctx.session.get(VolunteerProfile, ctx.person.id)


def profile_data(profile: VolunteerProfile) -> dict[str, Any]:
    days, times = days_and_times(profile.availability_bits)
    return {
        "activities": [a.activity for a in profile.activities],
        "languages": [lang.language for lang in profile.languages],
        "levels": {lang.language: lang.level for lang in profile.languages},
        "district": profile.district,
        "postcode": profile.postcode,
        "days": days,
        "times": times,
        "kind": profile.availability_kind,
        "limit": profile.max_offers_per_week,
        "quiet": (
            [profile.quiet_start, profile.quiet_end] if profile.quiet_start is not None else None
        ),
    }


async def save_profile(ctx: Context, data: dict[str, Any]) -> VolunteerProfile:
    person = ctx.person
    profile = await load_profile(ctx)
    if profile is None:
        profile = VolunteerProfile(person_id=person.id, activities=[], languages=[])
        ctx.session.add(profile)
    profile.first_name = (
        person.display_name or ctx.incoming.actor.display_name or _("Volunteer")
    )[:64]
    profile.activities = [VolunteerActivity(activity=a) for a in data["activities"]]
    profile.languages = [
        VolunteerLanguage(language=code, level=level) for code, level in data["levels"].items()
    ]
    profile.district, profile.postcode = data.get("district"), data.get("postcode")
    profile.availability_bits = availability_bits(data["days"], data["times"])
    profile.availability_kind = data.get("kind", "regular")
    profile.max_offers_per_week = int(data.get("limit", 2))
    quiet = data.get("quiet")
    profile.quiet_start, profile.quiet_end = (quiet[0], quiet[1]) if quiet else (None, None)
    if profile.status is None:
        profile.status = VolunteerStatus.ACTIVE
    if not person.has_role(Role.VOLUNTEER):
        person.roles.append(PersonRole(role=Role.VOLUNTEER, granted_at=ctx.services.clock()))
    return profile


# --- commands and buttons ----------------------------------------------------------------
@router.command("volunteer", N_("Sign up as a volunteer"))
async def volunteer_command(ctx: Context) -> None:
    """Start the sign-up, or show the profile of someone already signed up."""
    if await load_profile(ctx) is not None:
        await show_profile(ctx)
        return
    ctx.reply(
        _(
            "Let's create your volunteer profile. It takes about two minutes; you can "
            "stop with /cancel at any time."
        )
    )
    await ctx.start_flow(SIGNUP)


@router.button("volunteer.signup")
async def signup_button(ctx: Context, _value: str) -> None:
    await volunteer_command(ctx)


PROFILE_EDITS = {
    "activities": (ACTIVITIES_STATE, N_("Edit activities")),
    "languages": (LANGUAGES_STATE, N_("Edit languages")),
    "area": (AREA_STATE, N_("Edit area")),
    "times": (DAYS_STATE, N_("Edit days and times")),
    "limit": (LIMIT_STATE, N_("Edit offers per week")),
    "quiet": (QUIET_STATE, N_("Edit quiet hours")),
}


@router.command("profile", N_("Show and edit your volunteer profile"))
async def show_profile(ctx: Context) -> None:
    profile = await load_profile(ctx)
    if profile is None:
        ctx.reply(
            _("You do not have a volunteer profile yet."),
            [Button("volunteer.signup", _("Sign up as a volunteer"))],
        )
        return
    paused = profile.status == VolunteerStatus.PAUSED
    status = _("Offers are paused.") if paused else _("You receive offers.")
    buttons = [
        [Button("volunteer.edit", _(label), key)] for key, (_state, label) in PROFILE_EDITS.items()
    ]
    buttons.append(
        [
            Button("volunteer.resume", _("Resume offers"))
            if paused
            else Button("volunteer.pause", _("Pause offers")),
            Button("volunteer.delete", _("Delete profile")),
        ]
    )
    ctx.reply(
        _("Your volunteer profile") + "\n\n" + summary(profile_data(profile)) + "\n\n" + status,
        buttons,
    )


@router.button("volunteer.profile")
async def profile_button(ctx: Context, _value: str) -> None:
    await show_profile(ctx)


@router.button("volunteer.edit")
async def edit_button(ctx: Context, value: str) -> None:
    profile = await load_profile(ctx)
    if profile is None or value not in PROFILE_EDITS:
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    await ctx.start_flow(SIGNUP, at=PROFILE_EDITS[value][0], editing=True, **profile_data(profile))


async def set_paused(ctx: Context, paused: bool) -> None:
    profile = await load_profile(ctx)
    if profile is None:
        ctx.reply(_("You do not have a volunteer profile yet."))
        return
    profile.status = VolunteerStatus.PAUSED if paused else VolunteerStatus.ACTIVE
    ctx.reply(
        _("Offers are paused. Resume them any time with /profile.")
        if paused
        else _("Welcome back! You will receive offers again.")
    )


@router.button("volunteer.pause", destructive=True)
async def pause_button(ctx: Context, _value: str) -> None:
    await set_paused(ctx, True)


@router.button("volunteer.resume")
async def resume_button(ctx: Context, _value: str) -> None:
    await set_paused(ctx, False)


@router.button("volunteer.delete")
async def delete_button(ctx: Context, value: str) -> None:
    """Deleting needs a second tap; it withdraws open offers politely."""
    profile = await load_profile(ctx)
    if profile is None:
        ctx.reply(_("You do not have a volunteer profile yet."))
        return
    if value != "confirm":
        ctx.reply(
            _(
                "Do you really want to delete your volunteer profile? Offers you accepted "
                "will be withdrawn."
            ),
            [
                Button("volunteer.delete", _("Yes, delete it"), "confirm"),
                Button("volunteer.profile", _("No, keep it")),
            ],
        )
        return
    from handlers.volunteering.offers import withdraw_all

    await withdraw_all(ctx.notifier, ctx.person.id)
    await ctx.session.delete(profile)
    for role in [r for r in ctx.person.roles if r.role == Role.VOLUNTEER]:
        ctx.person.roles.remove(role)
    ctx.reply(_("Your volunteer profile is deleted."))


async def active_offers(ctx: Context) -> list[Offer]:
    return list(
        await ctx.session.scalars(
            select(Offer).where(
                Offer.volunteer_person_id == ctx.person.id,
                Offer.status.in_(
                    [OfferStatus.OFFERED, OfferStatus.INTERESTED, OfferStatus.ACCEPTED]
                ),
            )
        )
    )


router.menu_entry(
    "volunteer.signup", N_("Sign up as a volunteer"), order=10, intents=[Intent.VOLUNTEER]
)
router.menu_entry(
    "volunteer.profile", N_("My volunteer profile"), order=15, intents=[Intent.VOLUNTEER]
)
