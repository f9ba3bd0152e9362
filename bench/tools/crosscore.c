/* What moving data between the two cores costs here (issue #18 goal 4): one thread (CPU 0) writes a 256 KiB buffer,
 * the other (CPU 1) then reads it (its lines come from the writer's cache), and reads it again (from its own cache);
 * and the round trip of one cache line handed back and forth. The ninth #18 session measured 256 KiB in ~9 us
 * (~28 GB/s) from the other core against ~2.4 us (~107 GB/s) from its own, and a round trip of 116-277 ns at
 * 07:35 but 450-530 ns at 09:45 on the same idle machine (where the host runs the two vCPUs changes): the
 * two-thread step measured 1.35x / 1.61x (deep) at 09:45 against 1.69x / 1.81x at 08:38.
 * Third: writing 256 KiB this core wrote before, when the other core has read it since (its lines shared) or not,
 * with ordinary and with non-temporal stores. The tenth session measured (200 KB): 28.7 us against 0.94 us ordinary
 * (~30x), 6.2 us against 4.9 us non-temporal (the writer's own read after it 4.6 us against 1.8): what made the
 * two-thread step stream a value both cores read (src/Runtime/Engine/Lowering/StreamedStores.cs).
 *   gcc -O2 -mavx512f -pthread bench/tools/crosscore.c -o /tmp/crosscore && /tmp/crosscore */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <immintrin.h>
#define BYTES (256 * 1024)
#define ROUNDS 2000
static float *buf;
static _Atomic int phase;
static volatile float sink;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static void pin(int cpu) {
    cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s); pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}
static void *writer(void *arg) {
    (void)arg; pin(0);
    for (int i = 0; i < ROUNDS; i++) {
        while (atomic_load(&phase) != 2 * i) {}
        for (int j = 0; j < BYTES / 4; j++) buf[j] = (float)(i + j);
        atomic_store(&phase, 2 * i + 1);
    }
    return NULL;
}
static void *ponger(void *arg) {
    (void)arg; pin(0);
    for (int i = 0; i < ROUNDS * 50; i++) {
        while (atomic_load(&phase) != 2 * i + 1) {}
        atomic_store(&phase, 2 * i + 2);
    }
    return NULL;
}
static int other_reads;
static void *sharer(void *arg) {
    (void)arg; pin(0);
    for (int i = 0; i < ROUNDS; i++) {
        while (atomic_load(&phase) != 2 * i + 1) {}
        if (other_reads) { float s = 0; for (int j = 0; j < BYTES / 4; j += 16) s += buf[j]; sink = s; }
        atomic_store(&phase, 2 * i + 2);
    }
    return NULL;
}
static int by_time(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static void shared_writes(void) {
    static double times[ROUNDS];
    for (int streamed = 0; streamed < 2; streamed++)
        for (other_reads = 0; other_reads < 2; other_reads++) {
            atomic_store(&phase, 0);
            pthread_t t; pthread_create(&t, NULL, sharer, NULL);
            for (int i = 0; i < ROUNDS; i++) {
                while (atomic_load(&phase) != 2 * i) {}
                __m512 v = _mm512_set1_ps((float)i);
                double t0 = now();
                if (streamed) { for (int j = 0; j < BYTES / 4; j += 16) _mm512_stream_ps(buf + j, v); _mm_sfence(); }
                else for (int j = 0; j < BYTES / 4; j += 16) _mm512_store_ps(buf + j, v);
                times[i] = now() - t0;
                atomic_store(&phase, 2 * i + 1);
            }
            pthread_join(t, NULL);
            qsort(times, ROUNDS, sizeof times[0], by_time);
            printf("256 KiB rewritten with %s stores, the other core %s: %.1f us (median)\n",
                   streamed ? "non-temporal" : "ordinary", other_reads ? "having read it" : "idle",
                   times[ROUNDS / 2] * 1e6);
        }
}
int main(void) {
    buf = aligned_alloc(64, BYTES); memset(buf, 0, BYTES);
    pthread_t t; pthread_create(&t, NULL, writer, NULL); pin(1);
    double remote = 0, local = 0;
    for (int i = 0; i < ROUNDS; i++) {
        while (atomic_load(&phase) != 2 * i + 1) {}
        float s = 0; double t0 = now();
        for (int j = 0; j < BYTES / 4; j += 16) s += buf[j];
        double t1 = now();
        for (int j = 0; j < BYTES / 4; j += 16) s += buf[j];
        double t2 = now();
        sink = s; remote += t1 - t0; local += t2 - t1;
        atomic_store(&phase, 2 * i + 2);
    }
    pthread_join(t, NULL);
    printf("256 KiB written by the other core: %.1f us to read (%.1f GB/s); again, from this core's cache: %.1f us "
           "(%.1f GB/s)\n", remote / ROUNDS * 1e6, BYTES / (remote / ROUNDS) / 1e9, local / ROUNDS * 1e6,
           BYTES / (local / ROUNDS) / 1e9);
    atomic_store(&phase, 0);
    pthread_create(&t, NULL, ponger, NULL);
    double t0 = now();
    for (int i = 0; i < ROUNDS * 50; i++) {
        atomic_store(&phase, 2 * i + 1);
        while (atomic_load(&phase) != 2 * i + 2) {}
    }
    double t1 = now();
    pthread_join(t, NULL);
    printf("a cache line's round trip between the cores: %.0f ns\n", (t1 - t0) / (ROUNDS * 50) * 1e9);
    pin(1);
    shared_writes();
    return 0;
}
