// What Glibc's Swift module leaves out (it needs _GNU_SOURCE): a thread's CPU affinity and
// its name.
#ifndef CTHREADS_H
#define CTHREADS_H
// CPUs in the calling thread's affinity mask, and (unless NULL) the lowest of them in
// *first; -1 when the system will not say.
int ms_affinity_cpus(int *first);
// Pins the calling thread to one CPU (tests); 0 on success, else an errno.
int ms_pin_calling_thread(int cpu);
// Names the calling thread (at most 15 bytes are kept); 0 on success, else an errno.
int ms_name_calling_thread(const char *name);
#endif
