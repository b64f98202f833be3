"""Write surveys/locale/<lang>/LC_MESSAGES/django.po from the table below, then compile with msgfmt.

Run: .venv/bin/python surveys/i18n/build_locale.py  (respondent-facing strings: emails, unsubscribe pages,
default questions). Keeping the table in code makes a review of all five languages one read.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "locale"

T = {
    "How are we doing? A quick question from {{company}}": {
        "de": "Wie machen wir uns? Eine kurze Frage von {{company}}",
        "fr": "Comment nous débrouillons-nous ? Une question rapide de {{company}}",
        "fi": "Miten olemme onnistuneet? Lyhyt kysymys: {{company}}",
        "es": "¿Qué tal lo hacemos? Una pregunta rápida de {{company}}",
    },
    "We would love to hear what you think. It takes one click.": {
        "de": "Wir würden gerne wissen, was Sie denken. Es dauert nur einen Klick.",
        "fr": "Nous aimerions connaître votre avis. Un seul clic suffit.",
        "fi": "Haluaisimme kuulla mielipiteesi. Se vie vain yhden klikkauksen.",
        "es": "Nos encantaría saber qué piensa. Solo le llevará un clic.",
    },
    "Sent by %(name)s with Verbatim.": {
        "de": "Gesendet von %(name)s mit Verbatim.",
        "fr": "Envoyé par %(name)s avec Verbatim.",
        "fi": "Lähettäjä: %(name)s (Verbatim).",
        "es": "Enviado por %(name)s con Verbatim.",
    },
    "Unsubscribe": {"de": "Abmelden", "fr": "Se désabonner", "fi": "Peruuta tilaus", "es": "Darse de baja"},
    "Unsubscribed": {"de": "Abgemeldet", "fr": "Désabonné", "fi": "Tilaus peruttu", "es": "Baja confirmada"},
    "Score %(value)s": {"de": "Bewertung %(value)s", "fr": "Note %(value)s", "fi": "Arvosana %(value)s",
                        "es": "Puntuación %(value)s"},
    "Stop receiving feedback requests from %(name)s?": {
        "de": "Keine Feedback-Anfragen mehr von %(name)s erhalten?",
        "fr": "Ne plus recevoir de demandes d'avis de %(name)s ?",
        "fi": "Lopetetaanko palautepyyntöjen lähettäminen sinulle (%(name)s)?",
        "es": "¿Dejar de recibir solicitudes de opinión de %(name)s?",
    },
    "You are unsubscribed": {"de": "Sie sind abgemeldet", "fr": "Vous êtes désabonné",
                             "fi": "Tilauksesi on peruttu", "es": "Se ha dado de baja"},
    "%(name)s will not send you feedback requests any more.": {
        "de": "%(name)s sendet Ihnen keine Feedback-Anfragen mehr.",
        "fr": "%(name)s ne vous enverra plus de demandes d'avis.",
        "fi": "%(name)s ei enää lähetä sinulle palautepyyntöjä.",
        "es": "%(name)s ya no le enviará solicitudes de opinión.",
    },
    "How likely are you to recommend {{company}} to a friend or colleague?": {
        "de": "Wie wahrscheinlich ist es, dass Sie {{company}} einem Freund oder Kollegen empfehlen?",
        "fr": "Quelle est la probabilité que vous recommandiez {{company}} à un ami ou un collègue ?",
        "fi": "Kuinka todennäköisesti suosittelisit {{company}}-yritystä ystävälle tai kollegalle?",
        "es": "¿Qué probabilidad hay de que recomiende {{company}} a un amigo o colega?",
    },
    "{{company}} made it easy for me to handle my issue.": {
        "de": "{{company}} hat es mir leicht gemacht, mein Anliegen zu erledigen.",
        "fr": "{{company}} m'a facilité la résolution de mon problème.",
        "fi": "{{company}} teki asiani hoitamisesta helppoa.",
        "es": "{{company}} me facilitó resolver mi problema.",
    },
    "How satisfied were you with {{company}}?": {
        "de": "Wie zufrieden waren Sie mit {{company}}?",
        "fr": "Dans quelle mesure êtes-vous satisfait de {{company}} ?",
        "fi": "Kuinka tyytyväinen olit {{company}}-yritykseen?",
        "es": "¿Qué tan satisfecho quedó con {{company}}?",
    },
    "How would you rate {{company}}?": {
        "de": "Wie bewerten Sie {{company}}?", "fr": "Comment évalueriez-vous {{company}} ?",
        "fi": "Minkä arvosanan antaisit {{company}}-yritykselle?", "es": "¿Cómo calificaría a {{company}}?",
    },
}


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> None:
    for lang in ("de", "fr", "fi", "es"):
        folder = ROOT / lang / "LC_MESSAGES"
        folder.mkdir(parents=True, exist_ok=True)
        lines = ['msgid ""', 'msgstr ""', '"Project-Id-Version: verbatim-surveys\\n"',
                 '"PO-Revision-Date: 2026-11-23\\n"',
                 '"Last-Translator: Verbatim\\n"', f'"Language-Team: {lang}\\n"', '"MIME-Version: 1.0\\n"',
                 '"Content-Type: text/plain; charset=UTF-8\\n"', '"Content-Transfer-Encoding: 8bit\\n"',
                 f'"Language: {lang}\\n"', ""]
        for msgid, translations in T.items():
            if "%(" in msgid:
                lines.append("#, python-format")
            lines += [f"msgid {quote(msgid)}", f"msgstr {quote(translations[lang])}", ""]
        (folder / "django.po").write_text("\n".join(lines), encoding="utf-8")
        command = ["msgfmt", "--check", "-o", str(folder / "django.mo"), str(folder / "django.po")]
        subprocess.run(command, check=True)  # noqa: S603, S607 (a fixed developer tool on PATH)


if __name__ == "__main__":
    main()
