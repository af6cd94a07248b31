// memhound._core capture bindings: read a capture file and query its analysis. Thin: the GIL
// is released around reading and every replay; results become plain dicts, lists and ints.
#include <nanobind/nanobind.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <nanobind/stl/optional.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <map>
#include <stdexcept>
#include <utility>

#include "bindings/bindings.h"
#include "core/analysis/capture_analysis.h"
#include "core/format/reader.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace memhound::bindings {
namespace {

using analysis::CaptureAnalysis;
using LiveTuple = std::tuple<std::uint64_t, std::uint64_t, std::uint64_t, std::uint32_t>;

// nanobind's dict has no keyword constructor.
nb::dict dictOf(std::initializer_list<std::pair<const char*, nb::object>> items) {
    nb::dict out;
    for (const auto& [key, value] : items) out[key] = value;
    return out;
}

// Sampled-mode amounts are estimates; Python sees whole bytes and allocations.
std::int64_t whole(double value) { return std::llround(value); }

analysis::View viewNamed(const std::string& name) {
    if (name == "peak") return analysis::View::Peak;
    if (name == "leaks") return analysis::View::Leaks;
    if (name == "temporary") return analysis::View::Temporary;
    if (name == "allocated") return analysis::View::Allocated;
    throw std::invalid_argument("unknown view '" + name + "' (expected peak, leaks, temporary or allocated)");
}

analysis::GroupBy groupingNamed(const std::string& name) {
    if (name == "line") return analysis::GroupBy::Line;
    if (name == "function") return analysis::GroupBy::Function;
    if (name == "stack") return analysis::GroupBy::Stack;
    throw std::invalid_argument("unknown grouping '" + name + "' (expected line, function or stack)");
}

nb::list frameList(const std::vector<analysis::Frame>& frames) {
    nb::list out;
    for (const analysis::Frame& frame : frames) {
        nb::object line = frame.line > 0 ? nb::object(nb::int_(frame.line)) : nb::none();
        out.append(dictOf({{"file", nb::cast(frame.file)},
                           {"function", nb::cast(frame.function)},
                           {"line", nb::cast(line)}}));
    }
    return out;
}

nb::list nativeFrameList(const std::vector<analysis::NativeFrame>& frames) {
    nb::list out;
    for (const analysis::NativeFrame& frame : frames) {
        nb::object line = frame.line > 0 ? nb::object(nb::int_(frame.line)) : nb::none();
        out.append(dictOf({{"address", nb::cast(frame.address)},
                           {"object", nb::cast(frame.object)},
                           {"offset", nb::cast(frame.offset)},
                           {"function", nb::cast(frame.function)},
                           {"file", nb::cast(frame.file)},
                           {"line", nb::cast(line)}}));
    }
    return out;
}

// A site's allocator as reports name it: "pymem" for every PyMem domain (analysis::siteAllocator).
const char* allocatorName(common::Allocator allocator) {
    switch (allocator) {
        case common::Allocator::Malloc: return "malloc";
        case common::Allocator::Mmap: return "mmap";
        case common::Allocator::Tracked: return "tracked";
        default: return "pymem";
    }
}

nb::list rowList(const std::vector<analysis::SiteRow>& rows) {
    nb::list out;
    for (const analysis::SiteRow& row : rows)
        out.append(dictOf({{"bytes", nb::cast(whole(row.amount.bytes))},
                           {"count", nb::cast(whole(row.amount.count))},
                           {"stack", nb::cast(row.stack.value)},
                           {"allocator", nb::cast(allocatorName(row.allocator))},
                           {"frames", nb::cast(frameList(row.frames))},
                           {"native_frames", nb::cast(nativeFrameList(row.nativeFrames))}}));
    return out;
}

nb::dict headerDict(const format::Header& header) {
    return dictOf({{"version", nb::cast(header.version)},
                   {"python_version", nb::cast(header.pythonVersion)},
                   {"pid", nb::cast(header.pid)},
                   {"argv", nb::cast(header.argv)},
                   {"start_time_ns", nb::cast(header.startTimeNs)},
                   {"mode", nb::cast(header.mode == format::Mode::Sampled ? "sampled" : "full")},
                   {"sample_bytes", nb::cast(header.sampleBytes)},
                   {"native", nb::cast(header.native)},
                   {"native_frames", nb::cast(header.nativeFrames)}});
}

nb::list histogramList(const std::vector<analysis::SizeBucket>& buckets) {
    nb::list out;
    for (const analysis::SizeBucket& bucket : buckets)
        out.append(dictOf({{"low", nb::cast(bucket.low)},
                           {"high", nb::cast(bucket.high)},
                           {"count", nb::cast(whole(bucket.amount.count))},
                           {"bytes", nb::cast(whole(bucket.amount.bytes))}}));
    return out;
}

nb::dict statsDict(const CaptureAnalysis& capture) {
    analysis::Stats stats;
    {
        nb::gil_scoped_release release;
        stats = capture.stats();
    }
    nb::object duration =
        stats.durationSeconds > 0 ? nb::object(nb::float_(stats.durationSeconds)) : nb::none();
    return dictOf({{"events", nb::cast(stats.events)},
                   {"recorded_allocations", nb::cast(stats.recordedAllocations)},
                   {"recorded_frees", nb::cast(stats.recordedFrees)},
                   {"allocations", nb::cast(whole(stats.allocated.count))},
                   {"allocated_bytes", nb::cast(whole(stats.allocated.bytes))},
                   {"peak_bytes", nb::cast(whole(stats.peakBytes))},
                   {"peak_seq", nb::cast(stats.peakSeq)},
                   {"live_bytes", nb::cast(whole(stats.liveAtEnd.bytes))},
                   {"live_allocations", nb::cast(whole(stats.liveAtEnd.count))},
                   {"duration_s", duration},
                   {"threads", nb::cast(stats.threads)},
                   {"size_histogram", histogramList(stats.sizeHistogram)},
                   {"top_sites", rowList(stats.topSitesByCount)}});
}

nb::list timelineList(const CaptureAnalysis& capture) {
    nb::list out;
    for (const analysis::TimelinePoint& point : capture.timeline())
        out.append(dictOf({{"time_s", nb::cast(point.timeSeconds)},
                           {"rss_bytes", nb::cast(point.rssBytes)},
                           {"traced_bytes", nb::cast(whole(point.tracedBytes))},
                           {"seq", nb::cast(point.seq)}}));
    return out;
}

nb::list growthList(const CaptureAnalysis& capture, const std::vector<std::uint64_t>& checkpoints) {
    std::vector<analysis::SiteGrowth> growth;
    {
        nb::gil_scoped_release release;
        growth = capture.growth(checkpoints);
    }
    nb::list out;
    for (const analysis::SiteGrowth& site : growth)
        out.append(dictOf({{"stack", nb::cast(site.stack.value)},
                           {"allocator", nb::cast(allocatorName(site.allocator))},
                           {"counts", nb::cast(site.counts)},
                           {"bytes", nb::cast(site.bytes)}}));
    return out;
}

nb::list threadList(const format::Capture& capture) {
    nb::list out;
    for (const format::ThreadRecord& thread : capture.threads)
        out.append(dictOf({{"id", nb::cast(thread.id.value)},
                           {"native_id", nb::cast(thread.nativeId)},
                           {"name", nb::cast(thread.name)}}));
    return out;
}

// A line on stderr for reads that take more than a second, when stderr is a terminal. Written
// with write(2): the GIL is released while reading.
class TerminalProgress final : public format::StreamProgress {
public:
    TerminalProgress() : m_start(Clock::now()), m_enabled(::isatty(2) == 1) {}
    ~TerminalProgress() override {
        if (m_shown) show("\r\033[K");
    }

