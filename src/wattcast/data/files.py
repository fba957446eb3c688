"""One input file as a table: CSV (optionally compressed) or Parquet, as it is.

CSV text may be UTF-8 (with or without a byte-order mark), UTF-16 with a BOM,
or Windows-1252 / Latin-1 as Windows building-management exports write it;
``encoding = "auto"`` tells them apart. Separators ``,`` ``;`` tab and ``|``
are recognised from the header line, and ``;`` files may use decimal commas.
Unreadable files end in :class:`~wattcast.errors.InputError` naming the file.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from wattcast.errors import EmptyRowsWarning, InputError, SkippedColumnsWarning, require_file
from wattcast.settings import checks
from wattcast.timezones import is_zone

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")


def _open_zip(path: Path, mode: str = "rb") -> IO[bytes]:
    """The one file a zip archive holds (``day.csv.zip``), open to read."""
    with zipfile.ZipFile(path) as archive:  # the member keeps the file open until closed
        files = [member for member in archive.infolist() if not member.is_dir()]
        if len(files) != 1:
            raise InputError(f"{path}: a zip archive of {len(files)} files; expected one "
                             "table in it (or unpack it).")  # fmt: skip
        return archive.open(files[0])


_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open, ".zip": _open_zip}
_SEPARATORS = (",", ";", "\t", "|")
#: A cell written with a decimal comma, by separator: in a ``;`` file any ``12,5`` or
#: ``1.234,5``; in a tab or ``|`` file one that cannot be a thousands group (``12,5``,
#: ``0,0625``, ``1.234,5``), since ``1,234`` there may be one.
_COMMA_CELL = {
    ";": r"-?(?:\d{1,3}(?:[.'\u00a0\u202f ]\d{3})+|\d+),\d+",
    "\t": r"-?(?:\d{1,3}(?:[.'\u00a0\u202f ]\d{3})+,\d+|\d+,(?:\d{1,2}|\d{4,}))",
}
_COMMA_CELL["|"] = _COMMA_CELL["\t"]
_DECIMAL_COMMA = {
    sep: re.compile(rf"(?:^|{re.escape(sep)})\s*\"?{cell}\"?\s*(?:{re.escape(sep)}|$)")
    for sep, cell in _COMMA_CELL.items()
}
#: Encodings tried in turn by ``encoding = "auto"``; Latin-1 decodes any byte.
AUTO_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
#: Words in the name of a long table's meter column (for a table of one meter).
METER_WORDS = frozenset(
    {"meter", "point", "name", "id", "device", "sensor", "channel", "tag", "circuit",
     "building", "site", "asset", "location", "equipment", "panel", "feeder", "serial", "mpan",
     "mprn", "nmi", "esiid", "household"}
)  # fmt: skip
#: Words ending in ``id`` that name no meter (``LCLid``, ``MeterID`` and ``DeviceId`` do).
_NOT_IDS = frozenset({"grid", "valid", "paid", "void", "fluid", "hybrid", "liquid", "solid",
                      "mid", "said", "rapid", "humid", "acid", "avoid"})  # fmt: skip


def is_meter_word(word: str) -> bool:
    """Whether a word of a column's name names meters: ``meter``, ``point``, ``mpan``, or
    an identifier run together (``lclid``, ``meterid``)."""
    return word in METER_WORDS or (len(word) > 3 and word.endswith("id") and word not in _NOT_IDS)


def read_table(path: str | Path, encoding: str = "auto") -> pd.DataFrame:
    """A CSV (optionally compressed) or Parquet file as it is, its source in ``attrs``."""
    path = Path(path)
    require_file(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in PARQUET_SUFFIXES:
        frame, kind = read_parquet(path), "parquet"
        if not isinstance(frame.index, pd.RangeIndex):  # saved from a frame indexed by time
            frame = frame.reset_index()
    elif any(s in CSV_SUFFIXES for s in suffixes):
        frame, kind = _read_csv(path, encoding), "csv"
    else:
        raise InputError(f"{path}: unknown file type; expected .csv, .csv.gz or .parquet.")
    if frame.shape[1] == 0:
        raise InputError(f"{path}: file is empty; expected a header row and readings.")
    frame.attrs["source"] = str(path)
    frame.attrs["kind"] = kind
    frame = _without_empty_rows(frame)
    if frame.shape[0] == 0:
        header = listed_columns(frame, frame.columns)
        what = "columns" if kind == "parquet" else "a header"
        raise InputError(
            f"{path}: has {what} ({header}) but no readings; expected rows of readings."
        )
    frame.attrs["source"] = str(path)
    frame.attrs["kind"] = kind
    return frame


def _without_empty_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` less its rows with no cell filled (a spreadsheet's ``,,,,,,`` lines after
    its table), said once: they hold no time and no reading. Rows keep their lines."""
    empty = np.column_stack([_blank(frame.iloc[:, j]) for j in range(frame.shape[1])]).all(1)
    if not empty.any() or empty.all():
        return frame
    first = row_label(frame, int(np.flatnonzero(empty)[0]))
    warnings.warn(f"{source_of(frame)}: dropped {int(empty.sum())} row(s) with no cell filled "
                  f"(the first on {first}).", EmptyRowsWarning, stacklevel=4)  # fmt: skip
    kept = frame[~empty]
    kept.attrs = frame.attrs
    return kept


