"""The pages' language (English, Polish, Czech) and time zone, with Flask-Babel.

The language is the user's choice on the settings page (their settings' `language`),
or else the browser's Accept-Language; English when neither names one we have. The
time zone is their Outlook mailbox's (`users.time_zone`, stored at sign-in and when the
pane opens), UTC when it is unknown.

The catalogues are the `.po` files in server/translations/<lang>/LC_MESSAGES/, kept
in the repository and compiled in memory the first time a process needs a language:
no binary `.mo` file is built, committed or shipped, so a fresh clone runs as it is.
How to extract new strings and update the catalogues: server/translations/README.md.
"""

from __future__ import annotations

import io
from datetime import datetime
from functools import lru_cache

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, g, request
from flask_babel import Babel, Domain, format_datetime, get_locale, get_timezone
from werkzeug.utils import cached_property

from server.crm.models import PAGE_LANGUAGES, is_time_zone
from server.web.blueprint import SERVER_DIR, bp

LANGUAGES = PAGE_LANGUAGES
# Each language by its own name, as a language menu shows them.
LANGUAGE_NAMES = {"en": "English", "pl": "Polski", "cs": "Čeština"}
DEFAULT_LANGUAGE = "en"
DEFAULT_TIME_ZONE = "UTC"
TRANSLATIONS_DIR = SERVER_DIR / "translations"


def catalogue_path(language: str):
    return TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations_for(language: str) -> NullTranslations:
    """The language's catalogue, compiled from its .po file (once per process).
    Fuzzy entries are left out, as msgfmt does."""
    path = catalogue_path(language)
    if language == DEFAULT_LANGUAGE or not path.is_file():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain="messages")


class CatalogueDomain(Domain):
    """Flask-Babel's message domain, reading our .po catalogues."""

    def get_translations(self):
        locale = get_locale()
        return translations_for(locale.language if locale is not None else DEFAULT_LANGUAGE)


class PageBabel(Babel):
    @cached_property
    def domain_instance(self):
        return CatalogueDomain()


def chosen_language() -> str | None:
    """The signed-in user's own choice, or None (automatic)."""
    user = g.get("crm_user")
    choice = (user.settings or {}).get("language") if user is not None else None
    return choice if choice in LANGUAGES else None


def page_language() -> str:
    """The user's choice, else the best of the browser's languages, else English."""
    return chosen_language() or request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def page_time_zone() -> str:
    """The user's mailbox time zone (IANA name), else UTC."""
    user = g.get("crm_user")
    zone = user.time_zone if user is not None else None
    return zone if is_time_zone(zone) else DEFAULT_TIME_ZONE


def datetime_pattern(locale: Locale) -> str:
    """The locale's medium date with its short time (no seconds), joined its way."""
    joined = str(locale.datetime_formats["medium"])
    return joined.replace("{1}", locale.date_formats["medium"].pattern).replace(
        "{0}", locale.time_formats["short"].pattern
    )


@bp.app_template_filter("local_datetime")
def local_datetime(value: datetime) -> str:
    """A stored time (naive = UTC) in the page's time zone and language."""
    return format_datetime(value, datetime_pattern(get_locale() or Locale.parse(DEFAULT_LANGUAGE)))


@bp.app_template_global("page_time_zone_name")
def page_time_zone_name() -> str:
    return str(get_timezone() or DEFAULT_TIME_ZONE)


@bp.app_template_global("page_language")
def page_language_code() -> str:
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    """Flask-Babel on the app: gettext in templates and code, and the selectors above."""
    PageBabel(
        app,
        default_locale=DEFAULT_LANGUAGE,
        default_timezone=DEFAULT_TIME_ZONE,
        locale_selector=page_language,
        timezone_selector=page_time_zone,
    )
