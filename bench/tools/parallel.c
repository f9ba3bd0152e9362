/* Whether the two cores run independent work at full speed each (issue #18 goal 4): each of three loops runs on CPU 0
 * alone, then on CPUs 0 and 1 at once (pinned, each on its own data), and the two-core time is printed against the
 * one-core time. Loops: ten chains of 512-bit FMAs in registers (compute), summing a private 512 KiB buffer (L2) and
 * a private 8 MiB buffer (L3 and memory). The eleventh #18 session measured, with the vCPUs far apart (a cache line's
 * round trip 515 ns, bench/tools/crosscore.c): every loop as fast on two cores as on one (0.240 / 0.239 s,
 * 0.0198 / 0.0198 s, 0.033 / 0.033-0.037 s), so the two-thread step's loss there (1.37-1.51x at 784-256-10) is what its
 * threads share, not the cores themselves.
 *   gcc -O2 -mavx512f -pthread bench/tools/parallel.c -o /tmp/parallel && /tmp/parallel */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

struct job { int cpu, mode; long iters; size_t bytes; double seconds; float sink; };

static void *run(void *arg)
{
    struct job *j = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(j->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    size_t n = j->bytes / sizeof(float);
    float *buf = aligned_alloc(64, j->bytes > 64 ? j->bytes : 64);
    for (size_t i = 0; i < n; i++) buf[i] = 1.0f;
    __m512 a[10], b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
    for (int k = 0; k < 10; k++) a[k] = _mm512_set1_ps(1.0f);
    double t0 = now();
    if (j->mode == 0)
        for (long i = 0; i < j->iters; i++)
            for (int k = 0; k < 10; k++) a[k] = _mm512_fmadd_ps(a[k], b, c);
    else
        for (long r = 0; r < j->iters; r++)
            for (size_t i = 0; i < n; i += 16) a[0] = _mm512_fmadd_ps(_mm512_load_ps(buf + i), b, a[0]);
    j->seconds = now() - t0;
    for (int k = 1; k < 10; k++) a[0] = _mm512_add_ps(a[0], a[k]);
    j->sink = _mm512_reduce_add_ps(a[0]);
    free(buf);
    return NULL;
}

static void measure(const char *what, int mode, long iters, size_t bytes)
{
    for (int rep = 0; rep < 3; rep++)
    {
        struct job solo = {0, mode, iters, bytes}, j0 = solo, j1 = solo;
        j1.cpu = 1;
        pthread_t t0, t1;
        pthread_create(&t0, NULL, run, &solo);
        pthread_join(t0, NULL);
        pthread_create(&t0, NULL, run, &j0);
        pthread_create(&t1, NULL, run, &j1);
        pthread_join(t0, NULL);
        pthread_join(t1, NULL);
        double both = j0.seconds > j1.seconds ? j0.seconds : j1.seconds;
        printf("%-34s one core %.4f s, two cores %.4f / %.4f s: %.2fx the work in %.2fx the time\n", what,
               solo.seconds, j0.seconds, j1.seconds, 2.0, both / solo.seconds);
    }
}

int main(void)
{
    measure("FMAs in registers", 0, 50000000, 0);
    measure("a private 512 KiB buffer (L2)", 1, 2000, 512 << 10);
    measure("a private 8 MiB buffer (L3, memory)", 1, 200, 8 << 20);
    return 0;
}
