/*
 * measure PROGRAM [ARGS...]: runs PROGRAM and reports its own CPU time and peak RSS.
 *
 * Why a separate program: a child forked from the (large) benchmark process starts with the
 * parent's resident set, so its ru_maxrss can never be smaller than the parent's. Forked from
 * this tiny process, the high-water mark is the program's own. The report is the last line on
 * stderr: "MEASURE maxrss_kib=N cpu_us=N exit=N". Built and used by benches/scan.rs.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: measure PROGRAM [ARGS...]\n");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) return 2;
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror("exec");
		_exit(127);
	}
	int status = 0;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) return 2;
	long long cpu_us = (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
			   (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(stderr, "MEASURE maxrss_kib=%ld cpu_us=%lld exit=%d\n", ru.ru_maxrss, cpu_us, code);
	return code;
}
