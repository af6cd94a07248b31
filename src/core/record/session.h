#pragma once
// The process-wide recording session: the writer thread, the registry of thread recorders, the
// buffer for events recorded without the GIL, and start/stop/flush/fork. Include compat.h first.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/format/records.h"
#include "core/record/compat.h"
#include "core/record/sampling.h"
#include "core/record/sequence.h"
#include "core/record/thread_recorder.h"
#include "core/record/tracer.h"
#include "core/record/writer_thread.h"

namespace memhound::record {

union SessionStorage;

class Session {
public:
    static Session& instance();

    // --- hot path (allocator hooks) ---
    static bool recording() { return s_recording.load(std::memory_order_relaxed); }
    static std::uint64_t sampleBytes() { return s_sampleBytes; }
    // Native events carry their C call stack (--native-frames).
    static bool nativeFrames() { return s_nativeFrames; }
    // Changes at every start (and in a following fork child): per-thread samplers reconfigure.
    static std::uint64_t generation() { return s_generation; }
    // The calling thread's recorder when it holds the GIL (created on first use), else null.
    ThreadRecorder* recorderFor(PyThreadState* running);
    // Events of threads that do not hold the GIL (already sampled): spin-locked shared buffer, stack 0.
    void recordWithoutGil(const format::RawEvent& event);
    // The same, with the calling thread's pending native frame records (native_stack.h).
    void recordWithoutGilAndNativeDefinitions(const format::RawEvent& event);
    SampledAddresses& sampled() { return m_sampled; }
    // A full batch goes to the writer; returns an empty buffer for the caller.
    EventBuffer exchange(Batch&& batch);
    // Thread exit (thread_local destructor, no GIL): hands over and forgets the recorder.
    void retire(ThreadRecorder* recorder);
    // A threading.Thread reported its name (thread start hook, GIL held).
    void noteThreadName(std::uint64_t ident, const std::string& name);

    // --- lifecycle (GIL held) ---
    void start(const TraceOptions& options);
    void stop();
    void flush();
    // Releases the code objects that only the recorders still hold (see record::releaseUnusedCode).
    void releaseUnusedCode();
    bool started() const { return m_started; }
    std::string path() const { return m_path; }

    // --- fork (pthread_atfork) ---
    void prepareFork();
    void parentAfterFork();
    void childAfterFork();

private:
    friend union SessionStorage;
    Session() = default;
    struct NoGilBuffer {
        std::atomic_flag lock = ATOMIC_FLAG_INIT;
        EventBuffer events;
        std::size_t count = 0;
        std::string definitions;
        bool announced = false;  // its ThreadRecord is written with the first event
    };

    void openCapture(const std::string& path);
    void beginRecorders();
    void handOffAll(bool closing);
    void handOffNoGil();
    void finishWriter();
    void releaseCodeRefs();
    void keepOnlyCurrentThread();
    void stopInChild();
    void sampleThreadNames();
    void resetNoGilBuffer();
    void lockNoGil();
    void unlockNoGil() { m_noGil.lock.clear(std::memory_order_release); }
    void onWriterFailure(const std::string& reason);
    ThreadRecorder* createRecorder(PyThreadState* running);
    std::string nameOfLocked(std::uint64_t ident) const;

    static inline std::atomic<bool> s_recording{false};
    static inline std::uint64_t s_sampleBytes = 0;
    static inline bool s_nativeFrames = false;
    static inline std::uint64_t s_generation = 0;
    static SessionStorage s_storage;

    // First, so that a free's filter test reads the session's own address (sampled mode's hot path).
    SampledAddresses m_sampled;

    // Set at start, read by any thread; changed only by start/stop/fork under the GIL.
    bool m_started = false;
    bool m_followFork = false;
    bool m_acceptingBatches = false;    // false once stop has handed over every recorder
    bool m_forkLocked = false;          // prepareFork took the locks (only when tracing)
    int m_captureFd = -1;               // owned by the writer; a fork child closes its copy
    std::string m_basePath;  // the path given to start (a following child appends .<pid>)
    std::string m_path;      // the file being written by this process
    format::Header m_header;
    std::unique_ptr<WriterThread> m_writer;
    std::atomic<bool> m_warned{false};
    std::atomic<std::uint32_t> m_nextThreadId{1};

    // Guarded by m_registryMutex: the recorders of live threads, the names threading reported
    // (thread ident -> name), and code references left by exited threads (released under the GIL).
    std::mutex m_registryMutex;
    std::vector<ThreadRecorder*> m_registry;
    std::unordered_map<std::uint64_t, std::string> m_names;
    std::vector<PyCodeObject*> m_orphanCodeRefs;

    NoGilBuffer m_noGil;  // guarded by its spin lock
};

// The one session, in static storage (the hooks reach it at an address fixed at link time, with
// no pointer to load) and never destroyed: allocator hooks may run in other threads during
// interpreter exit, after static destructors.
union SessionStorage {
    SessionStorage() : session() {}
    ~SessionStorage() {}
    Session session;
};

inline Session& Session::instance() { return s_storage.session; }

}  // namespace memhound::record
