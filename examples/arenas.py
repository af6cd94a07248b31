"""Why memory freed by Python often stays with the process: pymalloc's arenas, before and after.

Run: python examples/arenas.py
"""

import memhound

MiB = 2**20


def show(label: str) -> None:
    stats = memhound.pymalloc_stats()
    blocks = stats.size_class(64)
    print(
        f"{label:<18} {stats.arenas.current:>6} {stats.held_bytes / MiB:>6.1f} "
        f"{stats.allocated_bytes / MiB:>6.1f} {stats.fragmentation:>6.0%} "
        f"{blocks.used_blocks:>9,} {blocks.free_blocks:>9,} {stats.memory.rss_bytes / MiB:>6.1f}"
    )


print(
    f"{'':<18} {'arenas':>6} {'held':>6} {'live':>6} {'frag':>6} {'64B used':>9} {'64B free':>9} {'RSS':>6}"
)
show("start")
records = [b"%031d" % i for i in range(500_000)]  # bytes objects of 64 bytes each
show("500,000 allocated")
survivors = records[::100]  # keep 1 in 100
del records
show("99% freed")
del survivors
show("all freed")
