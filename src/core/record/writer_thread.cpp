#include "core/record/compat.h"

#include "core/record/writer_thread.h"

#include "core/record/hooks.h"
#include "core/record/got_patch.h"
#include "core/record/loaded_objects.h"
#include "core/record/native_hooks.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <span>

#include "core/record/sequence.h"

namespace memhound::record {
namespace {

constexpr auto kSampleInterval = std::chrono::milliseconds(20);
constexpr std::size_t kMaxSpareBuffers = 16;

std::uint64_t residentBytes(int statmFd) {
    char text[128];
    const ssize_t n = statmFd < 0 ? -1 : pread(statmFd, text, sizeof text - 1, 0);
    if (n <= 0) return 0;
    text[n] = '\0';
    char* end = nullptr;
    std::strtoull(text, &end, 10);  // total program size; the resident set comes second
    const std::uint64_t pages = std::strtoull(end, nullptr, 10);
    return pages * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

std::int64_t wallClockNs() {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

WriterThread::WriterThread(std::unique_ptr<format::CaptureWriter> writer, bool recordMappings,
                           std::function<void(const std::string&)> onFailure)
    : m_writer(std::move(writer)), m_onFailure(std::move(onFailure)), m_recordMappings(recordMappings) {
    m_statmFd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    m_thread = std::thread([this] {
        // Its own allocations (zstd's, through the native hooks) are the tool's, never traced.
        t_hooks.enterRecorder();
        run();
    });
}

WriterThread::~WriterThread() {
    if (m_thread.joinable()) finish();
    if (m_statmFd >= 0) close(m_statmFd);
}

EventBuffer WriterThread::exchange(Batch&& batch) {
    EventBuffer fresh;
    {
        std::lock_guard lock(m_mutex);
        m_queue.push_back(std::move(batch));
        ++m_queued;
        if (!m_spare.empty()) {
            fresh = std::move(m_spare.back());
            m_spare.pop_back();
        }
    }
    m_wake.notify_one();
    return fresh ? std::move(fresh) : newBuffer();
}

void WriterThread::drain() {
    std::unique_lock lock(m_mutex);
    const std::uint64_t target = m_queued;
    m_wake.notify_one();
    m_progress.wait(lock, [&] { return m_written >= target || !m_thread.joinable(); });
}

void WriterThread::finish() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_one();
    if (m_thread.joinable()) m_thread.join();
    writeDefinitions(newMappings());
    sampleIfDue(true);
    m_writer->finish(format::Trailer{SequenceCounter::frontier() - 1, wallClockNs()});
    if (m_writer->failed() && !m_failed.exchange(true)) m_onFailure(m_writer->error());
}

void WriterThread::run() {
    while (true) {
        std::deque<Batch> work;
        bool stopping = false;
        std::string mappings;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait_for(lock, kSampleInterval, [&] { return !m_queue.empty() || m_stopping; });
            work.swap(m_queue);
            stopping = m_stopping;
            // Under the queue's lock, which a fork takes first: no fork finds this thread holding
            // the loader's lock in dl_iterate_phdr.
            refreshNativeHooks();
            mappings = newMappings();
        }
        writeDefinitions(mappings);  // before the batches whose native frames may point into them
        writeBatches(work);
        sampleIfDue(false);
        if (stopping) return;
    }
}

void WriterThread::writeBatches(std::deque<Batch>& work) {
    for (Batch& batch : work) {
        if (!m_failed.load(std::memory_order_relaxed)) {
            m_writer->writeBatch(batch.thread, std::span(batch.events.get(), batch.count), batch.definitions);
            if (m_writer->failed() && !m_failed.exchange(true)) m_onFailure(m_writer->error());
        }
    }
    std::lock_guard lock(m_mutex);
    for (Batch& batch : work)
        if (batch.events && m_spare.size() < kMaxSpareBuffers) m_spare.push_back(std::move(batch.events));
    m_written += work.size();
    m_progress.notify_all();
}

std::string WriterThread::newMappings() {
    std::string definitions;
    if (!m_recordMappings) return definitions;
    const unsigned long long adds = got::objectsAdded();
    if (adds == m_mappedAdds) return definitions;
    m_mappedAdds = adds;
    appendNewMappings(definitions, m_mapped);
    return definitions;
}

// An empty batch of thread 0 carries them (the format allows definitions without events).
void WriterThread::writeDefinitions(const std::string& definitions) {
    if (definitions.empty() || m_failed.load(std::memory_order_relaxed)) return;
    m_writer->writeBatch(common::ThreadId{0}, {}, definitions);
    if (m_writer->failed() && !m_failed.exchange(true)) m_onFailure(m_writer->error());
}

void WriterThread::sampleIfDue(bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (m_failed.load(std::memory_order_relaxed) || (!force && now - m_lastSample < kSampleInterval)) return;
    m_lastSample = now;
    // A number of its own: events after the sample are numbered after it.
    m_writer->writeSample(format::Sample{wallClockNs(), SequenceCounter::take(), residentBytes(m_statmFd)});
}

}  // namespace memhound::record