    void advanced(std::uint64_t eventsRead, std::uint64_t eventsTotal) override {
        if (!m_enabled) return;
        double seconds = std::chrono::duration<double>(Clock::now() - m_start).count();
        if (seconds < 1.0 || seconds - m_lastShown < 0.2) return;
        m_lastShown = seconds;
        char line[160];
        int percent = eventsTotal ? static_cast<int>(100.0 * static_cast<double>(eventsRead) /
                                                     static_cast<double>(eventsTotal))
                                  : 0;
        std::snprintf(line, sizeof line, "\rmemhound: read %.1fM of %.1fM events (%d%%), %.1fM events/s\033[K",
                      static_cast<double>(eventsRead) / 1e6, static_cast<double>(eventsTotal) / 1e6, percent,
                      static_cast<double>(eventsRead) / 1e6 / seconds);
        show(line);
        m_shown = true;
    }

private:
    using Clock = std::chrono::steady_clock;
    static void show(const char* text) {
        std::size_t left = std::strlen(text);
        while (left > 0) {
            ssize_t written = ::write(2, text, left);
            if (written <= 0) return;  // a closed or full stderr never stops the read
            text += written;
            left -= static_cast<std::size_t>(written);
        }
    }
    Clock::time_point m_start;
    bool m_enabled;
    bool m_shown = false;
    double m_lastShown = 0;
};

std::unique_ptr<CaptureAnalysis> readCapture(const std::string& path, std::optional<std::uint64_t> fromSeq,
                                             std::optional<std::uint64_t> untilSeq,
                                             std::optional<double> fromSeconds,
                                             std::optional<double> untilSeconds, bool progress) {
    analysis::Window window{fromSeq, untilSeq, fromSeconds, untilSeconds};
    nb::gil_scoped_release release;
    TerminalProgress terminal;
    return std::make_unique<CaptureAnalysis>(format::openFileSource(path), window,
                                             progress ? &terminal : nullptr);
}

analysis::SiteSummary siteSummary(const CaptureAnalysis& capture, const std::string& view,
                                  const std::string& by, std::size_t limit) {
    analysis::View chosenView = viewNamed(view);
    analysis::GroupBy grouping = groupingNamed(by);
    nb::gil_scoped_release release;
    return capture.sites(chosenView, grouping, limit);
}

nb::list sites(const CaptureAnalysis& capture, const std::string& view, const std::string& by,
               std::size_t limit) {
    return rowList(siteSummary(capture, view, by, limit).rows);
}

nb::dict summaryDict(const CaptureAnalysis& capture, const std::string& view, const std::string& by,
                     std::size_t limit) {
    analysis::SiteSummary summary = siteSummary(capture, view, by, limit);
    return dictOf({{"total_bytes", nb::cast(whole(summary.total.bytes))},
                   {"total_count", nb::cast(whole(summary.total.count))},
                   {"site_count", nb::cast(summary.siteCount)},
                   {"sites", rowList(summary.rows)}});
}

// Rows without frames: a caller resolves each stack once (stack_frames) across the summaries.
nb::list liveAtList(const CaptureAnalysis& capture, const std::vector<std::uint64_t>& checkpoints,
                    std::size_t limit) {
    std::vector<analysis::SiteSummary> summaries;
    {
        nb::gil_scoped_release release;
        summaries = capture.liveAt(checkpoints, limit);
    }
    nb::list out;
    for (const analysis::SiteSummary& summary : summaries) {
        nb::list rows;
        for (const analysis::SiteRow& row : summary.rows)
            rows.append(dictOf({{"bytes", nb::cast(whole(row.amount.bytes))},
                                {"count", nb::cast(whole(row.amount.count))},
                                {"stack", nb::cast(row.stack.value)},
                                {"allocator", nb::cast(allocatorName(row.allocator))}}));
        out.append(dictOf({{"total_bytes", nb::cast(whole(summary.total.bytes))},
                           {"total_count", nb::cast(whole(summary.total.count))},
                           {"site_count", nb::cast(summary.siteCount)},
                           {"sites", rows}}));
    }
    return out;
}

// Keeps the cyclic collector from running while a result of many container objects is built:
// each allocation of one would otherwise start a collection that traverses all built so far.
class GcPause {
public:
    GcPause() : m_wasEnabled(PyGC_Disable() == 1) {}
    ~GcPause() {
        if (m_wasEnabled) PyGC_Enable();
    }
    GcPause(const GcPause&) = delete;
    GcPause& operator=(const GcPause&) = delete;

private:
    bool m_wasEnabled;
};

// The pseudo frames' names, from {"": no Python frame, allocator name: name}.
analysis::PseudoFrames pseudoFramesOf(const std::map<std::string, std::string>& names) {
    analysis::PseudoFrames pseudo;
    for (const auto& [allocator, name] : names) {
        if (allocator.empty()) pseudo.noPythonFrame = name;
        for (std::size_t i = 0; i < pseudo.byAllocator.size(); ++i)
            if (allocator == allocatorName(static_cast<common::Allocator>(i))) pseudo.byAllocator[i] = name;
    }
    return pseudo;
}

// (frames, stacks): frames [(function, file, line, function_line)], stacks [(frame indices
// innermost first, allocator, (bytes per view), (count per view))]; amounts in whole units.
nb::tuple profileTuple(const CaptureAnalysis& capture, const std::vector<std::string>& viewNames,
                       const nb::callable& roleOfFile, const std::map<std::string, std::string>& pseudoNames) {
    std::vector<analysis::View> views;
    for (const std::string& name : viewNames) views.push_back(viewNamed(name));
    analysis::ProfileTable table;
    {
        nb::gil_scoped_release release;
        table = capture.profile(views);
    }
    std::vector<analysis::FrameRole> roles;
    std::map<std::string, analysis::FrameRole> roleOf;  // the few distinct files, asked once each
    for (const analysis::ProfileFrame& frame : table.frames) {
        auto [it, inserted] = roleOf.try_emplace(frame.file);
        if (inserted) it->second = static_cast<analysis::FrameRole>(nb::cast<int>(roleOfFile(frame.file)));
        roles.push_back(it->second);
    }
    {
        nb::gil_scoped_release release;
        table = analysis::withoutLauncherFrames(std::move(table), roles, pseudoFramesOf(pseudoNames));
    }
    GcPause pause;  // a million tuples, none in a cycle: no collection needed meanwhile
    nb::list frames;
    for (const analysis::ProfileFrame& frame : table.frames)
        frames.append(nb::make_tuple(frame.function, frame.file, frame.line, frame.functionLine));
    nb::list stacks;
    for (const analysis::ProfileStack& stack : table.stacks) {
        nb::tuple indices = nb::steal<nb::tuple>(PyTuple_New(static_cast<Py_ssize_t>(stack.frames.size())));
        for (std::size_t i = 0; i < stack.frames.size(); ++i)
            PyTuple_SET_ITEM(indices.ptr(), i, PyLong_FromUnsignedLong(stack.frames[i]));
        nb::tuple bytes = nb::steal<nb::tuple>(PyTuple_New(static_cast<Py_ssize_t>(stack.amounts.size())));
        nb::tuple counts = nb::steal<nb::tuple>(PyTuple_New(static_cast<Py_ssize_t>(stack.amounts.size())));
        for (std::size_t i = 0; i < stack.amounts.size(); ++i) {
            PyTuple_SET_ITEM(bytes.ptr(), i, PyLong_FromLongLong(whole(stack.amounts[i].bytes)));
            PyTuple_SET_ITEM(counts.ptr(), i, PyLong_FromLongLong(whole(stack.amounts[i].count)));
        }
        stacks.append(nb::make_tuple(indices, allocatorName(stack.allocator), bytes, counts));
    }
    return nb::make_tuple(frames, stacks);
}

std::vector<LiveTuple> liveAllocations(const CaptureAnalysis& capture) {
    std::vector<analysis::LiveAllocation> live;
    {
        nb::gil_scoped_release release;
        live = capture.liveAllocations();
    }
    std::vector<LiveTuple> out;
    out.reserve(live.size());
    for (const analysis::LiveAllocation& allocation : live)
        out.emplace_back(allocation.address, allocation.size, allocation.seq, allocation.stack.value);
    return out;
}

std::int64_t liveBytes(const CaptureAnalysis& capture) {
    nb::gil_scoped_release release;
    return whole(capture.liveBytes());
}

}  // namespace

