"""Safe file intake: recognise what a file really is and check it before any parsing.

An uploaded ".xlsx" may be a CSV, an HTML page, an old .xls, an .ods, a password-protected
file, a truncated download or a decompression bomb. `open_workbook` rejects each with a
specific SheetFileError. For a real .xlsx it checks the zip directory (sizes and
compression ratios) first. Then it inflates every member with a hard cap and scans the
worksheet XML for what python-calamine does not report: hidden rows and columns, formulas
without a cached value, cells showing an Excel error, number formats that add leading zeros,
the last row with a value, and the widest column.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from xml.etree import ElementTree

import python_calamine

from billing.errors import UserError
from billing.sheets.formats import identifier_styles
from locales import N_, Msg, msg
from tagih.settings import Settings

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Members smaller than this are not held to the compression-ratio limit: tiny XML parts
# (styles, empty sheets) compress far better than data and are harmless.
RATIO_CHECK_MIN_BYTES = 1024 * 1024
CHUNK_BYTES = 1024 * 1024
# Workbook parts read with ElementTree are small; larger ones are refused as damaged.
MAX_PART_BYTES = 4 * 1024 * 1024
# Styles grow with every cell format a file ever used; larger ones are not read for formats.
MAX_STYLES_BYTES = 16 * 1024 * 1024
# Excel's last column, XFD.
MAX_COLUMN = 16384
STYLES_RELATION = "/relationships/styles"

_ROW_TAG = re.compile(rb"<row\b([^>]*?)(/?)>")
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')
_HIDDEN = re.compile(rb'\bhidden="(?:1|true)"')
# A formula cell with no cached result: no <v>, or an empty one that is not a text result.
_FORMULA_NO_VALUE = re.compile(
    rb'<c\b([^>]*?)\br="([A-Z]{1,3})(\d+)"([^>]*)>\s*(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)\s*'
    rb"(<v\s*/>|<v>\s*</v>)?\s*</c>"
)
# A cell of type error ("<c r="I2" t="e"><f>A1/0</f><v>#DIV/0!</v></c>") and its body.
_ERROR_CELL = re.compile(rb'<c\b([^>]*\bt="e"[^>]*)(?<!/)>(.*?)</c>', re.DOTALL)
_CACHED_VALUE = re.compile(rb"<v>([^<]*)</v>")
_WIDE_COLUMN = re.compile(rb'<c\b[^>]*?\br="([A-Z]{2,3})\d+"')
# Column settings in <cols>: "<col min="3" max="5" hidden="1" .../>". `\b` keeps out <cols>.
_COLUMN_TAG = re.compile(rb"<col\b([^>]*)>")
_COLUMN_MIN = re.compile(rb'\bmin="(\d+)"')
_COLUMN_MAX = re.compile(rb'\bmax="(\d+)"')
# Excel shows a column of width 0 exactly as a hidden one.
_ZERO_WIDTH = re.compile(rb'\bwidth="0+(?:\.0*)?"')
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_CELL_STYLE = re.compile(rb'\bs="(\d+)"')
# A cell type other than a number: shared or inline text, a boolean, an error or a date.
_NOT_A_NUMBER = re.compile(rb'\bt="(?!n")')


class SheetFileError(UserError):
    """The file as a whole cannot be read; nothing in it is used."""


@dataclass
class SheetLayout:
    """The facts in a worksheet's XML beyond its cell values (rows and columns are 1-based)."""

    name: str
    member: str
    hidden: bool = False
    hidden_rows: set[int] = field(default_factory=set)
    hidden_columns: set[int] = field(default_factory=set)
    # The format codes ("000000000") that change how a whole number reads, by column and
    # then by row. Only cells that contain a number are listed.
    display_formats: dict[int, dict[int, str]] = field(default_factory=dict)
    formulas_without_value: set[tuple[int, int]] = field(default_factory=set)
    # The Excel error each error cell shows ("#REF!"), by row and then by column.
    error_cells: dict[int, dict[int, str]] = field(default_factory=dict)
    last_row: int = 0
    max_column: int = 0


