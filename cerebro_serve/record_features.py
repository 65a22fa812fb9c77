"""What the re-ranker reads of one record, computed once at indexing (scoring/features.py extracts it).

A ground-floor vocabulary like `objects`: the index stores these columns, scoring reads them, training
and services pass them along, so none of those layers has to import another to name them.
"""

from __future__ import annotations

import msgspec

UNKNOWN = -1.0  # a number not found in the record: the re-ranker treats it as neutral
# The version of what extraction computes. Features stored by an older one are computed again (from the
# stored record; its vectors stay) when their pool opens: 1 read language names in 43 languages, 2 cut
# unspaced scripts (Chinese, Japanese, Thai) into character pairs for the keyword terms.
FEATURES_SCHEMA = 2


class RecordFeatures(msgspec.Struct, array_like=True, frozen=True):
    """What the re-ranker reads of one record. For a job, `years` and `education` are requirements."""

    skill_ids: list[int]  # sorted, unique 32-bit concept hashes
    skill_weights: list[float]
    terms: list[int]  # sorted, unique 32-bit hashes of the text's content words (at most MAX_TERMS)
    term_freqs: list[int]  # occurrences of each term (capped at 255)
    length: int  # content words in the text
    years: float  # UNKNOWN when not found
    education: int  # 0 when not found
    languages: int  # bit set over LANGUAGE_BITS, 0 when not found
    lat: float | None
    lng: float | None
    title: str  # the text of the title view
    skills_text: str  # the text of the skills view
    refusals: int = 0  # REFUSES_* bits: uses the profile's owner or controller withheld consent for
    schema: int = 0  # FEATURES_SCHEMA of the extraction that computed them (0: before versions)

    def encode(self) -> bytes:
        return msgspec.msgpack.encode(self)

    @classmethod
    def decode(cls, data: bytes) -> RecordFeatures:
        return msgspec.msgpack.decode(data, type=cls)


def is_current_schema(encoded: bytes) -> bool:
    """Whether stored features come from this release's extraction, read without decoding them (a pool
    of millions checks each when it opens): encoded as a msgpack array of every field, the last one, the
    schema, a small integer and so the array's last byte."""
    return len(encoded) > 1 and encoded[0] == _HEADER and encoded[-1] == FEATURES_SCHEMA


_FIELDS = len(RecordFeatures.__struct_fields__)
assert _FIELDS < 16 and FEATURES_SCHEMA < 128, "a fixarray header and a positive fixint: one byte each"
_HEADER = 0x90 | _FIELDS


REFUSES_SCORING = 1
REFUSES_SEARCHING = 2
REFUSES_EMBEDDING = 4  # no vectors: never similar to anything, so never scored or ranked by relevance
