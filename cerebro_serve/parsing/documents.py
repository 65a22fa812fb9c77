"""Text out of resume and job files, or a clear refusal.

The type is sniffed from the bytes (a claimed content type that disagrees is refused, not trusted), every
format runs under size, page and decompression limits, and a file that yields no text is an error, never
an empty profile. Two-column PDF pages are read column by column.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from cerebro_serve.parsing import ocr
from cerebro_serve.parsing.cleanup import clean_text
from cerebro_serve.parsing.documents_errors import DocumentError

PDF, DOCX, HTML, TEXT, IMAGE = "pdf", "docx", "html", "text", "image"
CONTENT_TYPES = {
    "application/pdf": PDF,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": DOCX,
    "text/html": HTML,
    "application/xhtml+xml": HTML,
    "text/plain": TEXT,
    "image/png": IMAGE,
    "image/jpeg": IMAGE,
    "image/tiff": IMAGE,
}
EXTENSIONS = {
    ".pdf": PDF,
    ".docx": DOCX,
    ".html": HTML,
    ".htm": HTML,
    ".txt": TEXT,
    ".png": IMAGE,
    ".jpg": IMAGE,
    ".jpeg": IMAGE,
    ".tif": IMAGE,
    ".tiff": IMAGE,
}
OFFICE_EXTENSIONS = {".doc", ".rtf", ".odt"}
MIN_TEXT_CHARACTERS = 20


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_pages: int = 40
    max_uncompressed_bytes: int = 64 * 1024 * 1024
    max_compression_ratio: int = 200


@dataclass(frozen=True, slots=True)
class Document:
    kind: str
    text: str
    pages: list[str] = field(default_factory=list)


def sniff(data: bytes) -> str | None:
    head = data[:2048].lstrip()
    if head.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        # OpenDocument is a zip too; its first entry, "mimetype", says so in clear.
        return "office" if data[30:38] == b"mimetype" and b"opendocument" in data[38:120] else DOCX
    if data.startswith((b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")):
        return IMAGE
    if data.startswith(b"{\\rtf") or data.startswith(b"\xd0\xcf\x11\xe0"):
        return "office"
    lowered = head.lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<body" in lowered:
        return HTML
    if b"\x00" not in data[:4096] or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return TEXT
    return None


def _declared_kind(filename: str | None, content_type: str | None) -> str | None:
    if content_type:
        base = content_type.split(";")[0].strip().lower()
        if base in CONTENT_TYPES:
            return CONTENT_TYPES[base]
    if filename and "." in filename:
        extension = "." + filename.rsplit(".", 1)[1].lower()
        if extension in OFFICE_EXTENSIONS:
            return "office"
        return EXTENSIONS.get(extension)
    return None


def precheck(
    data: bytes,
    filename: str | None = None,
    content_type: str | None = None,
    limits: DocumentLimits = DocumentLimits(),
) -> str:
    """The checks that need no parsing (size, sniffed type, declared type); returns the kind to parse."""
    if not data:
        raise DocumentError("empty", "The file is empty.")
    if len(data) > limits.max_bytes:
        raise DocumentError("too_large", f"The file is {len(data):,} bytes; the limit is {limits.max_bytes:,}.")
    kind = sniff(data)
    declared = _declared_kind(filename, content_type)
    if kind is None:
        raise DocumentError("unsupported_type", "The file is neither PDF, DOCX, HTML nor text.")
    if declared is not None and declared != kind and not (declared == TEXT and kind == HTML):
        raise DocumentError(
            "wrong_content_type", f"The file was declared as {declared.upper()} but its content is {kind.upper()}."
        )
    if kind == "office" and office_converter() is None:
        raise DocumentError(
            "unsupported_type",
            "DOC, RTF and ODT files need LibreOffice, which this server does not have; send PDF or DOCX.",
        )
    if kind == IMAGE and ocr.tesseract() is None:
        raise DocumentError(
            "needs_ocr", "The file is an image and no OCR engine is installed on this server; send a text PDF or DOCX."
        )
    return kind


def extract_document(
    data: bytes,
    filename: str | None = None,
    content_type: str | None = None,
    limits: DocumentLimits = DocumentLimits(),
) -> Document:
    kind = precheck(data, filename, content_type, limits)
    readers = {
        PDF: _pdf_pages,
        DOCX: _docx_pages,
        HTML: _html_pages,
        TEXT: _text_pages,
        "office": _office_pages,
        IMAGE: lambda image, _limits: [ocr.ocr_image(image)],
    }
    pages = readers[kind](data, limits)
    text, cleaned = _joined(pages)
    if len(text) < MIN_TEXT_CHARACTERS and kind == PDF:
        if ocr.tesseract() is None:
            raise DocumentError("image_only", "The PDF has no text layer (a scan?) and no OCR engine is installed.")
        text, cleaned = _joined(_scanned_pdf_pages(data))
    if len(text) < MIN_TEXT_CHARACTERS:
        raise DocumentError("no_text", "The file holds no readable text.")
    return Document(kind, text, cleaned)


def _joined(pages: list[str]) -> tuple[str, list[str]]:
    cleaned = [clean_text(page) for page in pages]
    return "\n\n".join(page for page in cleaned if page), cleaned


def _scanned_pdf_pages(data: bytes) -> list[str]:
    """A PDF without a text layer, read page by page with OCR."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        return [ocr.ocr_image(ocr.page_as_pgm(document[index])) for index in range(len(document))]
    finally:
        document.close()


