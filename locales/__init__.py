"""Translations and formatting: the one i18n helper every package reads catalogs through.

Catalogs are Babel .po files under locales/<lang>/LC_MESSAGES/, one file per area (domain);
all domains of a language are merged into one translation table when first used. Message
ids are the English text with named placeholders, filled in after translation:

    tr("id", "Invoice {number} is paid.", number="INV-1")
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel.dates import format_date as babel_format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
LOCALES_DIR = Path(__file__).resolve().parent

_translations: dict[str, gettext.GNUTranslations] = {}
_lock = threading.Lock()


def normalise_language(language: str | None) -> str:
    """Map any language tag ("en-US", "in", None) to one of LANGUAGES."""
    if not language:
        return DEFAULT_LANGUAGE
    base = language.replace("_", "-").split("-")[0].lower()
    if base in ("id", "in", "ind"):
        return "id"
    if base in ("en", "eng"):
        return "en"
    return DEFAULT_LANGUAGE


def load_catalog(language: str):  # type: ignore[no-untyped-def]
    """Return one merged babel Catalog with every domain of a language.

    Raise ValueError when the domains disagree on Plural-Forms, because the merged catalog
    can follow only one rule. Indonesian uses two forms written the same.
    """
    merged = None
    for po_path in sorted((LOCALES_DIR / language / "LC_MESSAGES").glob("*.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=language, domain=po_path.stem)
        if merged is None:
            merged = catalog
            continue
        if catalog.plural_forms != merged.plural_forms:
            raise ValueError(
                f"{po_path} declares Plural-Forms {catalog.plural_forms!r}, but the other "
                f"{language} catalogs declare {merged.plural_forms!r}; use one rule"
            )
        for message in catalog:
            if message.id:
                merged[message.id] = message
    return merged


def _translation(language: str) -> gettext.GNUTranslations:
    language = normalise_language(language)
    with _lock:
        found = _translations.get(language)
        if found is None:
            buffer = io.BytesIO()
            catalog = load_catalog(language)
            if catalog is not None:
                write_mo(buffer, catalog)
                buffer.seek(0)
                found = gettext.GNUTranslations(buffer)
            else:
                found = gettext.GNUTranslations.__new__(gettext.GNUTranslations)
                gettext.NullTranslations.__init__(found)
            _translations[language] = found
    return found


def reload_catalogs() -> None:
    with _lock:
        _translations.clear()


def tr(language: str | None, message: str, /, **params: Any) -> str:
    """Translate a message id into a language and fill its named placeholders."""
    text = _translation(normalise_language(language)).gettext(message)
    return text.format(**params) if params else text


def trn(language: str | None, singular: str, plural: str, count: int, /, **params: Any) -> str:
    """Translate a message with a count, picking the plural form the language needs."""
    text = _translation(normalise_language(language)).ngettext(singular, plural, count)
    return text.format(count=count, **params)


def N_(message: str) -> str:
    """Mark a message id for extraction; translate it later with tr() or Msg.render()."""
    return message


@dataclass(frozen=True)
class Msg:
    """A message id with its parameters, rendered in the reader's language when shown."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, language: str | None) -> str:
        rendered = {
            key: value.render(language) if isinstance(value, Msg) else value
            for key, value in self.params.items()
        }
        return tr(language, self.message, **rendered)

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "params": self.params}


def msg(message: str, /, **params: Any) -> Msg:
    """Build a Msg; the extractor reads the first argument as a message id."""
    return Msg(message, params)


def format_rupiah(amount: int) -> str:
    """Format whole rupiah the Indonesian way in both languages: Rp1.500.000, -Rp25.000."""
    digits = format_decimal(abs(int(amount)), format="#,##0", locale="id")
    return f"-Rp{digits}" if amount < 0 else f"Rp{digits}"


def format_date(value: dt.date, language: str | None) -> str:
    """Format a date as "15 Januari 2031" or "15 January 2031"."""
    return babel_format_date(value, format="d MMMM y", locale=normalise_language(language))


def format_datetime(
    value: dt.datetime, language: str | None, timezone: str = "Asia/Jakarta"
) -> str:
    """Format an aware timestamp in the organisation's zone: "15 Januari 2031 14:05 WIB"."""
    from zoneinfo import ZoneInfo

    local = value.astimezone(ZoneInfo(timezone))
    zone = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}.get(
        timezone, local.strftime("%Z")
    )
    return f"{format_date(local.date(), language)} {local:%H:%M} {zone}"


# Keywords for Babel extraction (pybabel extract -k) and the catalog completeness test.
EXTRACT_KEYWORDS = {
    "tr": (2,),
    "trn": (2, 3),
    "N_": None,
    "msg": None,
    "Msg": None,
    "UserError": (2,),
    "NotFound": (2,),
    "PermissionDenied": (2,),
}
