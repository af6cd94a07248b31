// A library that allocates inside a signal handler, the way some profilers and crash reporters do
// (tests/python/test_native_signals.py builds it with gcc).
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// A size no other code here uses, and its tcache bin kept filled, so that the handler's malloc
// never needs an arena lock that the interrupted code may hold (glibc's malloc is not
// async-signal-safe; this keeps the test about memhound's hooks, not about glibc).
#define HANDLER_BYTES 1000

static atomic_long handled;
static atomic_int running;
static pthread_t target;
static pthread_t ticker;
static long interval_ns;

static void on_signal(int sig) {
    (void)sig;
    int saved = errno;
    char* block = malloc(HANDLER_BYTES);
    if (block != NULL) {
        block[0] = 1;
        free(block);
    }
    errno = saved;
    atomic_fetch_add(&handled, 1);
}

static void* tick(void* unused) {
    (void)unused;
    struct timespec pause = {0, interval_ns};
    while (atomic_load(&running)) {
        pthread_kill(target, SIGUSR1);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

int start_signals(long interval_us) {
    void* warm[7];
    for (int i = 0; i < 7; ++i) warm[i] = malloc(HANDLER_BYTES);
    for (int i = 0; i < 7; ++i) free(warm[i]);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGUSR1, &action, NULL) != 0) return -1;
    target = pthread_self();
    interval_ns = interval_us * 1000;
    atomic_store(&running, 1);
    return pthread_create(&ticker, NULL, tick, NULL);
}

// Whether sigaction reports this library's own handler for SIGUSR1 (a tool that wraps it must
// not show its wrapper).
int handler_installed(void) {
    struct sigaction current;
    if (sigaction(SIGUSR1, NULL, &current) != 0) return 0;
    return !(current.sa_flags & SA_SIGINFO) && current.sa_handler == on_signal;
}

long stop_signals(void) {
    atomic_store(&running, 0);
    pthread_join(ticker, NULL);
    signal(SIGUSR1, SIG_IGN);
    return atomic_load(&handled);
}

// C allocations of the interrupted thread: blocks of several sizes, half of them kept a while.
void churn(int rounds) {
    static void* kept[64];
    for (int i = 0; i < rounds; ++i) {
        void* block = malloc(64 + (i % 7) * 4096);
        free(kept[i % 64]);
        kept[i % 64] = block;
        void* big = calloc(1, 200000);
        free(realloc(big, 300000));
    }
}
