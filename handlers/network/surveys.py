"""Surveys for needs assessment.

Coordinators build a survey in chat (/survey): single choice, multiple choice, a 1–5 scale or
free text, each question optionally in several languages; then choose the audience and whether
answers are anonymous, and send it through the outbox. People answer step by step and can
stop and continue later (/surveys). Results come as a summary, a bar chart (PNG) and a CSV.

    survey.title → survey.kind → survey.question → (survey.options) → survey.more
    survey.more --add--> survey.kind;  --finish--> survey.audience → survey.anonymous
    → survey.preview --send--> END
    answering: survey.answer (one state, one question after the other)
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from bot.core import multilang, spreadsheet
from bot.core.context import Context, make_reply
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import N_, _, format_list, format_number, ngettext
from bot.core.ids import get_row
from bot.core.router import Router
from bot.core.types import Attachment, Button, Reply
from db.models import Survey, SurveyParticipation, SurveyResponse
from handlers.basics import forms
from handlers.basics.audit import audit
from handlers.basics.taxonomy import language_label
from handlers.network.broadcast import people_query

router = Router("surveys")

TITLE, KIND, QUESTION, OPTIONS, MORE = (
    "survey.title",
    "survey.kind",
    "survey.question",
    "survey.options",
    "survey.more",
)
AUDIENCE, ANONYMOUS, PREVIEW, ANSWER = (
    "survey.audience",
    "survey.anonymous",
    "survey.preview",
    "survey.answer",
)
MAX_QUESTIONS, MAX_TEXT_ANSWER = 20, 1000

KINDS = {
    "single": N_("Single choice"),
    "multi": N_("Multiple choice"),
    "scale": N_("Scale from 1 to 5"),
    "text": N_("Free text"),
}
AUDIENCES = {
    "volunteers": N_("Volunteers"),
    "members": N_("Members of organisations"),
    "everyone": N_("Everyone"),
}


def kind_options() -> list[forms.Option]:
    return [(k, _(v)) for k, v in KINDS.items()]


def label(texts: dict[str, str]) -> str:
    return multilang.pick(texts)[0]


def with_note(text: str, *texts: dict[str, str]) -> str:
    """A message showing people's texts, marked once at its end if any is not in the reader's
    language (a title in mid-sentence must not be broken by the marker)."""
    originals = [multilang.pick(t)[1] for t in texts]
    marker = next((multilang.note(o) for o in originals if multilang.note(o)), "")
    return text + "\n" + marker if marker else text


# --- building a survey -------------------------------------------------------------------------
async def ask_title(ctx: Context) -> None:
    """The survey's title."""
    ctx.reply(_("What is the survey called? (Several languages: one line each, de: …, ar: …)"))


async def on_title(ctx: Context, answer: Answer) -> str | None:
    text = forms.text_answer(ctx, answer, limit=300, minimum=3)
    if text is None:
        return TITLE
    ctx.remember(title=multilang.parse(text, ctx.language), questions=[])
    return KIND


async def ask_kind(ctx: Context) -> None:
    """What kind of question comes next?"""
    number = len(ctx.data.get("questions", [])) + 1
    ctx.reply(
        _("Question {number}: what kind of question?").format(number=number),
        forms.choice_buttons(KIND, kind_options(), per_row=2),
    )


async def on_kind(ctx: Context, answer: Answer) -> str | None:
    kind = forms.chosen(ctx, answer, kind_options())
    if kind is None:
        return KIND
    ctx.remember(kind=kind)
    return QUESTION


async def ask_question(ctx: Context) -> None:
    """The question itself."""
    ctx.reply(_("Write the question. (Several languages: one line each, de: …, ar: …)"))


async def on_question(ctx: Context, answer: Answer) -> str | None:
    text = forms.text_answer(ctx, answer, limit=500, minimum=3)
    if text is None:
        return QUESTION
    question = {
        "kind": ctx.data["kind"],
        "text": multilang.parse(text, ctx.language),
        "options": [],
    }
    if question["kind"] in ("single", "multi"):
        ctx.remember(pending=question)
        return OPTIONS
    ctx.remember(questions=[*ctx.data["questions"], question])
    return MORE