@dataclass
class Workbook:
    """A checked .xlsx: its calamine reader and the layout of each worksheet, in tab order."""

    reader: python_calamine.CalamineWorkbook
    sheets: list[SheetLayout]
    date1904: bool = False


def open_workbook(filename: str, content: bytes, settings: Settings) -> Workbook:
    """Check an uploaded file and open it for reading; raise SheetFileError when unusable."""
    if not content or not content.strip(b"\x00 \t\r\n"):
        raise SheetFileError(
            "sheet.file_empty",
            N_("The file {filename} is empty. Send the sheet again."),
            filename=filename,
        )
    if len(content) > settings.sheet_max_file_bytes:
        raise SheetFileError(
            "sheet.file_too_large",
            N_(
                "The file {filename} is {size} MB; the limit is {limit} MB. "
                "Split the rows into several files."
            ),
            filename=filename,
            size=_megabytes(len(content)),
            limit=_megabytes(settings.sheet_max_file_bytes),
        )
    if content.startswith(CFB_MAGIC):
        raise _ole_file_error(filename, content)
    if not content.startswith(b"PK"):
        raise _not_a_zip_error(filename, content)
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise _damaged(filename) from None
    with archive:
        _check_directory(filename, archive, settings)
        names = set(archive.namelist())
        if "xl/workbook.xml" not in names:
            raise _other_zip_error(filename, archive, names)
        layouts, date1904, styles_member = _read_workbook_parts(filename, archive)
        styles = _read_identifier_styles(filename, archive, styles_member)
        _scan_members(filename, archive, layouts, styles, settings)
    try:
        reader = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
    except python_calamine.PasswordError:
        raise _password_protected(filename) from None
    except (python_calamine.CalamineError, OSError, ValueError):
        raise _damaged(filename) from None
    return Workbook(reader=reader, sheets=layouts, date1904=date1904)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")


def _damaged(filename: str) -> SheetFileError:
    return SheetFileError(
        "sheet.file_damaged",
        N_(
            "The file {filename} is damaged or incomplete, so it cannot be opened. "
            "Save it again in Excel as .xlsx and send it again."
        ),
        filename=filename,
    )


def _password_protected(filename: str) -> SheetFileError:
    return SheetFileError(
        "sheet.file_password",
        N_(
            "The file {filename} is protected with a password, so it cannot be read. "
            "Remove the password (File > Info > Protect Workbook) and send it again."
        ),
        filename=filename,
    )


def _save_as_xlsx(filename: str, kind: Msg) -> SheetFileError:
    return SheetFileError(
        "sheet.file_format",
        N_(
            "The file {filename} is really {kind}, not an Excel .xlsx workbook. "
            "Open it and save it as Excel Workbook (.xlsx), then send it again."
        ),
        filename=filename,
        kind=kind,
    )


def _ole_file_error(filename: str, content: bytes) -> SheetFileError:
    """Name what an OLE compound file holds: an encrypted .xlsx or an old .xls."""
    if "EncryptedPackage".encode("utf-16-le") in content or (
        "EncryptionInfo".encode("utf-16-le") in content
    ):
        return _password_protected(filename)
    if "Workbook".encode("utf-16-le") in content or "Book".encode("utf-16-le") in content:
        return _save_as_xlsx(filename, msg("an old Excel 97-2003 file (.xls)"))
    return _save_as_xlsx(filename, msg("an Office document that is not a workbook"))


def _not_a_zip_error(filename: str, content: bytes) -> SheetFileError:
    if content.startswith(b"%PDF"):
        return _save_as_xlsx(filename, msg("a PDF document"))
    head = content[:4096].lstrip(b"\xef\xbb\xbf\xff\xfe\xfe\xff \t\r\n").lower()
    if head.startswith(b"<") and (b"<html" in head or b"<table" in head or b"<!doctype" in head):
        return _save_as_xlsx(filename, msg("a web page (HTML)"))
    if head.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in head:
        return _save_as_xlsx(filename, msg("an Excel 2003 XML file"))
    if _looks_like_csv(content[:65536]):
        return _save_as_xlsx(filename, msg("a CSV text file"))
    return SheetFileError(
        "sheet.file_not_spreadsheet",
        N_("The file {filename} is not a spreadsheet. Send the sheet as an Excel .xlsx file."),
        filename=filename,
    )