# -- PDF -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Glyph:
    left: float
    right: float


# Words glued together by a PDF that draws spaces as gaps: "QualityEngineer", "SENIORAEROSPACEQUALITY".
GLUED_WORD = re.compile(r"\b(?:[A-Za-z]*[a-z][A-Z][A-Za-z]{6,}|[A-Za-z]{22,})\b")


def _space_starved(text: str) -> bool:
    words = re.findall(r"[A-Za-z]+", text)
    return len(words) >= 30 and len(GLUED_WORD.findall(text)) / len(words) > 0.02


def _pdf_pages(data: bytes, limits: DocumentLimits) -> list[str]:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise DocumentError("encrypted", "The PDF is password-protected.") from None
        raise DocumentError("corrupt", "The PDF is damaged or truncated and cannot be read.") from None
    try:
        if len(document) > limits.max_pages:
            raise DocumentError(
                "too_many_pages", f"The PDF has {len(document)} pages; the limit is {limits.max_pages}."
            )
        pages = [_pdf_page_text(document[index]) for index in range(len(document))]
    finally:
        document.close()
    if any(_space_starved(page) for page in pages):
        # PDFium writes no space where the PDF only leaves a gap; pypdf infers them from glyph positions.
        pages = _pypdf_pages(data, pages)
    return pages


def _pypdf_pages(data: bytes, fallback: list[str]) -> list[str]:
    import pypdf

    pages = list(fallback)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        for index, original in enumerate(fallback):
            if _space_starved(original):
                text = reader.pages[index].extract_text() or ""
                pages[index] = text if text.strip() else original
    except Exception:  # noqa: BLE001 - pypdf choking on a file PDFium read: keep PDFium's text
        return list(fallback)
    return pages


def _pdf_page_text(page) -> str:
    """Page text in reading order: a page with a clear vertical gutter is read left column, then right."""
    textpage = page.get_textpage()
    try:
        width, height = page.get_size()
        gutter = _find_gutter(_glyphs(textpage), width)
        if gutter is None:
            return textpage.get_text_range()
        left = textpage.get_text_bounded(left=0, bottom=0, right=gutter, top=height)
        right = textpage.get_text_bounded(left=gutter, bottom=0, right=width, top=height)
        return left + "\n\n" + right
    finally:
        textpage.close()


def _glyphs(textpage) -> list[_Glyph]:
    import pypdfium2.raw as pdfium_raw

    glyphs = []
    for index in range(textpage.count_chars()):
        code = pdfium_raw.FPDFText_GetUnicode(textpage.raw, index)
        if code and chr(code).strip():
            left, _bottom, right, _top = textpage.get_charbox(index)
            if right > left:
                glyphs.append(_Glyph(left, right))
    return glyphs


def _find_gutter(glyphs: list[_Glyph], width: float) -> float | None:
    """The x of an empty vertical band between 25% and 75% of the width with text on both sides.

    Glyphs, not words, are counted: a band is empty when almost no glyph touches it, and it is a gutter
    only when each side holds a real share of the page's glyphs (not a margin note, not a ragged edge).
    """
    if len(glyphs) < 200:
        return None
    buckets = 100
    covered = [0] * buckets
    for glyph in glyphs:
        for bucket in range(
            max(0, int(glyph.left / width * buckets)), min(buckets, int(glyph.right / width * buckets) + 1)
        ):
            covered[bucket] += 1
    best_start, best_length, start = None, 0, None
    for bucket in range(25, 76):
        if covered[bucket] <= len(glyphs) * 0.002:
            start = bucket if start is None else start
            if bucket - start + 1 > best_length:
                best_start, best_length = start, bucket - start + 1
        else:
            start = None
    if best_start is None or best_length < 2:
        return None
    middle = (best_start + best_length / 2) / buckets * width
    left_share = sum(1 for g in glyphs if g.right <= middle) / len(glyphs)
    if not 0.15 <= left_share <= 0.85:
        return None
    return middle