async def ask_options(ctx: Context) -> None:
    """The choices, one per line."""
    ctx.reply(_("Write the choices, one per line (2 to 10)."))


async def on_options(ctx: Context, answer: Answer) -> str | None:
    again = _("Please write 2 to 10 different choices, one per line.")
    options = forms.lines_answer(ctx, answer, most=10, limit=1000, again=again)
    if options is None:
        return OPTIONS
    question = {**ctx.data["pending"], "options": [{ctx.language: o} for o in options]}
    ctx.remember(questions=[*ctx.data["questions"], question], pending=None)
    return MORE


async def ask_more(ctx: Context) -> None:
    """Another question, or done?"""
    count = len(ctx.data["questions"])
    buttons = [Button(MORE, _("Finish"), "finish")]
    if count < MAX_QUESTIONS:
        buttons.insert(0, Button(MORE, _("Add a question"), "add"))
    ctx.reply(
        ngettext(
            "The survey has {count} question.", "The survey has {count} questions.", count
        ).format(count=format_number(count)),
        [buttons],
    )


async def on_more(ctx: Context, answer: Answer) -> str | None:
    if answer.value == "add" and len(ctx.data["questions"]) < MAX_QUESTIONS:
        return KIND
    if answer.value == "finish":
        return AUDIENCE
    ctx.reply(_("Please answer with one of the buttons."))
    return MORE


def audience_options() -> list[forms.Option]:
    return [(k, _(v)) for k, v in AUDIENCES.items()]


async def ask_audience(ctx: Context) -> None:
    """Who should answer?"""
    ctx.reply(
        _("Who should answer the survey?"),
        forms.choice_buttons(AUDIENCE, audience_options(), per_row=1),
    )


async def on_audience(ctx: Context, answer: Answer) -> str | None:
    audience = forms.chosen(ctx, answer, audience_options())
    if audience is None:
        return AUDIENCE
    ctx.remember(audience=audience)
    return ANONYMOUS


async def ask_anonymous(ctx: Context) -> None:
    """Anonymous answers?"""
    ctx.reply(
        _("Should the answers be anonymous?"),
        [
            [
                Button(ANONYMOUS, _("Yes, anonymous"), "yes"),
                Button(ANONYMOUS, _("No, with names"), "no"),
            ]
        ],
    )


async def on_anonymous(ctx: Context, answer: Answer) -> str | None:
    if answer.value not in ("yes", "no"):
        ctx.reply(_("Please answer with one of the buttons."))
        return ANONYMOUS
    ctx.remember(anonymous=answer.value == "yes")
    return PREVIEW


async def ask_preview(ctx: Context) -> None:
    """Title, questions and the number of people who will be asked."""
    lines = [label(ctx.data["title"]), ""]
    for number, question in enumerate(ctx.data["questions"], start=1):
        lines.append(f"{number}. {label(question['text'])} ({_(KINDS[question['kind']])})")
    people = list(await ctx.session.scalars(people_query(ctx.data["audience"])))
    ctx.reply("\n".join(lines))
    ctx.reply(
        ngettext(
            "{count} person will be asked. Send the survey?",
            "{count} people will be asked. Send the survey?",
            len(people),
        ).format(count=format_number(len(people))),
        forms.preview_buttons(PREVIEW, _("Send"), editable=False),
    )