def _looks_like_csv(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    if "\x00" in text:
        return False
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if not lines:
        return False
    return any(
        all(line.count(separator) >= 1 for line in lines) for separator in (",", ";", "\t", "|")
    )


def _other_zip_error(filename: str, archive: zipfile.ZipFile, names: set[str]) -> SheetFileError:
    if "mimetype" in names:
        mimetype = archive.read("mimetype")[:100]
        if b"opendocument.spreadsheet" in mimetype:
            return _save_as_xlsx(filename, msg("an OpenDocument spreadsheet (.ods)"))
    if "word/document.xml" in names:
        return _save_as_xlsx(filename, msg("a Word document"))
    return SheetFileError(
        "sheet.file_not_spreadsheet",
        N_("The file {filename} is not a spreadsheet. Send the sheet as an Excel .xlsx file."),
        filename=filename,
    )


def _unsafe(filename: str) -> SheetFileError:
    return SheetFileError(
        "sheet.file_unsafe",
        N_(
            "The file {filename} unpacks to far more data than a sheet of bills holds, so it was "
            "not opened. Copy the rows into a new workbook, save it as .xlsx and send it again."
        ),
        filename=filename,
    )


def _check_directory(filename: str, archive: zipfile.ZipFile, settings: Settings) -> None:
    """Reject a zip whose directory declares too much data or too high a ratio."""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if info.flag_bits & 0x1:
            raise _password_protected(filename)
        if info.file_size >= RATIO_CHECK_MIN_BYTES and (
            info.file_size > settings.sheet_max_compression_ratio * max(info.compress_size, 1)
        ):
            raise _unsafe(filename)
    if total > settings.sheet_max_uncompressed_bytes:
        raise _unsafe(filename)


def _read_part(filename: str, archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        info = archive.getinfo(name)
        if info.file_size > MAX_PART_BYTES:
            raise _damaged(filename)
        return ElementTree.fromstring(archive.read(name))
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, zlib.error, EOFError):
        raise _damaged(filename) from None


def _local(name: str) -> str:
    """Return an XML name without its namespace: "{...}sheet" becomes "sheet"."""
    return name.rpartition("}")[2]


def _read_workbook_parts(
    filename: str, archive: zipfile.ZipFile
) -> tuple[list[SheetLayout], bool, str]:
    """Return each worksheet's name, zip member and visibility, the date system and styles.

    Elements are matched by local name, so Strict Open XML files (another namespace) read
    the same as the usual Transitional ones.
    """
    workbook = _read_part(filename, archive, "xl/workbook.xml")
    date1904 = any(
        _local(element.tag) == "workbookPr"
        and element.get("date1904", "0").lower() in ("1", "true")
        for element in workbook.iter()
    )
    targets: dict[str, str] = {}
    styles_member = "xl/styles.xml"
    if "xl/_rels/workbook.xml.rels" in archive.namelist():
        relations = _read_part(filename, archive, "xl/_rels/workbook.xml.rels")
        for relation in relations.iter():
            if _local(relation.tag) != "Relationship":
                continue
            target = relation.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            targets[relation.get("Id", "")] = str(PurePosixPath(path))
            if relation.get("Type", "").endswith(STYLES_RELATION):
                styles_member = targets[relation.get("Id", "")]
    layouts = []
    for sheet in workbook.iter():
        if _local(sheet.tag) != "sheet":
            continue
        relation_id = next((v for k, v in sheet.attrib.items() if _local(k) == "id"), "")
        layouts.append(
            SheetLayout(
                name=sheet.get("name", ""),
                member=targets.get(relation_id, ""),
                hidden=sheet.get("state", "visible") != "visible",
            )
        )
    return layouts, date1904, styles_member


def _read_identifier_styles(
    filename: str, archive: zipfile.ZipFile, member: str
) -> dict[int, str]:
    """Return the cell styles whose number format changes how a whole number reads."""
    try:
        info = archive.getinfo(member)
    except KeyError:
        return {}
    if info.file_size > MAX_STYLES_BYTES:
        # NOTE: such a file keeps its cell values, but zeros that only its number formats
        # show (identifiers formatted "000000000") are not restored.
        return {}
    try:
        styles = ElementTree.fromstring(archive.read(info))
    except (ElementTree.ParseError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError):
        raise _damaged(filename) from None
    return identifier_styles(styles)


def _scan_members(
    filename: str,
    archive: zipfile.ZipFile,
    layouts: list[SheetLayout],
    styles: dict[int, str],
    settings: Settings,
) -> None:
    """Inflate every member under a hard cap, scanning worksheets on the way.

    The directory may lie about sizes, so the cap counts the bytes really produced.
    """
    by_member = {layout.member: layout for layout in layouts}
    budget = settings.sheet_max_uncompressed_bytes
    for info in archive.infolist():
        layout = by_member.get(info.filename)
        scanner = _WorksheetScanner(layout, styles) if layout else None
        produced = 0
        try:
            with archive.open(info) as stream:
                while chunk := stream.read(CHUNK_BYTES):
                    produced += len(chunk)
                    if produced > info.file_size or produced > budget:
                        raise _unsafe(filename)
                    if scanner:
                        scanner.feed(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError):
            raise _damaged(filename) from None
        except RuntimeError:  # zipfile raises it for an encrypted member
            raise _password_protected(filename) from None
        budget -= produced
        if scanner:
            scanner.close()
            if layout and layout.last_row > settings.sheet_max_rows:
                raise _too_many_rows(filename, layout, settings.sheet_max_rows)
            if layout and layout.max_column > settings.sheet_max_columns:
                raise _too_many_columns(filename, layout, settings.sheet_max_columns)


def _too_many_rows(filename: str, layout: SheetLayout, limit: int) -> SheetFileError:
    return SheetFileError(
        "sheet.too_many_rows",
        N_(
            "Sheet {sheet} in {filename} has values down to row {row}; the limit is {limit} rows. "
            "Delete anything below your data, or split the rows into several files."
        ),
        filename=filename,
        sheet=layout.name,
        row=layout.last_row,
        limit=limit,
    )


def _too_many_columns(filename: str, layout: SheetLayout, limit: int) -> SheetFileError:
    return SheetFileError(
        "sheet.too_many_columns",
        N_(
            "Sheet {sheet} in {filename} has values in column {column}; the limit is {limit} "
            "columns. Delete the values to the right of your data."
        ),
        filename=filename,
        sheet=layout.name,
        column=column_letter(layout.max_column),
        limit=limit,
    )


def _styled_cell_pattern(styles: dict[int, str]) -> re.Pattern[bytes] | None:
    """Match the start tag of a cell with content whose style is one of `styles`.

    Empty cells written `<c .../>` never match, and `_scan_formats` skips `<c ...></c>`,
    so a column formatted down to row 1,048,576 adds nothing. A cell without an `s`
    attribute has style 0.
    """
    if not styles:
        return None
    if 0 in styles:
        return re.compile(rb"<c\b([^>]*?)(?<!/)>")
    alternatives = b"|".join(str(style).encode() for style in sorted(styles))
    return re.compile(rb'<c\b([^>]*?\bs="(?:' + alternatives + rb')"[^>]*?)(?<!/)>')


class _WorksheetScanner:
    """Collect hidden rows and columns, formulas without a cached value, Excel error cells,
    identifier formats and the used extent from XML chunks.

    Input is cut at the last `<row` tag, so each scanned piece contains whole rows.
    """

    def __init__(self, layout: SheetLayout, styles: dict[int, str]):
        self.layout = layout
        self.pending = b""
        self.styles = styles
        self.styled_cell = _styled_cell_pattern(styles)

    def feed(self, chunk: bytes) -> None:
        buffer = self.pending + chunk
        cut = buffer.rfind(b"<row")
        if cut <= 0:
            if len(buffer) < 4 * CHUNK_BYTES:
                self.pending = buffer
                return
            cut = len(buffer)
        self._scan(buffer[:cut])
        self.pending = buffer[cut:]

    def close(self) -> None:
        self._scan(self.pending)
        self.pending = b""

    def _scan(self, piece: bytes) -> None:
        layout = self.layout
        rows = list(_ROW_TAG.finditer(piece))
        for match in rows:
            attributes = match.group(1)
            if b"hidden" in attributes and _HIDDEN.search(attributes):
                number = _ROW_NUMBER.search(attributes)
                if number:
                    layout.hidden_rows.add(int(number.group(1)))
        for index in range(len(rows) - 1, -1, -1):
            match = rows[index]
            if match.group(2):  # <row .../> contains no cells
                continue
            end = rows[index + 1].start() if index + 1 < len(rows) else len(piece)
            body = piece[match.end() : end]
            if b"<v>" in body or b"<is>" in body or b"<v " in body:
                number = _ROW_NUMBER.search(match.group(1))
                if number:
                    layout.last_row = max(layout.last_row, int(number.group(1)))
                break
        if b"<f" in piece:
            for match in _FORMULA_NO_VALUE.finditer(piece):
                attributes = match.group(1) + match.group(4)
                if (
                    match.group(5)
                    and match.group(5).startswith(b"<v>")
                    and b't="str"' in attributes
                ):
                    continue  # a formula whose cached result is the empty text
                layout.formulas_without_value.add(
                    (int(match.group(3)), column_number(match.group(2).decode()))
                )
        if b't="e"' in piece:
            self._scan_errors(piece)
        for match in _WIDE_COLUMN.finditer(piece):
            layout.max_column = max(layout.max_column, column_number(match.group(1).decode()))
        if b"<col" in piece:
            self._scan_columns(piece)
        if self.styled_cell is not None:
            self._scan_formats(piece, self.styled_cell)

    def _scan_errors(self, piece: bytes) -> None:
        for match in _ERROR_CELL.finditer(piece):
            reference = _CELL_REF.search(match.group(1))
            value = _CACHED_VALUE.search(match.group(2))
            if reference is None or value is None:
                continue
            code = value.group(1).decode("utf-8", "replace").strip()
            row, column = int(reference.group(2)), column_number(reference.group(1).decode())
            self.layout.error_cells.setdefault(row, {})[column] = code

    def _scan_columns(self, piece: bytes) -> None:
        for match in _COLUMN_TAG.finditer(piece):
            attributes = match.group(1)
            if not (_HIDDEN.search(attributes) or _ZERO_WIDTH.search(attributes)):
                continue
            first = _COLUMN_MIN.search(attributes)
            last = _COLUMN_MAX.search(attributes)
            if first is None or last is None:
                continue
            columns = range(max(int(first.group(1)), 1), min(int(last.group(1)), MAX_COLUMN) + 1)
            self.layout.hidden_columns.update(columns)

    def _scan_formats(self, piece: bytes, pattern: re.Pattern[bytes]) -> None:
        formats = self.layout.display_formats
        for match in pattern.finditer(piece):
            attributes = match.group(1)
            if b"t=" in attributes and _NOT_A_NUMBER.search(attributes):
                continue
            if piece.startswith(b"</c>", match.end()):
                continue  # an empty cell written as a pair of tags, as openpyxl with lxml does
            style = _CELL_STYLE.search(attributes)
            code = self.styles.get(int(style.group(1)) if style else 0)
            if code is None:
                continue
            reference = _CELL_REF.search(attributes)
            if reference is None:
                continue
            column = column_number(reference.group(1).decode())
            formats.setdefault(column, {})[int(reference.group(2))] = code


def column_number(letters: str) -> int:
    """Return the 1-based number of a column: A is 1, AA is 27."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def column_letter(number: int) -> str:
    """Return the letters of a 1-based column number: 1 is A, 27 is AA."""
    letters = ""
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
