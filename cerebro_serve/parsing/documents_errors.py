"""The one error type of document reading, shared by the readers and the OCR step."""

from __future__ import annotations


class DocumentError(Exception):
    """Why a file cannot be read. `reason` is stable for clients; `message` explains it to a person."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # It crosses from the sandbox worker process back to the server.
        return DocumentError, (self.reason, self.message)
