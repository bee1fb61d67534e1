"""Number formats that change how an identifier reads: 812345 shown as "000812345".

python-calamine returns a cell's stored number, not the text Excel shows. A student number,
invoice number or phone typed as a number and formatted "000000000" or "0###########" keeps
its leading zeros only in the format. This module finds such formats in xl/styles.xml and
renders a whole number the way Excel shows it, so identifier columns read what the user sees.
"""

from __future__ import annotations

from functools import lru_cache
from xml.etree import ElementTree

# Characters that Excel shows as they are in a number format, without quotes.
_LITERALS = frozenset(" -+()/:$!^&'~{}<>=")
_DIGITS = frozenset("0#?")
# Colours are the only bracketed codes that leave the digits alone: "[Red]", "[Color12]".
_COLOURS = frozenset(("black", "blue", "cyan", "green", "magenta", "red", "white", "yellow"))
# A float stores at most 15 significant digits exactly, so longer numbers are not rendered.
MAX_IDENTIFIER = 10**15


def _local(name: str) -> str:
    return name.rpartition("}")[2]


def identifier_styles(styles: ElementTree.Element) -> dict[int, str]:
    """Return the cell styles (indexes into cellXfs) whose format shows a number differently.

    Each maps to its format code. Built-in formats (ids 0 to 163 unless the file defines
    them) never pad a whole number, so only formats listed in numFmts can appear.
    """
    codes: dict[int, str] = {}
    cell_formats: list[int] = []
    for element in styles:
        tag = _local(element.tag)
        if tag == "numFmts":
            for number_format in element:
                if _local(number_format.tag) != "numFmt":
                    continue
                try:
                    format_id = int(number_format.get("numFmtId", ""))
                except ValueError:
                    continue
                codes[format_id] = number_format.get("formatCode", "")
        elif tag == "cellXfs":
            for xf in element:
                if _local(xf.tag) != "xf":
                    continue
                try:
                    cell_formats.append(int(xf.get("numFmtId", "0")))
                except ValueError:
                    cell_formats.append(0)
    found = {}
    for style, format_id in enumerate(cell_formats):
        code = codes.get(format_id)
        if code and format_whole_number(1, code) not in (None, "1"):
            found[style] = code
    return found


def format_whole_number(value: int, code: str) -> str | None:
    """Render a whole number with an Excel number format, as Excel shows it.

    Only formats made of digit placeholders (0 # ?), literal text and colours are rendered.
    Any other format (decimals, thousands separators, dates, percent, text, conditions) and
    negative values return None, because identifiers never use them.
    """
    if value < 0 or value >= MAX_IDENTIFIER:
        return None
    parsed = _parse_code(code)
    if parsed is None:
        return None
    tokens, placeholders, width = parsed
    if len(tokens) == len(placeholders) and "?" not in placeholders and (value or width):
        return str(value).zfill(width)  # a format of only 0 and # pads with zeros
    digits = str(value).zfill(width) if value or width else ""
    # Digits fill the placeholders from the right; the first one takes any overflow.
    shares = [""] * len(placeholders)
    for index in range(len(placeholders) - 1, -1, -1):
        if not digits:
            shares[index] = " " if placeholders[index] == "?" else ""
        elif index == 0:
            shares[index], digits = digits, ""
        else:
            shares[index], digits = digits[-1], digits[:-1]
    shares.reverse()
    parts = [shares.pop() if is_digit else text for is_digit, text in tokens]
    return "".join(parts).strip() or None


@lru_cache(maxsize=256)
def _parse_code(code: str) -> tuple[list[tuple[bool, str]], str, int] | None:
    """Return a format's tokens, its placeholders and how many digits it always shows.

    Excel shows a digit (a zero if need be) in the first 0 and in every placeholder after it.
    """
    tokens = _tokens(_first_section(code))
    if tokens is None:
        return None
    placeholders = "".join(text for is_digit, text in tokens if is_digit)
    if not placeholders:
        return None
    first_zero = placeholders.find("0")
    return tokens, placeholders, len(placeholders) - first_zero if first_zero >= 0 else 0


def _first_section(code: str) -> str:
    """Return the part of a format code used for positive numbers: up to the first `;`."""
    quoted = escaped = False
    for index, char in enumerate(code):
        if escaped:
            escaped = False
        elif char == "\\" and not quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            return code[:index]
    return code


def _tokens(section: str) -> list[tuple[bool, str]] | None:
    """Split a format section into (is a digit placeholder, text); None when unsupported."""
    tokens: list[tuple[bool, str]] = []
    index = 0
    while index < len(section):
        char = section[index]
        if char == '"':
            end = section.find('"', index + 1)
            if end < 0:
                return None
            tokens.append((False, section[index + 1 : end]))
            index = end + 1
        elif char == "\\" and index + 1 < len(section):
            tokens.append((False, section[index + 1]))
            index += 2
        elif char in ("_", "*") and index + 1 < len(section):
            index += 2  # padding and fill characters add spacing, never characters
        elif char == "[":
            end = section.find("]", index)
            colour = section[index + 1 : end].casefold() if end > 0 else ""
            if colour not in _COLOURS and not colour.startswith("color"):
                return None
            index = end + 1
        elif char in _DIGITS or char in _LITERALS:
            tokens.append((char in _DIGITS, char))
            index += 1
        else:
            return None
    return tokens
