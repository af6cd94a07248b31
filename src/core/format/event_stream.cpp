#include "core/format/event_stream.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/format/batch_decoding.h"
#include "core/format/definitions.h"

namespace memhound::format {
namespace {

using EventBatch = std::vector<Event>;

struct Work {
    const BatchEntry* batch;
    bool events;  // false: outside the window or empty, only its definitions are needed
};

// Every batch in the order the merge opens them: by smallest seq, then by file position.
std::vector<Work> workOrder(const CaptureIndex& index, const SeqWindow& window) {
    std::vector<Work> work;
    work.reserve(index.batches.size());
    for (const BatchEntry& batch : index.batches) {
        bool inWindow = batch.count > 0 && batch.maxSeq >= window.from && batch.minSeq < window.until;
        work.push_back({&batch, inWindow});
    }
    std::stable_sort(work.begin(), work.end(),
                     [](const Work& a, const Work& b) { return a.batch->minSeq < b.batch->minSeq; });
    return work;
}

// The decoding thread and the bounded queue of decoded batches it fills, in work order.
class DecodePipeline {
public:
    static constexpr std::size_t kAhead = 4;

    DecodePipeline(const ByteSource& source, const std::vector<Work>& work)
        : m_source(source), m_work(work), m_thread([this] { run(); }) {}
    ~DecodePipeline() { finish(false); }

    // The next batch with events, in work order; rethrows the decoder's error.
    std::unique_ptr<EventBatch> pop() {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return !m_ready.empty() || m_error || m_done; });
        if (m_error) std::rethrow_exception(m_error);
        if (m_ready.empty()) return nullptr;
        std::unique_ptr<EventBatch> batch = std::move(m_ready.front());
        m_ready.pop_front();
        m_changed.notify_all();
        return batch;
    }

    void recycle(std::unique_ptr<EventBatch> batch) {
        batch->clear();
        std::lock_guard lock(m_mutex);
        m_pool.push_back(std::move(batch));
    }

    // Waits for the decoder; with `definitionsOnly` the batches it has not reached yet give their
    // definitions only. Rethrows the decoder's error.
    void finish(bool definitionsOnly) {
        {
            std::lock_guard lock(m_mutex);
            if (definitionsOnly) {
                m_eventsWanted = false;
            } else {
                m_abandoned = true;
            }
            m_changed.notify_all();
        }
        if (m_thread.joinable()) m_thread.join();
        if (m_error && definitionsOnly) std::rethrow_exception(m_error);
    }

    detail::DefinitionLog& definitions() { return m_log; }  // once finished

private:
    void run() {
        try {
            for (const Work& work : m_work) {
                if (!decode(work)) return;
            }
        } catch (...) {
            std::lock_guard lock(m_mutex);
            m_error = std::current_exception();
        }
        std::lock_guard lock(m_mutex);
        m_done = true;
        m_changed.notify_all();
    }

    // Returns false when the consumer has abandoned the stream.
    bool decode(const Work& work) {
        std::unique_ptr<EventBatch> events;
        {
            std::unique_lock lock(m_mutex);
            if (m_abandoned) return false;
            if (work.events && m_eventsWanted) events = takeFromPool();
        }
        detail::decodeBatchFrame(m_source, *work.batch, m_scratch, m_log, events.get());
        if (!events) return true;
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return m_ready.size() < kAhead || m_abandoned || !m_eventsWanted; });
        if (m_abandoned) return false;
        if (m_eventsWanted) m_ready.push_back(std::move(events));
        m_changed.notify_all();
        return true;
    }

    std::unique_ptr<EventBatch> takeFromPool() {  // under m_mutex
        if (m_pool.empty()) return std::make_unique<EventBatch>();
        std::unique_ptr<EventBatch> batch = std::move(m_pool.back());
        m_pool.pop_back();
        return batch;
    }

    const ByteSource& m_source;
    const std::vector<Work>& m_work;
    detail::BatchScratch m_scratch;
    detail::DefinitionLog m_log;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::deque<std::unique_ptr<EventBatch>> m_ready;
    std::vector<std::unique_ptr<EventBatch>> m_pool;
    std::exception_ptr m_error;
    bool m_done = false;
    bool m_eventsWanted = true;
    bool m_abandoned = false;
    std::thread m_thread;  // last: starts once everything above is built
};

struct OpenBatch {
    std::unique_ptr<EventBatch> events;
    std::size_t next = 0;
    std::uint64_t headSeq() const { return (*events)[next].seq; }
};

