"""Documents (PDF, DOCX, HTML, text) into clean text, and text into Profile and Job objects.

Built so far: `documents` (safe text extraction with limits and clear refusals) and `cleanup` (text
repair). Sections, entities, taxonomy matching and the parsing endpoints follow (issue #3).
"""

from cerebro_serve.parsing.cleanup import clean_text
from cerebro_serve.parsing.documents import Document, DocumentLimits, extract_document
from cerebro_serve.parsing.documents_errors import DocumentError

__all__ = ["Document", "DocumentError", "DocumentLimits", "clean_text", "extract_document"]
