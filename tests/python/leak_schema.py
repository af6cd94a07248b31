"""The keys of one leak in `memhound leaks --json` (docs/leaks-json.md), pinned here as a
literal so that the CLI and model tests catch any drift of the schema."""

LEAK_KEYS = {
    "kinds",
    "type",
    "count_per_iteration",
    "bytes_per_iteration",
    "allocated_at",
    "retained_by",
    "path",
    "resource",
}
