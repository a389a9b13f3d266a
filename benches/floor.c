/*
 * The floor: the least work a TCP connect scan can do on Linux, to measure how close
 * msvsmon-probe's engine comes to what the kernel allows.
 *
 * One thread per core, each with its own epoll set, walking its share of (address, port) pairs
 * in order: non-blocking socket + connect, edge-triggered EPOLLOUT, SO_ERROR, close. A fixed
 * timeout for silent sockets, no retries, no ICMP decoding, no greeting read, no output beyond
 * counts. Built and run by benches/scan.rs; not part of the product.
 *
 * usage: floor FIRST_IPV4 COUNT PORTS(comma list) CONCURRENCY TIMEOUT_MS THREADS
 * prints:  open=N closed=N timeout=N other=N
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint32_t first;
static uint64_t count;
static int ports[64];
static int nports;
static int concurrency;
static int timeout_ms;
static int nthreads;

struct slot { int fd; uint64_t deadline; };

struct result { uint64_t open, closed, timeout, other; };

static uint64_t now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *worker(void *arg) {
	long id = (long)arg;
	struct result *r = calloc(1, sizeof *r);
	uint64_t total = count * (uint64_t)nports;
	uint64_t lo = total * id / nthreads, hi = total * (id + 1) / nthreads, next = lo;
	int cap = concurrency / nthreads;
	if (cap < 1) cap = 1;
	int ep = epoll_create1(0);
	struct slot *slots = calloc(cap, sizeof *slots);
	int *free_idx = malloc(cap * sizeof *free_idx), nfree = cap, live = 0;
	for (int i = 0; i < cap; i++) { free_idx[i] = cap - 1 - i; slots[i].fd = -1; }
	struct epoll_event evs[1024];
	uint64_t last_sweep = now_ms();

	while (next < hi || live > 0) {
		while (next < hi && nfree > 0) {
			uint64_t k = next++;
			struct sockaddr_in sa = { .sin_family = AF_INET };
			sa.sin_addr.s_addr = htonl(first + (uint32_t)(k / nports));
			sa.sin_port = htons(ports[k % nports]);
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0) { r->other++; continue; }
			if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) { r->open++; close(fd); continue; }
			if (errno != EINPROGRESS) {
				if (errno == ECONNREFUSED) r->closed++; else r->other++;
				close(fd);
				continue;
			}
			int i = free_idx[--nfree];
			slots[i].fd = fd;
			slots[i].deadline = now_ms() + timeout_ms;
			struct epoll_event ev = { .events = EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)i };
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			live++;
		}
		/* Drain every ready socket before judging deadlines, so an answer that arrived while
		 * this thread was busy connecting is never counted as a timeout. */
		int n = epoll_wait(ep, evs, 1024, (next < hi && nfree > 0) ? 0 : 10);
		for (;;) {
		for (int e = 0; e < n; e++) {
			int i = (int)evs[e].data.u32;
			int fd = slots[i].fd, err = 0;
			socklen_t len = sizeof err;
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
			if (err == 0) r->open++; else if (err == ECONNREFUSED) r->closed++; else r->other++;
			close(fd);
			slots[i].fd = -1;
			free_idx[nfree++] = i;
			live--;
		}
		if (n < 1024) break;
		n = epoll_wait(ep, evs, 1024, 0);
		}
		if (next < hi && nfree > 0) continue;
		uint64_t t = now_ms();
		if (t - last_sweep >= 10) {
			last_sweep = t;
			for (int i = 0; i < cap; i++) {
				if (slots[i].fd >= 0 && slots[i].deadline <= t) {
					close(slots[i].fd);
					slots[i].fd = -1;
					free_idx[nfree++] = i;
					live--;
					r->timeout++;
				}
			}
		}
	}
	return r;
}

int main(int argc, char **argv) {
	if (argc != 7) {
		fprintf(stderr, "usage: floor FIRST_IPV4 COUNT PORTS CONCURRENCY TIMEOUT_MS THREADS\n");
		return 2;
	}
	struct in_addr a;
	if (inet_pton(AF_INET, argv[1], &a) != 1) return 2;
	first = ntohl(a.s_addr);
	count = strtoull(argv[2], NULL, 10);
	for (char *p = strtok(argv[3], ","); p && nports < 64; p = strtok(NULL, ",")) ports[nports++] = atoi(p);
	concurrency = atoi(argv[4]);
	timeout_ms = atoi(argv[5]);
	nthreads = atoi(argv[6]);
	pthread_t th[64];
	for (long i = 0; i < nthreads; i++) pthread_create(&th[i], NULL, worker, (void *)i);
	struct result sum = {0};
	for (int i = 0; i < nthreads; i++) {
		struct result *r;
		pthread_join(th[i], (void **)&r);
		sum.open += r->open; sum.closed += r->closed; sum.timeout += r->timeout; sum.other += r->other;
	}
	printf("open=%llu closed=%llu timeout=%llu other=%llu\n", (unsigned long long)sum.open,
	       (unsigned long long)sum.closed, (unsigned long long)sum.timeout, (unsigned long long)sum.other);
	return 0;
}
