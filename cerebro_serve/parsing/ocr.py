"""Text from images and scanned PDF pages with Tesseract, when it is installed.

Pages are rendered by PDFium to greyscale PGM (no imaging library needed) and handed to the `tesseract`
command with the installed languages among the eight the parser reads.
"""

from __future__ import annotations

import functools
import shutil
import subprocess

from cerebro_serve.parsing.documents_errors import DocumentError

# Tesseract's codes for the languages whose headings and dates the parser knows.
WANTED_LANGUAGES = ("eng", "fra", "spa", "deu", "ita", "por", "nld", "ron")
OCR_TIMEOUT_SECONDS = 20
RENDER_DPI = 300


def tesseract() -> str | None:
    return shutil.which("tesseract")


@functools.cache
def _languages() -> str:
    binary = tesseract()
    listed = (
        subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=10).stdout if binary else ""
    )
    installed = {line.strip() for line in listed.splitlines()[1:]}
    return "+".join(language for language in WANTED_LANGUAGES if language in installed) or "eng"


def ocr_image(data: bytes) -> str:
    binary = tesseract()
    if binary is None:
        raise DocumentError(
            "needs_ocr", "The file is an image or a scan and no OCR engine is installed on this server."
        )
    try:
        result = subprocess.run(
            [binary, "stdin", "stdout", "-l", _languages()],
            input=data,
            capture_output=True,
            timeout=OCR_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DocumentError("timeout", "Reading the image with OCR took too long.") from None
    if result.returncode != 0:
        raise DocumentError("corrupt", "The image could not be decoded.")
    return result.stdout.decode("utf-8", errors="replace")


def page_as_pgm(page) -> bytes:
    """A PDF page rendered to an 8-bit greyscale PGM image."""
    bitmap = page.render(scale=RENDER_DPI / 72, grayscale=True)
    try:
        width, height, stride = bitmap.width, bitmap.height, bitmap.stride
        buffer = bytes(bitmap.buffer)
        rows = b"".join(buffer[row * stride : row * stride + width] for row in range(height))
        return b"P5\n%d %d\n255\n" % (width, height) + rows
    finally:
        bitmap.close()