// The k-way merge of the open batches, handing out the longest run that stays in seq order.
class Merge {
public:
    Merge(const std::vector<Work>& work, DecodePipeline& pipeline) : m_work(work), m_pipeline(pipeline) {}

    // The next run, empty at the end.
    std::span<const Event> nextRun() {
        if (m_current) release();
        openDue();
        if (m_open.empty()) return {};
        std::size_t at = 0;
        std::uint64_t limit = nextUnopenedSeq();
        for (std::size_t i = 1; i < m_open.size(); ++i) {
            if (m_open[i].headSeq() < m_open[at].headSeq()) at = i;
        }
        for (std::size_t i = 0; i < m_open.size(); ++i) {
            if (i != at) limit = std::min(limit, m_open[i].headSeq());
        }
        OpenBatch& batch = m_open[at];
        const EventBatch& events = *batch.events;
        auto end = std::lower_bound(events.begin() + static_cast<std::ptrdiff_t>(batch.next), events.end(), limit,
                                    [](const Event& event, std::uint64_t seq) { return event.seq < seq; });
        std::size_t from = batch.next;
        batch.next = static_cast<std::size_t>(end - events.begin());
        m_current = &batch;
        return std::span<const Event>(events.data() + from, batch.next - from);
    }

private:
    void release() {
        if (m_current->next == m_current->events->size()) {
            m_pipeline.recycle(std::move(m_current->events));
            m_open.erase(m_open.begin() + (m_current - m_open.data()));
        }
        m_current = nullptr;
    }

    void skipDefinitionOnly() {
        while (m_nextWork < m_work.size() && !m_work[m_nextWork].events) ++m_nextWork;
    }

    std::uint64_t nextUnopenedSeq() {
        skipDefinitionOnly();
        return m_nextWork < m_work.size() ? m_work[m_nextWork].batch->minSeq : ~std::uint64_t{0};
    }

    // Opens every batch that starts before the smallest open head (so the merge sees its events).
    void openDue() {
        while (true) {
            std::uint64_t next = nextUnopenedSeq();
            if (m_nextWork == m_work.size()) return;
            std::uint64_t smallestHead = ~std::uint64_t{0};
            for (const OpenBatch& batch : m_open) smallestHead = std::min(smallestHead, batch.headSeq());
            if (!m_open.empty() && next >= smallestHead) return;
            ++m_nextWork;
            std::unique_ptr<EventBatch> events = m_pipeline.pop();
            if (!events || events->empty()) {
                if (events) m_pipeline.recycle(std::move(events));
                continue;
            }
            m_open.push_back({std::move(events), 0});
        }
    }

    const std::vector<Work>& m_work;
    DecodePipeline& m_pipeline;
    std::size_t m_nextWork = 0;
    std::vector<OpenBatch> m_open;
    OpenBatch* m_current = nullptr;
};

// Cuts a run down to the window; returns false once the window is over.
bool clip(std::span<const Event>& run, const SeqWindow& window) {
    if (window.whole()) return true;
    auto bySeq = [](const Event& event, std::uint64_t seq) { return event.seq < seq; };
    auto begin = std::lower_bound(run.begin(), run.end(), window.from, bySeq);
    auto end = std::lower_bound(begin, run.end(), window.until, bySeq);
    bool more = end == run.end();
    run = run.subspan(static_cast<std::size_t>(begin - run.begin()), static_cast<std::size_t>(end - begin));
    return more;
}

}  // namespace

Definitions playEvents(const ByteSource& source, const CaptureIndex& index, const SeqWindow& window,
                       EventSink& sink, StreamProgress* progress) {
    std::vector<Work> work = workOrder(index, window);
    DecodePipeline pipeline(source, work);
    Merge merge(work, pipeline);
    constexpr std::uint64_t kProgressEvery = 1 << 20;
    std::uint64_t read = 0, reported = 0;
    while (true) {
        std::span<const Event> run = merge.nextRun();
        if (run.empty()) break;
        read += run.size();
        bool more = clip(run, window);
        if (!run.empty()) sink.consume(run);
        if (progress && read - reported >= kProgressEvery) {
            progress->advanced(read, index.eventCount);
            reported = read;
        }
        if (!more) break;
    }
    pipeline.finish(true);
    if (progress) progress->advanced(read, index.eventCount);
    return detail::finishDefinitions(std::move(pipeline.definitions()), index.complete);
}

}  // namespace memhound::format