async def on_preview(ctx: Context, answer: Answer) -> str | None:
    cancelled = _("Nothing was sent.")
    step = forms.preview_answer(ctx, answer, state=PREVIEW, cancelled=cancelled)
    if step != forms.PUBLISH:
        return step
    survey = Survey(
        title=ctx.data["title"],
        questions=ctx.data["questions"],
        audience=ctx.data["audience"],
        anonymous=ctx.data["anonymous"],
        created_by_person_id=ctx.person.id,
        created_at=ctx.services.clock(),
    )
    ctx.session.add(survey)
    await ctx.session.flush()
    people = list(await ctx.session.scalars(people_query(survey.audience)))
    for person in people:
        ctx.session.add(SurveyParticipation(survey_id=survey.id, person_id=person.id, draft=[]))
        await ctx.send_to(person, invitation(survey))
    audit(ctx, "survey.send", f"survey:{survey.id}", people=len(people))
    ctx.reply(
        ngettext(
            "The survey was sent to {count} person.",
            "The survey was sent to {count} people.",
            len(people),
        ).format(count=format_number(len(people))),
        [Button("survey.results", _("Results"), str(survey.id))],
    )
    return END


def invitation(survey: Survey) -> Callable[[], Reply]:
    def render() -> Reply:
        text = ngettext(
            "A short survey: {title} ({count} question). Your answers help the network "
            "plan its work.",
            "A short survey: {title} ({count} questions). Your answers help the network "
            "plan its work.",
            len(survey.questions),
        ).format(title=label(survey.title), count=format_number(len(survey.questions)))
        text = with_note(text, survey.title)
        if survey.anonymous:
            text += "\n" + _("Your answers are anonymous.")
        return make_reply(text, [Button("survey.start", _("Start"), str(survey.id))])

    return render


# --- answering ---------------------------------------------------------------------------------
async def participation(ctx: Context, survey_id: int) -> SurveyParticipation | None:
    return await ctx.session.scalar(
        select(SurveyParticipation).where(
            SurveyParticipation.survey_id == survey_id,
            SurveyParticipation.person_id == ctx.person.id,
        )
    )


def answer_options(question: dict[str, Any]) -> list[forms.Option]:
    if question["kind"] == "scale":
        return [(str(n), str(n)) for n in range(1, 6)]
    return [(str(i), label(o)) for i, o in enumerate(question["options"])]


async def ask_answer(ctx: Context) -> None:
    """The next question of the survey."""
    survey = await ctx.session.get(Survey, ctx.data["survey_id"])
    assert survey is not None
    index = ctx.data["index"]
    question = survey.questions[index]
    head = _("Question {number} of {total}:").format(
        number=format_number(index + 1), total=format_number(len(survey.questions))
    )
    text = with_note(
        f"{head}\n{label(question['text'])}", question["text"], *question.get("options", [])
    )
    kind = question["kind"]
    if kind == "text":
        ctx.reply(
            text + "\n" + _("(Type your answer, or skip.)"),
            [Button(ANSWER, _("Skip"), forms.SKIP)],
        )
    elif kind == "multi":
        ctx.reply(
            text,
            forms.multi_buttons(
                ANSWER, answer_options(question), ctx.data.get("chosen", []), per_row=1
            ),
        )
    elif kind == "scale":
        ctx.reply(
            text + "\n" + _("1 = not at all, 5 = very much"),
            forms.choice_buttons(ANSWER, answer_options(question), per_row=5),
        )
    else:
        ctx.reply(text, forms.choice_buttons(ANSWER, answer_options(question), per_row=1))


async def on_answer(ctx: Context, answer: Answer) -> str | None:
    survey = await ctx.session.get(Survey, ctx.data["survey_id"])
    entry = await participation(ctx, ctx.data["survey_id"])
    if survey is None or entry is None or entry.completed_at is not None:
        ctx.reply(_("This survey is closed."))
        return END
    question = survey.questions[ctx.data["index"]]
    kind = question["kind"]
    value: Any
    if kind == "text":
        if answer.value == forms.SKIP:
            value = ""
        else:
            text = forms.text_answer(ctx, answer, limit=MAX_TEXT_ANSWER)
            if text is None:
                return ANSWER
            value = text
    elif kind == "multi":
        done = forms.multi_choice(ctx, "chosen", answer, answer_options(question), minimum=0)
        if done is None:
            ctx.reply(_("Please choose from the list, for example: 1, 3"))
        if not done:
            return ANSWER
        value = sorted(int(v) for v in ctx.data.get("chosen", []))
    else:
        choice = forms.chosen(ctx, answer, answer_options(question))
        if choice is None:
            return ANSWER
        value = int(choice)
    entry.draft = [*entry.draft, value]  # kept: the person can stop and continue later
    index = ctx.data["index"] + 1
    if index < len(survey.questions):
        ctx.remember(index=index, chosen=[])
        return ANSWER
    entry.completed_at = ctx.services.clock()
    ctx.session.add(
        SurveyResponse(
            survey_id=survey.id,
            person_id=None if survey.anonymous else ctx.person.id,
            language=ctx.language,
            answers=entry.draft,
            created_at=ctx.services.clock(),
        )
    )
    if survey.anonymous:
        entry.draft = []  # the answers live on only in the unlinked response
    ctx.reply(_("Thank you for taking part!"))
    return END


