#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "shm.h"

/* This boot's id (empty if the kernel does not say). */
static void
shm_boot_id(char out[40])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	size_t n = 0;

	memset(out, 0, 40);
	if (f != NULL) {
		n = fread(out, 1, 39, f);
		fclose(f);
	}
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\0'))
		out[--n] = '\0';
}

void *
shm_map(const char *run_dir, const char *name, size_t size, uint64_t magic)
{
	char path[4096], boot[40];
	struct shm_head *head;
	struct stat st;
	void *p = NULL;
	int fd;

	snprintf(path, sizeof path, "%s/%s", run_dir, name);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		log_warn("%s: %s", path, strerror(errno));
		return NULL;
	}
	shm_boot_id(boot);
	flock(fd, LOCK_EX);
	if ((fstat(fd, &st) != 0 || (uint64_t)st.st_size != size) &&
	    (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)size) != 0)) {
		log_warn("%s: %s", path, strerror(errno));
		goto out;
	}
	if ((p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		log_warn("mmap %s: %s", path, strerror(errno));
		p = NULL;
		goto out;
	}
	head = p;
	if (head->magic != magic || head->size != size || memcmp(head->boot_id, boot, 40) != 0) {
		/* Zeroed by truncating, not by writing: pages nobody uses stay unallocated and out
		 * of every mapper's resident size. */
		if (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)size) != 0) {
			log_warn("%s: %s", path, strerror(errno));
			munmap(p, size);
			p = NULL;
			goto out;
		}
		head->magic = magic;
		head->size = size;
		memcpy(head->boot_id, boot, 40);
	}
out:
	flock(fd, LOCK_UN);
	close(fd);
	return p;
}

void
shm_unmap(void *p, size_t size)
{
	if (p != NULL)
		munmap(p, size);
}
