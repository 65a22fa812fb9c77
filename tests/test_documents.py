"""Document text extraction: the formats we read, and a clear refusal for everything we must not."""

from __future__ import annotations

import io
import zipfile

import pytest
from fpdf import FPDF
from helpers import make_docx, make_pdf

from cerebro_serve.parsing import DocumentError, DocumentLimits, clean_text, extract_document
from cerebro_serve.parsing.documents import office_converter
from cerebro_serve.parsing.ocr import tesseract

LOREM = "Experienced engineer building data platforms with Python and SQL for logistics companies."


def refusal(
    data: bytes, filename: str | None = None, content_type: str | None = None, limits: DocumentLimits = DocumentLimits()
) -> DocumentError:
    with pytest.raises(DocumentError) as caught:
        extract_document(data, filename, content_type, limits)
    assert caught.value.message
    return caught.value


def test_pdf_text_is_extracted_page_by_page() -> None:
    data = make_pdf([["Jane Roe", "Data Engineer", LOREM], ["EDUCATION", "MSc Computer Science, 2015"]])
    document = extract_document(data, "cv.pdf", "application/pdf")
    assert document.kind == "pdf" and len(document.pages) == 2
    assert "Data Engineer" in document.pages[0] and "MSc Computer Science" in document.pages[1]


def test_two_column_pdf_is_read_column_by_column() -> None:
    left = [f"Left column line {i}" for i in range(10)]
    right = [f"Right column line {i}" for i in range(10)]
    text = extract_document(make_pdf([left + right], two_columns=True)).text
    lines = [line for line in text.splitlines() if line]
    # Reading across the page would interleave left and right lines.
    assert lines.index("Left column line 9") < lines.index("Right column line 0")
    assert lines == left + right


def test_docx_paragraphs_and_tables_in_order() -> None:
    data = make_docx(["Jane Roe", "SKILLS"], table=[["Python", "SQL"], ["Docker", "Kubernetes"]])
    text = extract_document(data, "cv.docx").text
    assert text.split("\n")[:6] == ["Jane Roe", "SKILLS", "Python", "SQL", "Docker", "Kubernetes"]