SURVEY = router.add_flow(
    Flow(
        name="survey",
        first=TITLE,
        steps={
            TITLE: Step(ask_title, on_title),
            KIND: Step(ask_kind, on_kind),
            QUESTION: Step(ask_question, on_question),
            OPTIONS: Step(ask_options, on_options),
            MORE: Step(ask_more, on_more),
            AUDIENCE: Step(ask_audience, on_audience),
            ANONYMOUS: Step(ask_anonymous, on_anonymous),
            PREVIEW: Step(ask_preview, on_preview),
            ANSWER: Step(ask_answer, on_answer),
        },
    )
)


@router.command("survey", N_("Create a survey (coordinators)"), listed=False)
async def survey_command(ctx: Context) -> None:
    await ctx.start_flow(SURVEY, at=TITLE)


@router.button("survey.start")
async def start(ctx: Context, value: str) -> None:
    """Start, or continue where the person stopped."""
    survey = await get_row(ctx.session, Survey, value)
    entry = await participation(ctx, survey.id) if survey else None
    if survey is None or entry is None:
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    if entry.completed_at is not None or survey.status != "open":
        ctx.reply(_("You have already answered this survey. Thank you!"))
        return
    await ctx.start_flow(SURVEY, at=ANSWER, survey_id=survey.id, index=len(entry.draft), chosen=[])


@router.command("surveys", N_("Surveys waiting for your answers"))
async def surveys(ctx: Context) -> None:
    open_ones = list(
        await ctx.session.execute(
            select(Survey, SurveyParticipation)
            .join(SurveyParticipation, SurveyParticipation.survey_id == Survey.id)
            .where(
                SurveyParticipation.person_id == ctx.person.id,
                SurveyParticipation.completed_at.is_(None),
                Survey.status == "open",
            )
        )
    )
    if not open_ones:
        ctx.reply(_("There are no surveys waiting for you."))
        return
    for survey, entry in open_ones:
        ctx.reply(
            with_note(
                _("{title}: {done} of {total} questions answered").format(
                    title=label(survey.title),
                    done=format_number(len(entry.draft)),
                    total=format_number(len(survey.questions)),
                ),
                survey.title,
            ),
            [Button("survey.start", _("Continue"), str(survey.id))],
        )


# --- results -----------------------------------------------------------------------------------
def tally(survey: Survey, responses: list[SurveyResponse]) -> list[Counter[int]]:
    counts: list[Counter[int]] = [Counter() for _q in survey.questions]
    for response in responses:
        for index, value in enumerate(response.answers[: len(survey.questions)]):
            kind = survey.questions[index]["kind"]
            if kind == "multi":
                counts[index].update(value)
            elif kind in ("single", "scale"):
                counts[index][int(value)] += 1
    return counts


