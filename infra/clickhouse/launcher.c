/*
 * Runs a ClickHouse server out of chdb's libchdb.so (which embeds clickhouse-local) for the tests and
 * local runs; infra/scripts/services.sh builds it with gcc and starts it.
 *
 *   ptel-clickhouse LIBCHDB STOP_FIFO clickhouse --path=DIR --http_port=P ... --query="...; <blocking query>"
 *
 * The arguments from `clickhouse` on are clickhouse-local's command line, handed to the library's entry
 * point query_stable_v2(). The query is expected to start the listeners (SYSTEM START LISTEN QUERIES ALL)
 * and then block by reading STOP_FIFO to its end. This program holds the only writer of that FIFO:
 * on SIGTERM or SIGINT it removes the FIFO and closes it, the reading query reaches end of file (or,
 * when it had not opened the FIFO yet, finds it gone) and returns, and ClickHouse shuts its listeners
 * and tables down in order before the process exits with status 0. Exit status 1 means the library
 * could not be loaded, ClickHouse refused the command line or a query, or the blocking query ended
 * without a stop signal (the message is on stderr).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* chdb's programs/local/chdb.h */
struct local_result_v2 {
    char *buf;
    size_t len;
    void *_vec;
    double elapsed;
    uint64_t rows_read;
    uint64_t bytes_read;
    char *error_message;
};
typedef struct local_result_v2 *(*query_stable_v2_fn)(int argc, char **argv);

static const char *stop_fifo;
static int stop_writer = -1;
static volatile sig_atomic_t stopping = 0;

/* Waits for SIGTERM/SIGINT (blocked in every other thread) and releases the blocking query. */
static void *wait_for_stop(void *arg) {
    sigset_t *set = arg;
    int sig = 0;
    while (sigwait(set, &sig) != 0) {
    }
    stopping = 1;
    fprintf(stderr, "ptel-clickhouse: %s received, shutting down\n", strsignal(sig));
    /* Removed before it is closed: there is no moment at which the FIFO exists without a writer, when
     * the query's open() would wait for one forever. */
    unlink(stop_fifo);
    close(stop_writer);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s LIBCHDB STOP_FIFO clickhouse [clickhouse-local arguments...]\n", argv[0]);
        return 2;
    }
    const char *lib = argv[1], *fifo = argv[2];
    stop_fifo = fifo;

    struct stat st;
    if (mkfifo(fifo, 0600) != 0 && errno != EEXIST) {
        fprintf(stderr, "ptel-clickhouse: cannot create the FIFO %s: %s\n", fifo, strerror(errno));
        return 1;
    }
    if (stat(fifo, &st) != 0 || !S_ISFIFO(st.st_mode)) {
        fprintf(stderr, "ptel-clickhouse: %s exists and is not a FIFO; remove it\n", fifo);
        return 1;
    }
    /* Read-write: opening does not wait for a reader, and the query never sees end of file while this
     * descriptor is open. */
    stop_writer = open(fifo, O_RDWR | O_CLOEXEC);
    if (stop_writer < 0) {
        fprintf(stderr, "ptel-clickhouse: cannot open the FIFO %s: %s\n", fifo, strerror(errno));
        return 1;
    }

    /* Block the stop signals before ClickHouse starts its threads, which inherit the mask. */
    static sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    pthread_t waiter;
    if (pthread_create(&waiter, NULL, wait_for_stop, &stop_signals) != 0) {
        fprintf(stderr, "ptel-clickhouse: cannot start the signal thread\n");
        return 1;
    }

    void *handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        fprintf(stderr, "ptel-clickhouse: cannot load %s: %s\n", lib, dlerror());
        return 1;
    }
    query_stable_v2_fn query = (query_stable_v2_fn)dlsym(handle, "query_stable_v2");
    if (query == NULL) {
        fprintf(stderr, "ptel-clickhouse: %s has no query_stable_v2: %s\n", lib, dlerror());
        return 1;
    }

    struct local_result_v2 *result = query(argc - 3, argv + 3);
    if (result == NULL) {
        fprintf(stderr, "ptel-clickhouse: ClickHouse returned no result\n");
        return 1;
    }
    if (result->error_message != NULL && result->error_message[0] != '\0') {
        fprintf(stderr, "ptel-clickhouse: ClickHouse stopped with an error: %s\n", result->error_message);
        if (!stopping) return 1;
    } else if (!stopping) {
        fprintf(stderr, "ptel-clickhouse: the blocking query returned without a stop signal\n");
        return 1;
    }
    fprintf(stderr, "ptel-clickhouse: stopped\n");
    return 0;
}
