#include "core/record/compat.h"

#include "core/record/session.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/common/error.h"
#include "core/format/writer.h"
#include "core/record/arena_cache.h"
#include "core/record/hooks.h"
#include "core/record/line_meter.h"
#include "core/record/native_hooks.h"
#include "core/record/native_stack.h"
#include "core/record/py_text.h"

namespace memhound::record {
namespace {

// Name of the pseudo-thread that owns events recorded by threads not holding the GIL.
constexpr const char* kNoGilThreadName = "(without the GIL)";

std::string pythonVersion() {
    std::string version = Py_GetVersion();
    return version.substr(0, version.find(' '));
}

void registerForkHandlers() {
    static const bool registered = [] {
        pthread_atfork([] { Session::instance().prepareFork(); }, [] { Session::instance().parentAfterFork(); },
                       [] { Session::instance().childAfterFork(); });
        return true;
    }();
    (void)registered;
}

// threading.enumerate() as (ident, name) pairs; empty when threading is unusable.
std::vector<std::pair<std::uint64_t, std::string>> threadingNames() {
    std::vector<std::pair<std::uint64_t, std::string>> names;
    PyObject* threading = PyImport_ImportModule("threading");
    PyObject* threads = threading ? PyObject_CallMethod(threading, "enumerate", nullptr) : nullptr;
    PyObject* iterator = threads ? PyObject_GetIter(threads) : nullptr;
    while (PyObject* thread = iterator ? PyIter_Next(iterator) : nullptr) {
        PyObject* ident = PyObject_GetAttrString(thread, "ident");
        PyObject* name = PyObject_GetAttrString(thread, "name");
        if (ident && name && PyLong_Check(ident)) names.emplace_back(PyLong_AsUnsignedLongLong(ident), utf8Of(name));
        Py_XDECREF(ident);
        Py_XDECREF(name);
        Py_DECREF(thread);
    }
    Py_XDECREF(iterator);
    Py_XDECREF(threads);
    Py_XDECREF(threading);
    PyErr_Clear();
    return names;
}

}  // namespace

SessionStorage Session::s_storage;

// ---------------------------------------------------------------- hot path

ThreadRecorder* Session::recorderFor(PyThreadState* running) {
    if (!compat::holdsGil(running)) return nullptr;
    ThreadRecorder* recorder = t_hooks.recorder;
    if (recorder == nullptr) return createRecorder(running);
    if (recorder->tstate() != running) recorder->setTstate(running);
    return recorder;
}

ThreadRecorder* Session::createRecorder(PyThreadState* running) {
    auto* recorder = new ThreadRecorder(PyThread_get_thread_ident(), PyThread_get_thread_native_id(), running);
    std::string name;
    {
        std::lock_guard lock(m_registryMutex);
        m_registry.push_back(recorder);
        name = nameOfLocked(recorder->ident());
    }
    recorder->beginCapture(common::ThreadId{m_nextThreadId.fetch_add(1)}, name);
    t_hooks.recorder = recorder;
    watchThreadExit();
    return recorder;
}

void Session::recordWithoutGilAndNativeDefinitions(const format::RawEvent& event) {
    lockNoGil();
    takeNativeDefinitions(m_noGil.definitions);
    unlockNoGil();
    recordWithoutGil(event);
}

void Session::recordWithoutGil(const format::RawEvent& event) {
    lockNoGil();
    if (recording()) {
        if (!m_noGil.announced) {
            format::encodeThread(m_noGil.definitions, format::ThreadRecord{common::ThreadId{0}, 0, kNoGilThreadName});
            m_noGil.announced = true;
        }
        format::RawEvent& slot = m_noGil.events[m_noGil.count++];
        slot = event;
        if (slot.seq == 0) slot.seq = SequenceCounter::take();
        if (m_noGil.count == kBatchEvents) handOffNoGil();
    }
    unlockNoGil();
}

void Session::lockNoGil() {
    while (m_noGil.lock.test_and_set(std::memory_order_acquire)) {
    }
}

// Caller holds the no-GIL spin lock.
void Session::handOffNoGil() {
    if (m_noGil.count == 0 && m_noGil.definitions.empty()) return;
    Batch batch{common::ThreadId{0}, std::move(m_noGil.events), m_noGil.count, std::move(m_noGil.definitions)};
    m_noGil.count = 0;
    m_noGil.definitions.clear();
    m_noGil.events = exchange(std::move(batch));
}

EventBuffer Session::exchange(Batch&& batch) {
    if (!m_writer) return batch.events ? std::move(batch.events) : WriterThread::newBuffer();
    return m_writer->exchange(std::move(batch));
}

void Session::retire(ThreadRecorder* recorder) {
    {
        std::lock_guard lock(m_registryMutex);
        if (m_acceptingBatches && m_writer) {
            Batch batch = recorder->takeBatch();
            if (batch.count != 0 || !batch.definitions.empty()) m_writer->exchange(std::move(batch));
        }
        std::vector<PyCodeObject*> refs = recorder->stacks().takeCodeRefs();
        m_orphanCodeRefs.insert(m_orphanCodeRefs.end(), refs.begin(), refs.end());
        m_registry.erase(std::remove(m_registry.begin(), m_registry.end(), recorder), m_registry.end());
        m_names.erase(recorder->ident());
    }
    delete recorder;
}

void Session::noteThreadName(std::uint64_t ident, const std::string& name) {
    {
        std::lock_guard lock(m_registryMutex);
        m_names[ident] = name;
    }
    if (t_hooks.recorder != nullptr && t_hooks.recorder->ident() == ident) t_hooks.recorder->rename(name);
}

std::string Session::nameOfLocked(std::uint64_t ident) const {
    auto it = m_names.find(ident);
    return it == m_names.end() ? std::string() : it->second;
}

void Session::onWriterFailure(const std::string& reason) {
    s_recording.store(false);
    if (!m_warned.exchange(true))
        std::fprintf(stderr, "memhound: tracing stopped, the capture %s could not be written: %s\n", m_path.c_str(),
                     reason.c_str());
}

// ---------------------------------------------------------------- lifecycle

void Session::start(const TraceOptions& options) {
    RecorderGuard guard;
    if (m_started) throw common::Error("memhound is already tracing (to " + m_path + ")");
    releaseCodeRefs();
    m_basePath = options.path;
    m_followFork = options.followFork;
    s_sampleBytes = options.sampleBytes;
    ++s_generation;
    m_header = format::Header{};
    m_header.pythonVersion = pythonVersion();
    m_header.argv = options.argv;
    m_header.mode = options.sampleBytes != 0 ? format::Mode::Sampled : format::Mode::Full;
    m_header.sampleBytes = options.sampleBytes;
    m_header.native = options.native || options.nativeFrames;
    m_header.nativeFrames = options.nativeFrames;
    s_nativeFrames = options.nativeFrames;
    if (s_nativeFrames) prepareNativeStacks();
    openCapture(options.path);
    m_warned = false;
    m_sampled.clear(options.sampleBytes == 0);
    {
        std::lock_guard lock(m_registryMutex);
        m_names.clear();
    }
    sampleThreadNames();
    resetNoGilBuffer();
    beginRecorders();
    m_acceptingBatches = true;
    m_started = true;
    s_recording.store(true);
    installAllocators();
    installNativeHooks(m_header.native);
    installArenaCache();
    if (s_sampleBytes == 0) installFrameHook();
    installThreadNameHook();
    registerForkHandlers();
}

void Session::openCapture(const std::string& path) {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw common::Error("cannot write the capture file " + path + ": " + std::strerror(errno));
    m_header.pid = getpid();
    m_header.startTimeNs = wallClockNs();
    auto writer = std::make_unique<format::CaptureWriter>(fd, m_header);
    if (writer->failed()) throw common::Error("cannot start tracing into " + path + ": " + writer->error());
    m_captureFd = fd;
    m_path = path;
    m_writer = std::make_unique<WriterThread>(std::move(writer), m_header.nativeFrames, [this](const std::string& reason) { onWriterFailure(reason); });
}

void Session::stop() {
    RecorderGuard guard;
    if (!m_started) throw common::Error("memhound is not tracing");
    sampleThreadNames();
    s_recording.store(false);
    m_sampled.clear();
    if (!meter::on()) restoreAllocators();  // a line meter still counts through them
    restoreNativeHooks();
    restoreArenaCache();
    restoreFrameHook();
    restoreThreadNameHook();
    handOffAll(true);
    lockNoGil();
    handOffNoGil();
    unlockNoGil();
    finishWriter();
    releaseCodeRefs();
    m_started = false;
}

// Not under a RecorderGuard: the frees of the code objects released here are the program's.
void Session::releaseUnusedCode() {
    std::vector<PyCodeObject*> unused;
    {
        std::lock_guard lock(m_registryMutex);
        unused.swap(m_orphanCodeRefs);  // their threads have exited: no table refers to them
        for (ThreadRecorder* recorder : m_registry) recorder->stacks().takeUnusedCode(unused);
    }
    for (PyCodeObject* code : unused) Py_DECREF(code);
}

void Session::flush() {
    RecorderGuard guard;
    if (!m_started || !m_writer) return;
    sampleThreadNames();
    handOffAll(false);
    lockNoGil();
    handOffNoGil();
    unlockNoGil();
    m_writer->drain();
}

void Session::finishWriter() {
    if (!m_writer) return;
    m_writer->finish();
    m_writer.reset();
}

void Session::beginRecorders() {
    std::lock_guard lock(m_registryMutex);
    m_nextThreadId = 1;
    for (ThreadRecorder* recorder : m_registry)
        recorder->beginCapture(common::ThreadId{m_nextThreadId.fetch_add(1)}, nameOfLocked(recorder->ident()));
}

void Session::handOffAll(bool closing) {
    std::lock_guard lock(m_registryMutex);
    for (ThreadRecorder* recorder : m_registry) recorder->handOff();
    if (closing) m_acceptingBatches = false;
}

void Session::releaseCodeRefs() {
    std::vector<PyCodeObject*> refs;
    {
        std::lock_guard lock(m_registryMutex);
        refs.swap(m_orphanCodeRefs);
        for (ThreadRecorder* recorder : m_registry) {
            std::vector<PyCodeObject*> own = recorder->stacks().takeCodeRefs();
            refs.insert(refs.end(), own.begin(), own.end());
            recorder->stacks().reset();
        }
    }
    for (PyCodeObject* code : refs) Py_DECREF(code);
}

void Session::sampleThreadNames() {
    const auto names = threadingNames();
    std::lock_guard lock(m_registryMutex);
    for (const auto& [ident, name] : names) {
        m_names[ident] = name;
        for (ThreadRecorder* recorder : m_registry)
            if (recorder->ident() == ident) recorder->rename(name);
    }
}

void Session::resetNoGilBuffer() {
    lockNoGil();
    if (!m_noGil.events) m_noGil.events = WriterThread::newBuffer();
    m_noGil.count = 0;
    m_noGil.definitions.clear();
    m_noGil.announced = false;
    unlockNoGil();
}

// ---------------------------------------------------------------- fork

void Session::prepareFork() {
    m_forkLocked = m_started;
    if (!m_forkLocked) return;
    // Lock order: registry, no-GIL buffer, sampled set, writer queue (the order every path uses).
    m_registryMutex.lock();
    lockNoGil();
    m_sampled.lock();
    if (m_writer) m_writer->lockForFork();
}

void Session::parentAfterFork() {
    if (!m_forkLocked) return;
    if (m_writer) m_writer->unlockAfterFork();
    m_sampled.unlock();
    unlockNoGil();
    m_registryMutex.unlock();
}

void Session::childAfterFork() {
    if (!m_forkLocked) return;
    if (m_writer) m_writer->unlockAfterFork();
    m_sampled.unlock();
    unlockNoGil();
    m_registryMutex.unlock();
    // The writer thread was not copied into the child: abandon its object, close our copy of the file.
    (void)m_writer.release();
    close(m_captureFd);
    keepOnlyCurrentThread();
    if (!m_followFork) return stopInChild();
    try {
        openCapture(m_basePath + "." + std::to_string(getpid()));
    } catch (const common::Error& error) {
        std::fprintf(stderr, "memhound: not tracing the forked child: %s\n", error.what());
        return stopInChild();
    }
    ++s_generation;
    m_sampled.clear(s_sampleBytes == 0);
    resetNoGilBuffer();
    beginRecorders();
}

// Child of fork: only the forking thread exists; the other recorders are dropped.
void Session::keepOnlyCurrentThread() {
    for (ThreadRecorder* recorder : m_registry) {
        std::vector<PyCodeObject*> refs = recorder->stacks().takeCodeRefs();
        m_orphanCodeRefs.insert(m_orphanCodeRefs.end(), refs.begin(), refs.end());
        if (recorder == t_hooks.recorder) {
            recorder->dropPending();
            recorder->stacks().reset();
        } else {
            delete recorder;
        }
    }
    m_registry.clear();
    if (t_hooks.recorder != nullptr) m_registry.push_back(t_hooks.recorder);
}

// Child of fork without follow_fork: pass-through allocators, no writer, the parent's file untouched.
// Code references are released at the next start (Python calls are not allowed here).
void Session::stopInChild() {
    s_recording.store(false);
    m_sampled.clear();
    restoreAllocators();
    detachNativeHooks();
    restoreArenaCache();
    restoreFrameHook();
    m_acceptingBatches = false;
    m_started = false;
}

// ---------------------------------------------------------------- entry points

void startTracing(const TraceOptions& options) { Session::instance().start(options); }
void stopTracing() { Session::instance().stop(); }
void flushTracing() { Session::instance().flush(); }
void releaseUnusedCode() { Session::instance().releaseUnusedCode(); }
bool isTracing() { return Session::instance().started(); }
std::optional<std::string> tracingPath() {
    if (!Session::instance().started()) return std::nullopt;
    return Session::instance().path();
}
std::uint64_t currentSeq() { return SequenceCounter::take(); }

}  // namespace memhound::record
