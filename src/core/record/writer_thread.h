#pragma once
// The writer thread: receives full per-thread event buffers at hand-off, encodes, compresses and
// writes them (CaptureWriter), and samples the resident set size every kSampleInterval.
// Interpreter-free. The mutex is taken only at hand-off, drain and stop, never per event.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/common/ids.h"
#include "core/format/records.h"
#include "core/format/writer.h"

namespace memhound::record {

// Events per buffer: 8192 * 32 bytes = 256 KiB per recording thread.
inline constexpr std::size_t kBatchEvents = 8192;
using EventBuffer = std::unique_ptr<format::RawEvent[]>;

struct Batch {
    common::ThreadId thread;
    EventBuffer events;
    std::size_t count = 0;
    std::string definitions;
};

class WriterThread {
public:
    // onFailure runs once, on the writer thread, when the file cannot be written any more.
    // recordMappings: write the loaded objects (MappingRecord) at start and whenever they change.
    WriterThread(std::unique_ptr<format::CaptureWriter> writer, bool recordMappings,
                 std::function<void(const std::string&)> onFailure);
    ~WriterThread();

    static EventBuffer newBuffer() { return EventBuffer(new format::RawEvent[kBatchEvents]); }
    // Queues a batch and returns an empty buffer (a recycled one when available) for the caller.
    EventBuffer exchange(Batch&& batch);
    // Returns when every batch queued so far has been written.
    void drain();
    // Writes everything queued, a last sample, then the trailer (with the last number handed
    // out), closes the file and joins the thread.
    void finish();
    bool failed() const { return m_failed.load(std::memory_order_relaxed); }

    // fork(): the forking thread holds the mutex across fork(); in the child the thread does not
    // exist, so the object must be abandoned (never destroyed, never joined).
    void lockForFork() { m_mutex.lock(); }
    void unlockAfterFork() { m_mutex.unlock(); }

private:
    void run();
    void writeBatches(std::deque<Batch>& work);
    void sampleIfDue(bool force);
    // Under m_mutex: the Mapping records of objects loaded since the last look (recordMappings).
    std::string newMappings();
    void writeDefinitions(const std::string& definitions);

    std::unique_ptr<format::CaptureWriter> m_writer;  // used by the writer thread only (and finish after join)
    std::function<void(const std::string&)> m_onFailure;
    std::atomic<bool> m_failed{false};
    std::chrono::steady_clock::time_point m_lastSample{};
    int m_statmFd = -1;
    bool m_recordMappings = false;
    unsigned long long m_mappedAdds = 0;           // the loader's object count at the last look
    std::vector<format::MappingRecord> m_mapped;   // written to this file already

    // Guarded by m_mutex: the hand-off queue, the recycled buffers, and the progress counters.
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::condition_variable m_progress;
    std::deque<Batch> m_queue;
    std::vector<EventBuffer> m_spare;
    std::uint64_t m_queued = 0;
    std::uint64_t m_written = 0;
    bool m_stopping = false;
    std::thread m_thread;
};

std::int64_t wallClockNs();

}  // namespace memhound::record