def test_docx_text_boxes_are_read_once() -> None:
    data = make_docx(["Main body paragraph with enough text to count."])
    archive = zipfile.ZipFile(io.BytesIO(data))
    xml = archive.read("word/document.xml").decode()
    box = (
        '<w:p><w:r><mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
        '<mc:Choice Requires="wps"><w:drawing><w:txbxContent><w:p><w:r><w:t>Boxed contact line</w:t></w:r>'
        "</w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p><w:r>"
        "<w:t>Boxed contact line</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback>"
        "</mc:AlternateContent></w:r></w:p>"
    )
    xml = xml.replace("<w:body>", "<w:body>" + box, 1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as rebuilt:
        for entry in archive.infolist():
            rebuilt.writestr(entry, xml if entry.filename == "word/document.xml" else archive.read(entry))
    text = extract_document(buffer.getvalue(), "cv.docx").text
    assert text.count("Boxed contact line") == 1
    assert "Main body paragraph" in text


def test_html_and_text_documents() -> None:
    html = (
        b"<html><head><style>p{}</style><script>var x=1</script></head><body><h1>Jane Roe</h1>"
        b"<p>Nurse &amp; midwife with ten years in maternity wards.</p></body></html>"
    )
    document = extract_document(html, "cv.html", "text/html")
    assert document.kind == "html" and document.text == "Jane Roe\n\nNurse & midwife with ten years in maternity wards."
    latin = "Ingénieure logiciel à Lyon, spécialisée en systèmes embarqués.".encode("cp1252")
    assert extract_document(latin, "cv.txt").text.startswith("Ingénieure logiciel")
    utf16 = "Инженер-программист, Москва, десять лет опыта.".encode("utf-16")
    assert extract_document(utf16, "cv.txt").text.startswith("Инженер-программист")


def test_empty_and_oversized_files_are_refused() -> None:
    assert refusal(b"").reason == "empty"
    limits = DocumentLimits(max_bytes=1000)
    assert refusal(b"x" * 2000, limits=limits).reason == "too_large"


def test_encrypted_pdf_is_refused() -> None:
    assert refusal(make_pdf([[LOREM]], encrypt=True), "cv.pdf").reason == "encrypted"


def test_truncated_and_corrupt_pdfs_are_refused() -> None:
    data = make_pdf([[LOREM]])
    assert refusal(data[: len(data) // 3], "cv.pdf").reason == "corrupt"
    assert refusal(b"%PDF-1.7\n" + b"\x00garbage" * 50, "cv.pdf").reason == "corrupt"


def test_pdf_without_text_layer_is_refused_as_image_only(monkeypatch) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 100, 100, style="F")  # a "scan": ink, no text
    data = bytes(pdf.output())
    monkeypatch.setattr("cerebro_serve.parsing.ocr.tesseract", lambda: None)
    assert refusal(data, "scan.pdf").reason == "image_only"
    monkeypatch.undo()
    if tesseract() is not None:  # OCR reads the page and finds no words in the ink
        assert refusal(data, "scan.pdf").reason == "no_text"


def test_too_many_pages_is_refused() -> None:
    data = make_pdf([[f"page {i} {LOREM}"] for i in range(5)])
    assert refusal(data, limits=DocumentLimits(max_pages=3)).reason == "too_many_pages"


def test_docx_zip_bomb_is_refused_before_expansion() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
        archive.writestr("word/media/bomb.bin", b"\0" * (80 * 1024 * 1024))
    assert refusal(buffer.getvalue(), "cv.docx").reason == "zip_bomb"


def test_corrupt_docx_is_refused() -> None:
    data = make_docx([LOREM])
    assert refusal(data[: len(data) // 2], "cv.docx").reason == "corrupt"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", LOREM)
    assert refusal(buffer.getvalue(), "cv.docx").reason == "corrupt"


def test_wrong_content_type_is_refused() -> None:
    pdf = make_pdf([[LOREM]])
    assert refusal(pdf, "cv.docx").reason == "wrong_content_type"
    assert refusal(make_docx([LOREM]), None, "application/pdf").reason == "wrong_content_type"


def test_images_without_ocr_say_what_is_missing(monkeypatch) -> None:
    monkeypatch.setattr("cerebro_serve.parsing.ocr.tesseract", lambda: None)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    error = refusal(png, "scan.png")
    assert error.reason == "needs_ocr" and "OCR" in error.message


def test_unknown_binary_is_refused() -> None:
    assert refusal(b"\x00\x01\x02\x03" * 100, "blob.bin").reason == "unsupported_type"


def test_text_too_short_is_not_a_document() -> None:
    assert refusal(b"hi", "cv.txt").reason == "no_text"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("P y t h o n   D e v e l o p e r", "Python Developer"),
        ("the devel-\nopment team", "the development team"),
        ("\ufb01nance o\ufb03ce", "finance office"),
        ("soft\u00adhyphen", "softhyphen"),
        ("too    many\t spaces", "too many spaces"),
        ("a\n\n\n\n\nb", "a\n\nb"),
        ("Full-\nStack", "Full-\nStack"),
        ("C  C++  Go", "C C++ Go"),
    ],
)
def test_clean_text_repairs_extraction_damage(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_glued_words_are_recognised() -> None:
    from cerebro_serve.parsing.documents import _space_starved

    glued = "SENIORAEROSPACEQUALITYENGINEER Results-drivenMechanicalEngineer with solid productengineering " * 10
    assert _space_starved(glued)
    assert not _space_starved("Senior aerospace quality engineer with solid product engineering skills. " * 10)


def test_space_starved_pages_are_read_again_with_pypdf() -> None:
    from cerebro_serve.parsing.documents import _pypdf_pages

    data = make_pdf([["Senior Quality Engineer with solid product engineering"], ["Second page text"]])
    starved = "SeniorQualityEngineerwithsolidproductengineering " * 40
    pages = _pypdf_pages(data, [starved, "Second page text kept from PDFium"])
    assert pages[0].startswith("Senior Quality Engineer with solid")
    assert pages[1] == "Second page text kept from PDFium"


def test_without_libreoffice_legacy_formats_are_refused(monkeypatch) -> None:
    monkeypatch.setattr("cerebro_serve.parsing.documents.office_converter", lambda: None)
    error = refusal(b"{\\rtf1\\ansi Hello}", "cv.rtf")
    assert error.reason == "unsupported_type" and "LibreOffice" in error.message


needs_libreoffice = pytest.mark.skipif(office_converter() is None, reason="LibreOffice is not installed")


@needs_libreoffice
def test_rtf_is_converted_and_read() -> None:
    rtf = (
        rb"{\rtf1\ansi{\fonttbl\f0\fswiss Helvetica;}\f0\pard Jane Roe\par "
        rb"Registered nurse in Lyon, ten years in ICU.\par}"
    )
    document = extract_document(rtf, "cv.rtf")
    assert "Registered nurse in Lyon" in document.text and document.kind == "office"


@needs_libreoffice
def test_doc_and_odt_are_converted_and_read(tmp_path) -> None:
    import subprocess

    source = tmp_path / "cv.docx"
    source.write_bytes(make_docx(["Jane Roe", "Backend engineer writing Python services since 2015."]))
    for target in ("doc", "odt"):
        subprocess.run(
            [
                office_converter(),
                "--headless",
                f"-env:UserInstallation=file://{tmp_path}/profile",
                "--convert-to",
                target,
                "--outdir",
                str(tmp_path),
                str(source),
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
        data = (tmp_path / f"cv.{target}").read_bytes()
        assert "Python services since 2015" in extract_document(data, f"cv.{target}").text


needs_tesseract = pytest.mark.skipif(tesseract() is None, reason="Tesseract is not installed")


def _scan_of(lines: list[str]) -> bytes:
    """A PNG 'photo' of a page: a text PDF rendered by PDFium, with no text layer left."""
    import pypdfium2 as pdfium

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=16)
    for line in lines:
        pdf.cell(w=0, h=10, text=line, new_x="LMARGIN", new_y="NEXT")
    page = pdfium.PdfDocument(bytes(pdf.output()))[0]
    image = page.render(scale=3).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@needs_tesseract
def test_images_are_read_with_ocr() -> None:
    png = _scan_of(["Jane Roe", "Registered nurse", "Intensive care unit since 2015"])
    document = extract_document(png, "scan.png")
    assert "Registered nurse" in document.text and "Intensive care" in document.text


@needs_tesseract
def test_scanned_pdfs_are_read_with_ocr(tmp_path) -> None:
    png = tmp_path / "scan.png"
    png.write_bytes(_scan_of(["Jane Roe", "Backend engineer", "Python and PostgreSQL"]))
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(png), x=0, y=0, w=210)
    document = extract_document(bytes(pdf.output()), "scan.pdf")
    assert "Backend engineer" in document.text and "PostgreSQL" in document.text
