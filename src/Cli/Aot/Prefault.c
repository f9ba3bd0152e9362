/* Linked into the native `nn` (Aot.targets): maps the memory that the runtime unpacks its data into before `main`.
 *
 * A Native AOT program keeps its types' data packed in the binary and unpacks it at start (RehydrateData) into a
 * zero-filled region after .bss (the .hydrated section, 3.6 MB for nn). Each of its ~890 pages then costs a page
 * fault, ~10 us on this project's machines (a virtual machine: bench/tools/pagefaults.c), ~8 ms of every command's
 * ~20 ms (`perf stat nn --version`: 1,200 faults). This constructor runs before the runtime's `main`: it asks for
 * transparent huge pages on that region (one fault per aligned 2 MB instead of 512; the kernel's default policy,
 * "madvise", gives them only when asked) and maps the rest with one madvise(MADV_POPULATE_WRITE) instead of a fault
 * per page. Either call failing (an older kernel, huge pages off) leaves the pages to be faulted in as before.
 * NN_PREFAULT=0 turns it off (to measure it). */
#define _GNU_SOURCE
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* The zero-filled tail of the program's writable segment: .bss and .hydrated. */
static int nn_tail(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    uintptr_t *range = data, page = getauxval(AT_PAGESZ) ? getauxval(AT_PAGESZ) : 4096;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type != PT_LOAD || !(p->p_flags & PF_W) || p->p_memsz <= p->p_filesz) continue;
        range[0] = (info->dlpi_addr + p->p_vaddr + p->p_filesz + page - 1) & ~(page - 1);
        range[1] = (info->dlpi_addr + p->p_vaddr + p->p_memsz + page - 1) & ~(page - 1);
    }
    return 1; /* the first object is the program itself */
}

__attribute__((constructor)) static void nn_prefault(void) {
    const char *off = getenv("NN_PREFAULT");
    if (off && off[0] == '0') return;
    uintptr_t range[2] = { 0, 0 };
    dl_iterate_phdr(nn_tail, range);
    if (range[1] <= range[0]) return;
    size_t length = range[1] - range[0];
    if (length >= (size_t)2 << 20) madvise((void *)range[0], length, MADV_HUGEPAGE);
    madvise((void *)range[0], length, MADV_POPULATE_WRITE);
}