def _blank(column: pd.Series) -> np.ndarray:
    """Where ``column``'s cells are missing or spaces alone."""
    if column.dtype == object or pd.api.types.is_string_dtype(column):
        spaces = column.astype("string").str.strip().eq("").fillna(False)
        return (column.isna() | spaces).to_numpy(dtype=bool)
    return column.isna().to_numpy(dtype=bool)


def read_parquet(path: Path, **options: Any) -> pd.DataFrame:
    with parquet_errors(path):
        return pd.read_parquet(path, **options)


@contextmanager
def parquet_errors(path: Path) -> Iterator[None]:
    """Turn pyarrow's errors on a damaged or foreign file into one line naming it."""
    try:
        import pyarrow as pa
    except ImportError:
        raise InputError(
            f"{path}: reading Parquet needs pyarrow: pip install 'wattcast[parquet]'."
        ) from None
    try:
        yield
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable Parquet file ({reason}).") from None


def _exact_floats() -> dict[str, str]:
    """Readings parsed to the float they were written from, so that a reading sent twice
    is one reading: pandas 2's default parser may differ in the last digit (pandas 3
    parses exactly, and deprecates the option)."""
    return {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


def _read_csv(path: Path, encoding: str) -> pd.DataFrame:
    head = _head_bytes(path)
    _refuse_packed(path, head)
    tried = _encodings(head, encoding)
    for position, name in enumerate(tried):
        text = head.decode(name, errors="replace")
        try:
            options = _csv_dialect(text)
            names = _header_names(text, options)
            frame = pd.read_csv(path, encoding=name, **_id_options(names), **options,
                                **_exact_floats())  # fmt: skip
        except UnicodeDecodeError as exc:
            if position + 1 < len(tried):
                continue
            raise InputError(
                f"{path}: cannot be read as {name} text ({exc.reason} at byte {exc.start}); "
                "pass --encoding, e.g. cp1252 or utf-16."
            ) from None
        except pd.errors.EmptyDataError:
            raise InputError(
                f"{path}: file is empty; expected a header row and readings."
            ) from None
        except (pd.errors.ParserError, OSError, EOFError, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            why = _why(reason)
            raise InputError(f"{path}: cannot be read as a table ({reason}){why}.") from None
        _refuse_point_groups(path, text, options, names)
        frame, names = _fields_more(frame, names, text, options)
        _refuse_fields_more(path, frame, names, options)
        frame.attrs["encoding"] = name
        frame.attrs["decimal"] = options.get("decimal", ".")
        frame.attrs["separator"] = options["sep"]
        frame.attrs["skipped_lines"] = options.get("skiprows", 0)
        _refuse_short_rows(path, name, options, frame, names)
        return _named_columns(frame, names, path)
    raise AssertionError("unreachable")


#: Cells read as missing in every column but meter ids: pandas' documented defaults.
MISSING_TEXT = (
    *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"),
    *("<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
)


def _id_options(header: list[str]) -> dict[str, Any]:
    """``read_csv`` options that read meter-id columns (:func:`_id_columns`) as text, in
    which only an empty cell is missing (a meter named ``NA`` or ``None`` keeps its
    name); other columns read the usual missing markers."""
    ids = _id_columns(header)
    if not ids:
        return {}
    # by position: pandas renames nameless and repeated columns
    missing = {i: [""] if name in ids else list(MISSING_TEXT) for i, name in enumerate(header)}
    return {"dtype": ids, "keep_default_na": False, "na_values": missing}


def _id_columns(header: list[str]) -> dict[str, type]:
    """In a table of a long table's few columns, the columns named only with words of
    meter ids (``meter``, ``Meter ID``, ``point``: no digits), read as text: a meter named
    ``00123`` keeps its zeros, one named ``TRUE`` its case. A wide table's meters
    (``Building 12``) are read as numbers."""
    if len(header) > 4:
        return {}
    return {
        name: str
        for name in header
        if not re.search(r"\d", name)
        and (words := name_words(name))
        and all(is_meter_word(w) for w in words)
    }


def _why(reason: str) -> str:
    """What a parser's complaint of more fields than the first line usually means."""
    found = re.search(r"Expected (\d+) fields? in line (\d+), saw (\d+)", reason)
    if not found or int(found.group(1)) >= int(found.group(3)):
        return ""
    if int(found.group(1)) == 1:  # a title line read as the header
        return ("; lines of title above the header? the header (timestamp, meters) must be "
                "the first line")  # fmt: skip
    return (f"; line {found.group(2)} has more fields than the header (a separator at the "
            "end of the row, or a value without a column)")  # fmt: skip


#: In a ``;`` file, a whole number whose thousands a point groups (``1.013``), a number
#: with another decimal part (``1.5``) and a whole number written bare (``987``).
_POINT_GROUP = re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+")
_POINT_DECIMAL = re.compile(r"[+-]?\d*\.\d+")
_WHOLE = re.compile(r"[+-]?\d+")


def _refuse_point_groups(path: Path, head: str, options: dict[str, Any], names: list[str]) -> None:
    """Refuse a ``;`` file without decimal commas whose column has cells such as ``1.013``
    beside bare whole numbers and no other decimals: the way ``;`` files group thousands
    (1013), read as decimals (1.013), a thousand times too small."""
    if options["sep"] != ";" or options.get("decimal") == ",":
        return
    skip = options.get("skiprows", 0)
    lines = head.lstrip("\ufeff").splitlines()
    rows = list(csv.reader(lines[skip + 1 : -1], delimiter=";"))  # the last may be cut
    for j, name in enumerate(names):
        cells = [(n, row[j].strip()) for n, row in enumerate(rows, skip + 2) if len(row) > j]
        grouped = [(n, c) for n, c in cells if _POINT_GROUP.fullmatch(c)]
        bare = [c for _, c in cells if _WHOLE.fullmatch(c) and c.lstrip("+-") != "0"]
        if not grouped or not bare:  # a 0 is written bare by exports of 3 decimals too
            continue
        if any(_POINT_DECIMAL.fullmatch(c) and not _POINT_GROUP.fullmatch(c) for _, c in cells):
            continue  # a decimal such as 1.5 shows the point is a decimal mark
        line, cell = grouped[0]
        raise InputError(
            f"{path}, column {name!r}, line {line}: {cell!r} may group thousands, as ';' "
            "files write them, or hold a decimal point, beside whole numbers written bare; "
            f"write {cell.replace('.', '')}, or {cell.replace('.', ',')} if the point is a "
            "decimal mark."
        )


def _header_names(head: str, options: dict[str, Any]) -> list[str]:
    """The column names of a CSV header line as written (pandas renames repeats)."""
    skip = options.get("skiprows", 0)
    line = head.lstrip("\ufeff").splitlines()[skip : skip + 1] or [""]
    return next(csv.reader(line, delimiter=options["sep"]), [])


def _refuse_fields_more(
    path: Path, frame: pd.DataFrame, header: list[str], options: dict[str, Any]
) -> None:
    """Refuse rows of two or more fields more than the header line, which pandas takes
    for an index of several levels (a title line above the header: a traceback)."""
    if not isinstance(frame.index, pd.MultiIndex):
        return
    line = options.get("skiprows", 0) + 2
    more = frame.index.nlevels
    why = _why(f"Expected {len(header)} fields in line {line}, saw {len(header) + more}")
    raise InputError(f"{path}: the rows hold {more} fields more than the header line{why}.")


def _fields_more(
    frame: pd.DataFrame, header: list[str], head: str, options: dict[str, Any]
) -> tuple[pd.DataFrame, list[str]]:
    """A table whose rows hold fields more than its header line, as written: pandas
    takes the rows' first fields as an index and moves every column's name to the right.
    Where the first row ends with as many separators as the header lacks (a spreadsheet's
    empty columns), or one field more is a time, the extra fields are the last: nameless
    last columns (dropped when empty, refused when they have readings). Row names written
    without a header field (R's ``write.table``) stay pandas' index."""
    separator, skip = options["sep"], options.get("skiprows", 0)
    lines = [line.rstrip("\r") for line in head.lstrip("\ufeff").splitlines()[skip:]]
    rows = [line for line in lines[1:] if line.strip()]
    default = isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0
    if default or not rows or len(header) != frame.shape[1]:
        return frame, header
    more = frame.index.nlevels
    ending = _ends_empty(rows[0], separator, more) and not lines[0].endswith(separator)
    first = pd.Series(frame.index.get_level_values(0)[:1000].astype(str))
    timed = more == 1 and first.str.contains(r"\d[-/.:]\d\d?[-/.:T ]", regex=True).mean() > 0.9
    if not (ending or timed):
        return frame, header
    names = [*header, *[""] * more]
    shifted = frame.reset_index()
    shifted.columns = [n.strip() or f"Unnamed: {i}" for i, n in enumerate(names)]
    return shifted, names


def _ends_empty(row: str, separator: str, more: int) -> bool:
    """Whether a row's last ``more`` fields are empty: written bare (``,,``), quoted
    (``,"",""``) or as spaces (``, ,``)."""
    fields = next(csv.reader([row], delimiter=separator), [])
    return len(fields) > more and all(not f.strip() for f in fields[-more:])


def _refuse_short_rows(
    path: Path, encoding: str, options: dict[str, Any], frame: pd.DataFrame, header: list[str]
) -> None:
    """Refuse a row with fewer fields than the header (pandas reads the fields it lacks as
    blanks, that is missing readings), as a row with more fields is refused. Fields
    written empty (``...,``) are missing readings; nameless last columns may be left out."""
    named = [i for i, name in enumerate(header) if name.strip()]
    needed = (named[-1] + 1) if named else 0
    if len(header) != frame.shape[1] or needed < 2:
        return
    if not frame.iloc[:, needed - 1].isna().any():  # a short row lacks the last named field
        return
    with _text_lines(path, encoding) as lines:
        rows = csv.reader(lines, delimiter=options["sep"])
        for fields in rows:
            if fields and len(fields) < needed and rows.line_num > options.get("skiprows", 0):
                raise InputError(
                    f"{path}, line {rows.line_num}: expected {needed} fields as in the "
                    f"header line, found {len(fields)}; write an empty field for a missing "
                    "reading."
                )


@contextmanager
def _text_lines(path: Path, encoding: str) -> Iterator[IO[str]]:
    opener = _OPENERS.get(path.suffix.lower(), open)
    with opener(path, "rb") as handle, io.TextIOWrapper(
        handle, encoding=encoding, errors="replace", newline=""
    ) as text:  # fmt: skip
        yield text


def _named_columns(frame: pd.DataFrame, header: list[str], path: Path) -> pd.DataFrame:
    """Columns named as in the header, without surrounding spaces.

    A column without a name (but the first: an index written by pandas) is dropped when
    empty (a trailing separator) and refused when it has readings; a name written twice
    is refused. Rows of bare separators at the end are dropped.
    """
    if len(header) != frame.shape[1]:
        return frame
    names = [name.strip() for name in header]
    nameless = not names[0]
    if nameless:  # the index of a frame written by pandas: the timestamps
        names[0] = str(frame.columns[0])
    unnamed = [i for i, name in enumerate(names) if not name]
    for i in unnamed:
        _unnamed_column(frame, i, path)
    seen: dict[str, int] = {}
    alike: dict[str, int] = {}
    for i, name in enumerate(names):
        if name and name in seen:
            raise InputError(
                f"{path}: column {name!r} appears twice in the header (columns "
                f"{seen[name] + 1} and {i + 1}); expected one column per meter (or extra feature)."
            )
        seen[name] = i
        key = look_alike(name)
        if name and key in alike:
            other = names[alike[key]]
            raise InputError(
                f"{path}: columns {other!r} and {name!r} (columns {alike[key] + 1} and {i + 1}) "
                "differ only in case, spacing or characters that look the same; expected one "
                "column per meter (or extra feature), each named its own way."
            )
        alike[key] = i
    filled = np.flatnonzero(frame.notna().any(axis=1).to_numpy())
    frame = frame.iloc[: filled[-1] + 1 if len(filled) else 0]  # rows of bare separators at the end
    named = [i for i in range(len(names)) if i not in unnamed]
    kept = frame.iloc[:, named]
    kept.columns = [names[i] for i in named]
    kept.attrs = frame.attrs
    if nameless:
        kept.attrs["nameless"] = names[0]
    return kept


def look_alike(name: str) -> str:
    """What a name reads as: compatible Unicode forms made one (a non-breaking or a
    full-width space, an accent written apart), invisible characters dropped, spaces
    collapsed and case folded. Two names that read the same are one meter to a user."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")  # zero-width
    return " ".join(text.split()).casefold()


def _unnamed_column(frame: pd.DataFrame, i: int, path: Path) -> None:
    """A column without a name holds nothing (a trailing separator), only text (a note
    written beside the table: left aside, said once) or readings, refused: whose are
    they?"""
    cells = frame.iloc[:, i]
    filled = np.flatnonzero(cells.notna().to_numpy())
    if not len(filled):
        return
    numbers = np.flatnonzero(pd.to_numeric(cells, errors="coerce").notna().to_numpy())
    above = 2 + frame.attrs.get("skipped_lines", 0)  # the header line, and a `sep=` line
    if len(numbers):
        raise InputError(f"{path}, column {i + 1}: has readings but no name in the header "
                         f"line (the first on line {numbers[0] + above}); expected a meter "
                         "name.")  # fmt: skip
    note = str(cells.iloc[filled[0]]).strip()
    shown = note if len(note) <= 60 else note[:60] + "..."
    warnings.warn(f"{path}, column {i + 1}: no name in the header line and only text "
                  f"({len(filled)} cell(s), the first on line {filled[0] + above}: {shown!r}), "
                  "not readings; left aside.", SkippedColumnsWarning, stacklevel=5)  # fmt: skip


def _head_bytes(path: Path, size: int = 65536) -> bytes:
    opener = _OPENERS.get(path.suffix.lower(), open)
    try:
        with opener(path, "rb") as handle:
            return handle.read(size)
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: cannot be read ({exc}).") from None


def _encodings(head: bytes, encoding: str) -> tuple[str, ...]:
    if encoding != "auto":
        checks.encoding(encoding)
        return (encoding,)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ("utf-16",)
    if len(head) >= 64 and head[1::2].count(0) > 0.9 * len(head[1::2]):
        return ("utf-16-le",)  # UTF-16 without its byte-order mark
    if len(head) >= 64 and head[0::2].count(0) > 0.9 * len(head[0::2]):
        return ("utf-16-be",)
    return AUTO_ENCODINGS


#: The first bytes of a compressed file, and the name it wants.
PACKED = {b"\x1f\x8b": ("gzip", ".csv.gz"), b"PK\x03\x04": ("a zip archive", ".csv.zip"),
           b"\xfd7zXZ": ("xz", ".csv.xz")}  # fmt: skip


def _refuse_packed(path: Path, head: bytes) -> None:
    """Refuse compressed bytes in a file whose name does not say so (read as text, they
    give a tokenizing error or no meter columns)."""
    suffix = path.suffix.lower()
    for magic, (what, name) in PACKED.items():
        if head.startswith(magic) and not name.endswith(suffix):
            raise InputError(
                f"{path}: {what} data in a file named {suffix or 'without a suffix'}; name it "
                f"{name} (or unpack it)."
            )


def _csv_dialect(head: str) -> dict[str, Any]:
    """Separator (from the header line, or the ``sep=;`` line Excel writes above it) and
    decimal mark of a CSV file."""
    lines = head.lstrip("\ufeff").splitlines()
    declared = re.fullmatch(r"\"?sep=(.)\"?", lines[0].rstrip("\r\n")) if lines else None
    lines = lines[1:] if declared else lines
    header = lines[0] if lines else ""
    separator = max(_SEPARATORS, key=header.count)
    if header.count(separator) == 0:
        separator = ","
    options: dict[str, Any] = {"sep": declared.group(1) if declared else separator}
    if declared:
        options["skiprows"] = 1
    separator = options["sep"]
    comma = _DECIMAL_COMMA.get(separator)
    if comma is not None and any(comma.search(line) for line in lines[1:]):
        options["decimal"] = ","
    return options


def read_file_bytes(path: str | Path, what: str) -> bytes:
    """The bytes of an input file that is not a table (an iCalendar file...)."""
    path = Path(path)
    require_file(path, f"{what} file")
    return path.read_bytes()


def read_zones(path: str | Path) -> dict[str, str]:
    """``meter -> zone`` from a CSV with columns ``meter,zone``; zone names are checked."""
    table = read_table(path)
    missing = [c for c in ("meter", "zone") if c not in table.columns]
    if missing:
        raise InputError(f"{path}: no column {missing[0]!r}; expected columns meter,zone.")
    zones: dict[str, str] = {}
    cells = zip(_stripped(table["meter"]), _stripped(table["zone"]), strict=True)
    for position, (meter, zone) in enumerate(cells):
        for column, cell in (("meter", meter), ("zone", zone)):
            if not cell:
                raise InputError(f"{path}, column {column!r}, line {position + 2}: empty; "
                                 "expected a meter and its zone on every line (a meter "
                                 "without a line keeps the default zone).")  # fmt: skip
        if not is_zone(zone):
            raise InputError(
                f"{path}, column 'zone', line {position + 2}: {zone!r} is not a time zone "
                "name; expected e.g. 'America/New_York'."
            )
        if str(meter) in zones and zones[str(meter)] != str(zone):
            raise InputError(
                f"{path}, line {position + 2}: meter {str(meter)!r} is given a second zone, "
                f"{zone!r} after {zones[str(meter)]!r}; expected one zone per meter."
            )
        zones[str(meter)] = str(zone)
    return zones


def _stripped(column: pd.Series) -> list[str]:
    """A column's cells as text without surrounding spaces; an empty cell is ``""``."""
    return ["" if pd.isna(cell) else str(cell).strip() for cell in column]


def row_label(frame: pd.DataFrame, position: int) -> str:
    """How a user finds data row ``position`` (0-based) of ``frame`` in the file: by its
    place in the file when ``frame`` holds some of its rows (a long table's meters)."""
    index = frame.index
    row = int(index[position]) if pd.api.types.is_integer_dtype(index) else position
    parts = frame.attrs.get("parts")
    if parts:  # rows of several files (a glob): the file the row is in, and its place there
        name, first, attrs = [part for part in parts if part[1] <= row][-1]
        return f"{name}, {_row_in(attrs, row - first)}"
    return _row_in(frame.attrs, row)


def _row_in(attrs: dict[str, Any], row: int) -> str:
    if attrs.get("kind") == "csv":  # after the header (and a `sep=` line above it)
        return f"line {row + 2 + attrs.get('skipped_lines', 0)}"
    return f"row {row + 1}"


def source_of(frame: pd.DataFrame) -> str:
    return str(frame.attrs.get("source", "<frame>"))


def name_words(name: object) -> list[str]:
    """The words of a column's or meter's name, in lower case and in order: ``Hour
    Ending`` -> ``hour, ending``; ``Interval_End`` -> ``interval, end``."""
    return re.findall(r"[a-z]+", str(name).lower())


def column_title(frame: pd.DataFrame, column: object) -> str:
    """How a message names ``column`` of ``frame``: ``column 'Main (kW)'``, or ``the first
    column (no name)`` for a column whose header cell is empty (pandas calls it
    ``Unnamed: 0``)."""
    if str(column) == frame.attrs.get("nameless"):
        return "the first column (no name)"
    return f"column {str(column)!r}"


def listed_columns(frame: pd.DataFrame, columns: Iterable[object]) -> str:
    """``columns`` of ``frame`` listed in a message: ``'time', 'Main (kW)'``."""
    return ", ".join(
        "the first column (no name)" if str(c) == frame.attrs.get("nameless") else repr(str(c))
        for c in columns
    )
