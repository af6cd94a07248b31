"""pprof's profile.proto (github.com/google/pprof, proto/profile.proto), gzipped, as
`go tool pprof`, Pyroscope and Grafana read it.

Sample types follow Go's heap profiles, so that tools that know those show them as memory:
alloc_objects/alloc_space (every allocation made) and inuse_objects/inuse_space (held at the
peak, or at the end for leaks); the temporary view has only the alloc pair. Values are already
the estimates of the true amounts in sampled mode ("unsampled form", as profile.proto asks), and
`period` is the sampling interval in bytes.
"""

from __future__ import annotations

import gzip

from memhound.export._profile import Profile
from memhound.export._protobuf import (
    LENGTH_DELIMITED,
    VarintCache,
    bytes_field,
    int_field,
    key,
    packed_field,
    string_field,
    varint,
)

# Field numbers of profile.proto.
_PROFILE_SAMPLE_TYPE, _PROFILE_SAMPLE, _PROFILE_MAPPING, _PROFILE_LOCATION = 1, 2, 3, 4
_PROFILE_FUNCTION, _PROFILE_STRING_TABLE, _PROFILE_TIME, _PROFILE_DURATION = 5, 6, 9, 10
_PROFILE_PERIOD_TYPE, _PROFILE_PERIOD, _PROFILE_COMMENT, _PROFILE_DEFAULT_TYPE = 11, 12, 13, 14
_SAMPLE_LOCATION, _SAMPLE_VALUE, _SAMPLE_LABEL = 1, 2, 3
_LABEL_KEY, _LABEL_STR = 1, 2
_MAPPING_ID, _MAPPING_FILENAME = 1, 5
_MAPPING_HAS_FUNCTIONS, _MAPPING_HAS_FILENAMES, _MAPPING_HAS_LINES = 7, 8, 9
_LOCATION_ID, _LOCATION_MAPPING, _LOCATION_LINE = 1, 2, 4
_LINE_FUNCTION, _LINE_LINE = 1, 2
_FUNCTION_ID, _FUNCTION_NAME, _FUNCTION_SYSTEM_NAME, _FUNCTION_FILE, _FUNCTION_START = 1, 2, 3, 4, 5

# Per measure of a view (see _profile.VIEW_MEASURES): its (count, bytes) sample type names.
_SAMPLE_TYPES = {
    "peak": ("inuse_objects", "inuse_space"),
    "leaks": ("inuse_objects", "inuse_space"),
    "temporary": ("alloc_objects", "alloc_space"),
    "allocated": ("alloc_objects", "alloc_space"),
}


class _Strings:
    """profile.proto's string table: index 0 is the empty string."""

    def __init__(self) -> None:
        self.table: list[str] = [""]
        self._index: dict[str, int] = {"": 0}

    def __call__(self, text: str) -> int:
        index = self._index.get(text)
        if index is None:
            index = self._index[text] = len(self.table)
            self.table.append(text)
        return index


def pprof_bytes(
    profile: Profile,
    *,
    program: str,
    start_time_ns: int,
    duration_ns: int,
    sample_bytes: int,
) -> bytes:
    """The gzipped profile. Measures are written last-first, so that the view's own pair comes
    last (the type tools pick when default_sample_type is not read)."""
    strings = _Strings()
    order = list(reversed(range(len(profile.measures))))
    types: list[tuple[str, str]] = []
    for measure in order:
        count_name, bytes_name = _SAMPLE_TYPES[profile.measures[measure]]
        types += [(count_name, "count"), (bytes_name, "bytes")]
    header = b"".join(_value_type(_PROFILE_SAMPLE_TYPE, strings, *t) for t in types)
    functions, locations = _functions_and_locations(profile, strings)
    samples = _samples(profile, order, strings)
    comment = strings(f"memhound {profile.view} view of {program}")
    trailer = b"".join(
        (
            int_field(_PROFILE_TIME, start_time_ns),
            int_field(_PROFILE_DURATION, duration_ns),
            _value_type(_PROFILE_PERIOD_TYPE, strings, "space", "bytes"),
            int_field(_PROFILE_PERIOD, sample_bytes or 1),
            packed_field(_PROFILE_COMMENT, [varint(comment)]),  # repeated: packed in proto3
            int_field(_PROFILE_DEFAULT_TYPE, strings(types[-1][0])),
        )
    )
    mapping = bytes_field(_PROFILE_MAPPING, _mapping(strings(program)))
    table = b"".join(string_field(_PROFILE_STRING_TABLE, text) for text in strings.table)
    message = header + samples + mapping + locations + functions + table + trailer
    return gzip.compress(message, compresslevel=6, mtime=0)


