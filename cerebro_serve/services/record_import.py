"""Bulk import of records: JSON Lines of HrFlow objects, or a folder of resumes parsed on the way, stored
and indexed in batches the encoder embeds together.

Resumable without duplicates: a record's reference is its idempotency key. A record that has none is given
one that names where it came from (`<file name>:<line>`, or the resume's path inside the folder), so the
same import run again after an interruption skips what had landed and stores the rest."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from cerebro_serve.objects import PROFILE, Record, RecordKind
from cerebro_serve.services.errors import NotFound, QueueFull, ServiceError
from cerebro_serve.services.parsing import ParsingService, ProfileFileRequest
from cerebro_serve.services.queries import RecordLookup
from cerebro_serve.services.records import RecordService

BATCH = 32  # records embedded together
BUSY_RETRY_SECONDS = 1.0  # the encoder's queue was full: wait, then send the batch again
Advance = Callable[[int], None]


@dataclass
class ImportSummary:
    """Records stored, records an earlier run had stored already, and refusals with where and why."""

    stored: int = 0
    already: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)


class RecordImporter:
    def __init__(self, records: RecordService, parsing: ParsingService) -> None:
        self.records = records
        self.parsing = parsing

    def import_lines(self, kind: RecordKind, pool_key: str, path: Path, advance: Advance) -> ImportSummary:
        """Each line one profile or job, as the indexing API's body takes it (a pool key in it is ignored)."""
        self.records.pools.require(kind, pool_key)
        summary, batch = ImportSummary(), list[tuple[str, Record]]()
        for where, record in self._decoded(kind, path, summary, advance):
            if self._landed(kind, pool_key, record.reference):
                summary.already += 1
                advance(1)
                continue
            if any(other.reference == record.reference for _, other in batch):
                summary.refused.append((where, f"reference {record.reference} is given twice in this batch"))
                advance(1)
                continue
            batch.append((where, record))
            if len(batch) >= BATCH:
                self._store(kind, pool_key, batch, summary, advance)
                batch = []
        self._store(kind, pool_key, batch, summary, advance)
        return summary

    def import_resumes(self, source_key: str, folder: Path, advance: Advance) -> ImportSummary:
        """Every file below `folder`, parsed as a resume into the source; a file that cannot be read as one
        is refused with the parser's reason."""
        self.records.pools.require(PROFILE, source_key)
        summary = ImportSummary()
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            reference = path.relative_to(folder).as_posix()
            if self._landed(PROFILE, source_key, reference):
                summary.already += 1
            else:
                request = ProfileFileRequest(
                    source_key=source_key, reference=reference, data=path.read_bytes(), filename=path.name
                )
                try:
                    _patiently(functools.partial(self.parsing.parse_profile_file, request))
                    summary.stored += 1
                except ServiceError as error:
                    summary.refused.append((reference, error.detail))
            advance(1)
        return summary

    def _decoded(
        self, kind: RecordKind, path: Path, summary: ImportSummary, advance: Advance
    ) -> Iterator[tuple[str, Record]]:
        with path.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                where = f"{path.name}:{number}"
                try:
                    fields = msgspec.json.decode(line)
                    if not isinstance(fields, dict):
                        raise ValueError("a line must be one JSON object")
                    for pool_field in ("source_key", "board_key"):
                        fields.pop(pool_field, None)
                    fields.setdefault("reference", where)
                    yield where, msgspec.convert(fields, kind.type, strict=True)
                except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as error:
                    summary.refused.append((where, str(error).replace("`$.", "`")))
                    advance(1)

    def _landed(self, kind: RecordKind, pool_key: str, reference: str | None) -> bool:
        if reference is None:
            return False
        try:
            self.records.find(kind, pool_key, RecordLookup(reference=reference))
        except NotFound:
            return False
        return True

    def _store(
        self, kind: RecordKind, pool_key: str, batch: list[tuple[str, Record]], summary: ImportSummary, advance: Advance
    ) -> None:
        """The batch embedded together; when one record is refused, each is stored alone to say which."""
        if not batch:
            return
        try:
            _patiently(functools.partial(self.records.index, kind, pool_key, [record for _, record in batch]))
            summary.stored += len(batch)
        except ServiceError:  # records before the refused one were stored; the rest go one by one
            for where, record in batch:
                if self._landed(kind, pool_key, record.reference):
                    summary.stored += 1
                    continue
                try:
                    _patiently(functools.partial(self.records.index, kind, pool_key, [record]))
                    summary.stored += 1
                except ServiceError as error:
                    summary.refused.append((where, error.detail))
        advance(len(batch))


def _patiently(call: Callable[[], object]) -> None:
    """A call the encoder may refuse while its queue is full (another import, a busy server): wait it out."""
    while True:
        try:
            call()
            return
        except QueueFull:
            time.sleep(BUSY_RETRY_SECONDS)
