/*
 * Files the whole pool maps and shares ($app.run_dir/<name>): the metrics, the session cache.
 * Each starts with a struct shm_head. The first worker to map one, and the first after a
 * reboot or after an upgrade that changed its layout, sizes it and zeroes it.
 */
#ifndef SK_SHM_H
#define SK_SHM_H
#include <stddef.h>
#include <stdint.h>

struct shm_head {
	uint64_t magic;			/* which file this is */
	uint64_t size;			/* the layout's size: another means another version */
	char boot_id[40];		/* the boot that made it: monotonic clocks restart */
};

/* The mapping (size bytes, zeroed when new), or NULL (logged) when it cannot be shared. */
void *shm_map(const char *run_dir, const char *name, size_t size, uint64_t magic);
void shm_unmap(void *p, size_t size);

#endif