void bindAnalysis(nb::module_& m) {
    nb::class_<CaptureAnalysis>(m, "Capture", "A capture file, read and analysed (see read_capture).")
        .def_prop_ro("header", [](const CaptureAnalysis& c) { return headerDict(c.capture().header); })
        .def_prop_ro(
            "complete", [](const CaptureAnalysis& c) { return c.capture().complete; },
            "False when the capture ends without its trailer (the process was killed).")
        .def_prop_ro(
            "truncated_at",
            [](const CaptureAnalysis& c) -> nb::object {
                const auto& at = c.capture().truncatedAt;
                return at ? nb::object(nb::int_(*at)) : nb::none();
            },
            "The byte offset where the readable data ends, when the capture is not complete.")
        .def_prop_ro(
            "event_count", [](const CaptureAnalysis& c) { return c.eventCount(); },
            "Events read: those in the window when one was given.")
        .def_prop_ro(
            "file_event_count", [](const CaptureAnalysis& c) { return c.fileEventCount(); },
            "Events in the whole file.")
        .def_prop_ro(
            "window",
            [](const CaptureAnalysis& c) -> nb::object {
                const format::SeqWindow& window = c.window();
                if (window.whole()) return nb::none();
                nb::object until = window.until == ~std::uint64_t{0} ? nb::none() : nb::object(nb::int_(window.until));
                return nb::make_tuple(window.from, until);
            },
            "(from_seq, until_seq) of the events read, None for the whole capture.")
        .def_prop_ro("threads", [](const CaptureAnalysis& c) { return threadList(c.capture()); })
        .def("sites", &sites, "view"_a, "by"_a = "line", "limit"_a = 0,
             "Allocation sites of a view ('peak', 'leaks' or 'temporary') grouped by 'line', 'function' or "
             "'stack': [{'bytes', 'count', 'stack', 'allocator', 'frames': [{'file', 'function', 'line'}] innermost "
             "first}], "
             "largest first (temporary: most allocations first); limit 0 = all.")
        .def("site_summary", &summaryDict, "view"_a, "by"_a = "line", "limit"_a = 0,
             "The same top rows as sites() with the totals over every site of the view: "
             "{'total_bytes', 'total_count', 'site_count', 'sites'}.")
        .def("stats", &statsDict, "Totals, peak, duration, size histogram and the top sites by count.")
        .def("timeline", &timelineList,
             "[{'time_s', 'rss_bytes', 'traced_bytes', 'seq'}] per RSS sample, taken before event seq.")
        .def("live_at", &liveAtList, "checkpoints"_a, "limit"_a = 0,
             "What was live just before each checkpoint seq (ascending), by whole stack, largest first: "
             "[{'total_bytes', 'total_count', 'site_count', 'sites': [{'bytes', 'count', 'stack', "
             "'allocator'}]}], limit rows each (0 = all); frames from stack_frames(). Streams the file again.")
        .def("live_bytes", &liveBytes, "Traced bytes live at the end of the capture.")
        .def_prop_ro(
            "peak_bytes", [](const CaptureAnalysis& c) { return whole(c.peakBytes()); },
            "Traced bytes live at the peak (in the window).")
        .def_prop_ro(
            "peak_time_s",
            [](const CaptureAnalysis& c) -> nb::object {
                std::optional<double> seconds = c.peakSeconds();
                return seconds ? nb::object(nb::float_(*seconds)) : nb::none();
            },
            "Seconds from the start to the peak (between the RSS samples around it), None without "
            "samples on both sides.")
        .def("profile", &profileTuple, "views"_a, "role_of_file"_a, "pseudo_frames"_a,
             "Every stack of the views ('peak', 'leaks', 'temporary', 'allocated'), for profile exports: "
             "(frames [(function, file, line, function_line)], stacks [(frame indices innermost first, "
             "allocator, (bytes per view), (count per view))]), largest first. role_of_file(file) is 0 "
             "for the program's frames, 1 for the launcher's, 2 for runpy's: each stack is cut at the "
             "launcher, as the reports cut it. pseudo_frames names the frame of a stack left with "
             "none ('') and of each allocator that is not Python's own ('malloc', ...).")
        .def("live_allocations", &liveAllocations,
             "[(address, size, seq, stack_id)] live at the end, by seq.")
        .def("site_growth", &growthList, "checkpoints"_a,
             "Live allocations per stack at each checkpoint seq (ascending), counting allocations made at or "
             "after "
             "the first: [{'stack', 'allocator', 'counts', 'bytes'}] for the stacks live at the last checkpoint.")
        .def(
            "stack_frames",
            [](const CaptureAnalysis& c, std::uint32_t stack) {
                return frameList(c.stackFrames(common::StackId(stack)));
            },
            "stack_id"_a, "[{'file', 'function', 'line'}] innermost first.")
        .def(
            "native_frames",
            [](const CaptureAnalysis& c, std::uint32_t stack) {
                return nativeFrameList(c.nativeFrames(common::StackId(stack)));
            },
            "stack_id"_a,
            "The C frames recorded under the Python frames (--native-frames), innermost first: "
            "[{'address', 'object', 'offset', 'function', 'file', 'line'}]; empty when none were recorded.");
    // How many later allocations of its thread a temporary allocation may see before its free.
    m.attr("TEMPORARY_WITHIN") = analysis::kTemporaryWithin;
    m.def("read_capture", &readCapture, "path"_a, "from_seq"_a = nb::none(), "until_seq"_a = nb::none(),
          "from_time"_a = nb::none(), "until_time"_a = nb::none(), "progress"_a = false,
          "Reads a capture file as a stream, keeping the live set and per-stack figures, not the events. "
          "from_/until_seq bound the events read by sequence number (from included), from_/until_time by "
          "seconds since the start (on the RSS sample at or after each). progress shows a line on stderr "
          "for reads over a second when it is a terminal. Raises CaptureError (naming the byte offset) "
          "when it is corrupt or of a newer format, CoreError when it cannot be read.");
}

}  // namespace memhound::bindings