# -- DOCX ------------------------------------------------------------------------------------------

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"


def _check_zip(data: bytes, limits: DocumentLimits) -> None:
    """Refuse a damaged, encrypted or bomb-like archive from its directory alone, before expanding it."""
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError):
        raise DocumentError("corrupt", "The DOCX is damaged or truncated (not a readable zip archive).") from None
    expanded = sum(entry.file_size for entry in entries)
    if expanded > limits.max_uncompressed_bytes or expanded > limits.max_compression_ratio * max(len(data), 1):
        raise DocumentError("zip_bomb", f"The DOCX expands to {expanded:,} bytes, beyond the safety limits.")
    if any(entry.flag_bits & 0x1 for entry in entries):
        raise DocumentError("encrypted", "The DOCX is password-protected.")
    if "word/document.xml" not in {entry.filename for entry in entries}:
        raise DocumentError("corrupt", "The zip archive is not a Word document (no word/document.xml).")


def _owning_paragraph(node):
    node = node.getparent()
    while node is not None and node.tag != f"{W}p":
        node = node.getparent()
    return node


def _docx_pages(data: bytes, limits: DocumentLimits) -> list[str]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    _check_zip(data, limits)
    try:
        body = docx.Document(io.BytesIO(data)).element.body
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise DocumentError("corrupt", f"The DOCX cannot be opened ({type(error).__name__}).") from None
    except Exception as error:  # noqa: BLE001 - lxml syntax errors and the like: the file is broken, not us
        raise DocumentError("corrupt", f"The DOCX XML is malformed ({type(error).__name__}).") from None
    # Every paragraph in document order (body, tables, text boxes), each with only its own runs, and
    # nothing from mc:Fallback, which repeats a text box's content for old readers.
    lines = []
    for paragraph in body.iter(f"{W}p"):
        if any(ancestor.tag == MC_FALLBACK for ancestor in paragraph.iterancestors()):
            continue
        parts = []
        for node in paragraph.iter(f"{W}t", f"{W}tab", f"{W}br"):
            if _owning_paragraph(node) is not paragraph:
                continue
            parts.append(node.text or "" if node.tag == f"{W}t" else ("\t" if node.tag == f"{W}tab" else "\n"))
        lines.append("".join(parts))
    return ["\n".join(lines)]


# -- DOC, RTF, ODT through LibreOffice ------------------------------------------------------------

OFFICE_TIMEOUT_SECONDS = 25


def office_converter() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _office_pages(data: bytes, limits: DocumentLimits) -> list[str]:
    """Convert to DOCX with a headless LibreOffice (own profile, no network), then read the DOCX."""
    converter = office_converter()
    assert converter is not None  # precheck refused the file otherwise
    with tempfile.TemporaryDirectory(prefix="cerebro-office-") as directory:
        source = Path(directory) / "document"
        source.write_bytes(data)
        command = [
            converter,
            "--headless",
            "--norestore",
            "--nolockcheck",
            f"-env:UserInstallation=file://{directory}/profile",
            "--convert-to",
            "docx",
            "--outdir",
            directory,
            str(source),
        ]
        try:
            subprocess.run(command, capture_output=True, timeout=OFFICE_TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise DocumentError("timeout", "Converting the document with LibreOffice took too long.") from None
        converted = Path(directory) / "document.docx"
        if not converted.exists():
            raise DocumentError("corrupt", "LibreOffice could not read the document.")
        return _docx_pages(converted.read_bytes(), limits)


# -- HTML and text ---------------------------------------------------------------------------------


class _TextOfHtml(HTMLParser):
    SKIP = {"script", "style", "head", "noscript", "template"}
    BLOCK = {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "article",
        "header",
        "footer",
        "table",
        "td",
        "th",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def _decode(data: bytes) -> str:
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _html_pages(data: bytes, limits: DocumentLimits) -> list[str]:
    parser = _TextOfHtml()
    parser.feed(_decode(data))
    parser.close()
    return [re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(parser.parts))]


def _text_pages(data: bytes, limits: DocumentLimits) -> list[str]:
    return _decode(data).split("\f")
