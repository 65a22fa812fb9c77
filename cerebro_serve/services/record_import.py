"""Bulk import of records: JSON Lines of HrFlow objects, or a folder of resumes parsed on the way, stored
and indexed in batches the encoder embeds together.

JSON Lines go through a pipeline: worker processes compute features and view texts a few batches ahead
(`PreparationPool`), one thread hands each batch to the encoder while the previous batch is committed,
and batches are committed in file order, one transaction each. Progress is reported as batches commit.

Resumable without duplicates: a record's reference is its idempotency key. A record that has none is given
one that names where it came from (`<file name>:<line>`, or the resume's path inside the folder), so the
same import run again after an interruption skips what had landed and stores the rest."""

from __future__ import annotations

import functools
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import msgspec
import numpy as np

from cerebro_serve.objects import PROFILE, Record, RecordKind
from cerebro_serve.record_features import RecordFeatures
from cerebro_serve.scoring.preparation import PreparationPool, Prepared
from cerebro_serve.services.errors import NotFound, QueueFull, ServiceError
from cerebro_serve.services.parsing import ParsingService, ProfileFileRequest
from cerebro_serve.services.queries import RecordLookup
from cerebro_serve.services.records import RecordService

BATCH = 64  # records embedded together and committed in one transaction
AHEAD = 2  # batches each preparation worker may have ready before the encoder takes them
BUSY_RETRY_SECONDS = 1.0  # the encoder's queue was full: wait, then send the batch again
Advance = Callable[[int], None]
Batch = list[tuple[str, Record]]  # (where in the file, the record)
Described = list[tuple[str, np.ndarray, RecordFeatures]]
T = TypeVar("T")


@dataclass
class ImportSummary:
    """Records stored, records an earlier run had stored already, and refusals with where and why."""

    stored: int = 0
    already: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)


class RecordImporter:
    def __init__(self, records: RecordService, parsing: ParsingService, workers: int = 0) -> None:
        """`workers`: processes preparing records ahead of the encoder (0: this process prepares them)."""
        self.records = records
        self.parsing = parsing
        self.workers = workers

    def import_lines(self, kind: RecordKind, pool_key: str, path: Path, advance: Advance) -> ImportSummary:
        """Each line one profile or job, as the indexing API's body takes it (a pool key in it is ignored)."""
        self.records.pools.require(kind, pool_key)
        summary = ImportSummary()
        preparation = PreparationPool(self.records.preparer, self.workers)
        encoding = ThreadPoolExecutor(1, thread_name_prefix="cerebro-import-encode")
        prepared: deque[tuple[Batch, Future[list[Prepared]]]] = deque()
        described: deque[tuple[Batch, Future[Described]]] = deque()

        def flow(prepared_kept: int, described_kept: int) -> None:
            """Hand prepared batches to the encoder and commit embedded ones, oldest first, so that no more
            than the given numbers wait at each stage."""
            while prepared or described:
                if len(described) > described_kept:
                    self._store(kind, pool_key, *described.popleft(), summary, advance)
                elif len(prepared) > prepared_kept:
                    batch, ready = prepared.popleft()
                    described.append((batch, encoding.submit(self._describe, batch, ready)))
                else:
                    return

        try:
            for batch in self._batches(kind, pool_key, path, summary, advance):
                prepared.append((batch, preparation.submit([record for _, record in batch])))
                flow(max(1, self.workers) * AHEAD, 1)
            flow(0, 0)
        finally:  # an interruption stores nothing more: batches not committed are dropped
            encoding.shutdown(wait=True, cancel_futures=True)
            preparation.close()
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
                    patiently(functools.partial(self.parsing.parse_profile_file, request))
                    summary.stored += 1
                except ServiceError as error:
                    summary.refused.append((reference, error.detail))
            advance(1)
        return summary

    def _batches(
        self, kind: RecordKind, pool_key: str, path: Path, summary: ImportSummary, advance: Advance
    ) -> Iterator[Batch]:
        """The file's new records in batches; those an earlier run stored (asked a batch at a time), and
        references repeated in the file, are counted or refused here."""
        read: Batch = []
        references: set[str] = set()
        for where, record in self._decoded(kind, path, summary, advance):
            if record.reference in references:
                summary.refused.append((where, f"reference {record.reference} is given twice in this file"))
                advance(1)
                continue
            if record.reference is not None:
                references.add(record.reference)
            read.append((where, record))
            if len(read) >= BATCH:
                if batch := self._new(kind, pool_key, read, summary, advance):
                    yield batch
                read = []
        if read and (batch := self._new(kind, pool_key, read, summary, advance)):
            yield batch

    def _new(self, kind: RecordKind, pool_key: str, read: Batch, summary: ImportSummary, advance: Advance) -> Batch:
        """The records of `read` an earlier run has not stored."""
        wanted = [record.reference for _, record in read if record.reference is not None]
        _, landed = self.records.store.records.taken(kind.name, pool_key, [], wanted)
        summary.already += len(landed)
        advance(len(landed))
        return [(where, record) for where, record in read if record.reference not in landed]

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

    def _describe(self, batch: Batch, ready: Future[list[Prepared]]) -> Described:
        """On the encoding thread: the batch's vectors, once its preparation is done."""
        prepared = ready.result()
        return patiently(functools.partial(self.records.describe, [record for _, record in batch], prepared))

    def _store(
        self,
        kind: RecordKind,
        pool_key: str,
        batch: Batch,
        described: Future[Described],
        summary: ImportSummary,
        advance: Advance,
    ) -> None:
        """Commit the batch at once; when one record is refused, nothing of the batch is stored, and each
        record is indexed alone to say which."""
        records = [record for _, record in batch]
        try:
            self.records.check_new(kind, pool_key, records)
            self.records.add(kind, pool_key, records, described.result())
            summary.stored += len(batch)
        except ServiceError:
            for where, record in batch:
                try:
                    patiently(functools.partial(self.records.index, kind, pool_key, [record]))
                    summary.stored += 1
                except ServiceError as error:
                    summary.refused.append((where, error.detail))
        advance(len(batch))


def patiently(call: Callable[[], T]) -> T:
    """A bulk call the encoder may refuse while its queue is full (another import, a training, a busy
    server): wait it out, since no client is waiting on it with a deadline."""
    while True:
        try:
            return call()
        except QueueFull:
            time.sleep(BUSY_RETRY_SECONDS)