def summary(survey: Survey, responses: list[SurveyResponse]) -> str:
    counts = tally(survey, responses)
    lines = [
        with_note(_("Results: {title}").format(title=label(survey.title)), survey.title),
        _("Responses: {count}").format(count=format_number(len(responses))),
        "",
    ]
    for index, question in enumerate(survey.questions):
        lines.append(f"{index + 1}. {label(question['text'])}")
        kind = question["kind"]
        if kind == "text":
            given = [
                r.answers[index] for r in responses if len(r.answers) > index and r.answers[index]
            ]
            lines.append(
                ngettext("{count} written answer", "{count} written answers", len(given)).format(
                    count=format_number(len(given))
                )
            )
            lines += [f"  – {text[:200]}" for text in given[:5]]
        elif kind == "scale":
            total = sum(counts[index].values())
            average = (sum(k * n for k, n in counts[index].items()) / total) if total else 0
            lines.append(
                ngettext(
                    "Average: {average} ({count} answer)",
                    "Average: {average} ({count} answers)",
                    total,
                ).format(average=format_number(round(average, 1)), count=total)
            )
        else:
            for i, option in enumerate(question["options"]):
                lines.append(f"  {label(option)}: {counts[index][i]}")
        lines.append("")
    return "\n".join(lines).strip()


_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")


def drawn(text: str) -> str:
    """Text as matplotlib must be given it to show Arabic or Farsi correctly: it neither joins
    Arabic letters nor orders right-to-left text, so both are done here (letters joined by
    arabic-reshaper, then put in visual order by python-bidi)."""
    if not _RIGHT_TO_LEFT.search(text):
        return text
    import arabic_reshaper
    from bidi import get_display

    return str(get_display(arabic_reshaper.reshape(text)))


def chart(survey: Survey, responses: list[SurveyResponse]) -> bytes:
    """One horizontal bar chart per choice or scale question, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    counts = tally(survey, responses)
    charted = [(i, q) for i, q in enumerate(survey.questions) if q["kind"] != "text"]
    figure, axes = pyplot.subplots(
        max(1, len(charted)), 1, figsize=(7, 2.2 * max(1, len(charted))), squeeze=False
    )
    for axis, (index, question) in zip(axes[:, 0], charted, strict=False):
        labels = (
            [drawn(label(o)) for o in question["options"]]
            if question["kind"] != "scale"
            else [str(n) for n in range(1, 6)]
        )
        keys = range(len(labels)) if question["kind"] != "scale" else range(1, 6)
        axis.barh(labels, [counts[index][k] for k in keys], color="#2a7ab0")
        axis.set_title(drawn(f"{index + 1}. {label(question['text'])}"[:80]), fontsize=10)
        axis.invert_yaxis()
    if not charted:
        axes[0, 0].text(0.5, 0.5, "–", ha="center")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    pyplot.close(figure)
    return buffer.getvalue()


def to_csv(survey: Survey, responses: list[SurveyResponse]) -> bytes:
    """All answers as a table for the reader's spreadsheet program, headers in their language."""
    rows: list[list[Any]] = []
    for response in responses:
        row: list[Any] = [response.id, language_label(response.language or "")]
        for index, question in enumerate(survey.questions):
            value = response.answers[index] if len(response.answers) > index else ""
            if question["kind"] in ("single",) and value != "":
                value = label(question["options"][int(value)])
            elif question["kind"] == "multi" and value != "":
                value = format_list([label(question["options"][int(v)]) for v in value])
            row.append(value)
        rows.append(row)
    header = [_("Response"), _("Language"), *[label(q["text"]) for q in survey.questions]]
    return spreadsheet.to_csv(header, rows)


@router.button("survey.results")
async def results(ctx: Context, value: str) -> None:
    survey = await get_row(ctx.session, Survey, value)
    if survey is None:
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    responses = list(
        await ctx.session.scalars(
            select(SurveyResponse)
            .where(SurveyResponse.survey_id == survey.id)
            .order_by(SurveyResponse.id)
        )
    )
    ctx.reply(
        summary(survey, responses),
        [Button("survey.results", _("Refresh results"), str(survey.id))],
    )
    ctx.reply(
        _("Chart"),
        attachment=Attachment(f"survey-{survey.id}.png", chart(survey, responses), "image/png"),
    )
    ctx.reply(
        _("All answers as a table"),
        attachment=Attachment(f"survey-{survey.id}.csv", to_csv(survey, responses), "text/csv"),
    )
    audit(ctx, "survey.results", f"survey:{survey.id}", responses=len(responses))