def _value_type(field: int, strings: _Strings, kind: str, unit: str) -> bytes:
    return bytes_field(field, int_field(1, strings(kind)) + int_field(2, strings(unit)))


def _mapping(filename: int) -> bytes:
    # One mapping for the whole program, with every symbol already resolved: pprof then
    # tries no symbolization of its own.
    return b"".join(
        (
            int_field(_MAPPING_ID, 1),
            int_field(_MAPPING_FILENAME, filename),
            int_field(_MAPPING_HAS_FUNCTIONS, 1),
            int_field(_MAPPING_HAS_FILENAMES, 1),
            int_field(_MAPPING_HAS_LINES, 1),
        )
    )


def _functions_and_locations(profile: Profile, strings: _Strings) -> tuple[bytes, bytes]:
    """A Location per distinct frame (id = its index + 1), a Function per (name, file, first
    line)."""
    function_ids: dict[tuple[str, str, int], int] = {}
    functions: list[bytes] = []
    locations: list[bytes] = []
    for index, frame in enumerate(profile.frames):
        identity = (frame.function, frame.file, frame.function_line)
        function_id = function_ids.get(identity)
        if function_id is None:
            function_id = function_ids[identity] = len(function_ids) + 1
            name = strings(frame.function)
            function = b"".join(
                (
                    int_field(_FUNCTION_ID, function_id),
                    int_field(_FUNCTION_NAME, name),
                    int_field(_FUNCTION_SYSTEM_NAME, name),
                    int_field(_FUNCTION_FILE, strings(frame.file)),
                    int_field(_FUNCTION_START, frame.function_line),
                )
            )
            functions.append(bytes_field(_PROFILE_FUNCTION, function))
        line = int_field(_LINE_FUNCTION, function_id) + int_field(_LINE_LINE, frame.line)
        location = (
            int_field(_LOCATION_ID, index + 1)
            + int_field(_LOCATION_MAPPING, 1)
            + bytes_field(_LOCATION_LINE, line)
        )
        locations.append(bytes_field(_PROFILE_LOCATION, location))
    return b"".join(functions), b"".join(locations)


def _samples(profile: Profile, order: list[int], strings: _Strings) -> bytes:
    """Each stack's Sample. The hot loop of a large export, so its pieces are made once: the
    varints (through a cache), the fields' keys, and the label of each allocator."""
    encoded = VarintCache()
    sample_key, locations_key, values_key = (
        key(field, LENGTH_DELIMITED) for field in (_PROFILE_SAMPLE, _SAMPLE_LOCATION, _SAMPLE_VALUE)
    )
    allocator_key = strings("allocator")
    labels: dict[str, bytes] = {}
    out: list[bytes] = []
    for frames, allocator, amounts, counts in profile.stacks:
        label = labels.get(allocator)
        if label is None:
            pair = int_field(_LABEL_KEY, allocator_key) + int_field(_LABEL_STR, strings(allocator))
            label = labels[allocator] = bytes_field(_SAMPLE_LABEL, pair)
        locations = b"".join([encoded[index + 1] for index in frames])
        values = b"".join(
            [encoded[amount] for measure in order for amount in (counts[measure], amounts[measure])]
        )
        sample = b"".join(
            (locations_key, encoded[len(locations)], locations)
            + (values_key, encoded[len(values)], values, label)
        )
        out += (sample_key, encoded[len(sample)], sample)
    return b"".join(out)
