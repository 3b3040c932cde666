#define _GNU_SOURCE
#include "CThreads.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

int ms_affinity_cpus(int *first) {
    /* Sized for the machine: a fixed cpu_set_t holds 1024 CPUs, and sched_getaffinity fails
       with EINVAL on larger machines. */
    for (int n = 1024; n <= (1 << 20); n *= 2) {
        cpu_set_t *set = CPU_ALLOC(n);
        if (set == NULL) return -1;
        size_t size = CPU_ALLOC_SIZE(n);
        CPU_ZERO_S(size, set);
        if (sched_getaffinity(0, size, set) == 0) {
            int count = CPU_COUNT_S(size, set);
            if (first != NULL) {
                *first = -1;
                for (int i = 0; i < n && *first < 0; i++) {
                    if (CPU_ISSET_S(i, size, set)) *first = i;
                }
            }
            CPU_FREE(set);
            return count;
        }
        CPU_FREE(set);
        if (errno != EINVAL) return -1;
    }
    return -1;
}

int ms_pin_calling_thread(int cpu) {
    if (cpu < 0 || cpu >= (1 << 20)) return EINVAL;
    cpu_set_t *set = CPU_ALLOC(cpu + 1);
    if (set == NULL) return ENOMEM;
    size_t s = CPU_ALLOC_SIZE(cpu + 1);
    CPU_ZERO_S(s, set);
    CPU_SET_S(cpu, s, set);
    int rc = sched_setaffinity(0, s, set) == 0 ? 0 : errno;
    CPU_FREE(set);
    return rc;
}

int ms_name_calling_thread(const char *name) {
    char cut[16];
    strncpy(cut, name, sizeof(cut) - 1);
    cut[sizeof(cut) - 1] = 0;
    return pthread_setname_np(pthread_self(), cut);
}
