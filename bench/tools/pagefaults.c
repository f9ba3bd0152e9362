/* What a fresh page of memory costs on this machine (issue #18): 64 MiB of anonymous memory mapped by touching each
 * 4 KiB page (a page fault each), touched again, mapped first with madvise(MADV_POPULATE_WRITE) (Linux 5.14+) and
 * then touched, and mapped with MAP_POPULATE and then touched. On a virtual machine whose hypervisor keeps its own
 * page tables (PVM), the first touch of a populated page still costs a hidden fault of the hypervisor.
 *   gcc -O2 bench/tools/pagefaults.c -o /tmp/pagefaults && /tmp/pagefaults */
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static double touch(char *p, size_t n, char v) {
    double t = now();
    for (size_t i = 0; i < n; i += 4096) p[i] = v;
    return (now() - t) * 1e3;
}
int main(void) {
    size_t n = 64 << 20, pages = n / 4096;
    int rw = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;
    char *p = mmap(0, n, rw, anon, -1, 0);
    double faulted = touch(p, n, 1), again = touch(p, n, 2);
    char *q = mmap(0, n, rw, anon, -1, 0);
    double t = now();
    int r = madvise(q, n, MADV_POPULATE_WRITE);
    double populate = (now() - t) * 1e3, afterPopulate = touch(q, n, 1);
    char *m = mmap(0, n, rw, anon | MAP_POPULATE, -1, 0);
    double afterMapPopulate = touch(m, n, 1);
    printf("per 4 KiB page: fault %.2f us, touch again %.3f us; MADV_POPULATE_WRITE %.2f us (%s) then first touch "
           "%.2f us; MAP_POPULATE then first touch %.2f us\n", faulted * 1e3 / pages, again * 1e3 / pages,
           populate * 1e3 / pages, r == 0 ? "ok" : "refused", afterPopulate * 1e3 / pages,
           afterMapPopulate * 1e3 / pages);
    return 0;
}
