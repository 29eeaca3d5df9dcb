/*
 * liveshopctl clips: ffmpeg run once per chapter of chapters.vtt (read
 * back strictly by the core, lshop_vtt_parse_chapters), without a shell:
 * titles and file names never reach one.
 */
#define _GNU_SOURCE /* pipe2 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "clips.h"

static void seconds_arg(char *out, size_t cap, int64_t ms)
{
	snprintf(out, cap, "%lld.%03d", (long long)(ms / 1000),
		 (int)(ms % 1000));
}

/*
 * Runs argv[0] (searched in PATH) and waits for it. 0 when it exits 0;
 * else -1 with why in why ("exit status 1", "killed by signal 9",
 * "cannot run ffmpeg: No such file or directory").
 */
static int run_program(char *const argv[], char *why, size_t cap)
{
	int fds[2], status, e = 0;
	ssize_t got;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(why, cap, "cannot run %s: %s", argv[0],
			 strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, cap, "cannot run %s: %s", argv[0],
			 strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		execvp(argv[0], argv);
		e = errno;
		(void)!write(fds[1], &e, sizeof(e));
		_exit(127);
	}
	close(fds[1]);
	do
		got = read(fds[0], &e, sizeof(e));
	while (got < 0 && errno == EINTR);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(why, cap, "waiting for %s: %s", argv[0],
				 strerror(errno));
			return -1;
		}
	}
	if (got == (ssize_t)sizeof(e)) {
		snprintf(why, cap, "cannot run %s: %s", argv[0], strerror(e));
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(why, cap, "%s failed with exit status %d", argv[0],
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(why, cap, "%s was killed by signal %d", argv[0],
			 WTERMSIG(status));
	else
		snprintf(why, cap, "%s ended oddly", argv[0]);
	return -1;
}

static json_t *seconds_json(int64_t ms)
{
	return json_real((double)ms / 1000.0);
}

static int write_index(const ctl_clips_job *job, json_t *clips)
{
	json_t *index = json_object();
	size_t cap = strlen(job->out_dir) + 32;
	char *tmp = malloc(cap), *dest = malloc(cap);
	int rc = -1;

	if (index == NULL || tmp == NULL || dest == NULL ||
	    json_object_set_new(index, "show", json_string(job->show)) ||
	    json_object_set_new(index, "stream", json_string(job->stream)) ||
	    json_object_set_new(index, "recording",
				json_string(job->recording)) ||
	    json_object_set(index, "clips", clips)) {
		fprintf(stderr, "liveshopctl: clips: out of memory\n");
		goto done;
	}
	snprintf(tmp, cap, "%s/.index.json.tmp", job->out_dir);
	snprintf(dest, cap, "%s/index.json", job->out_dir);
	if (json_dump_file(index, tmp,
			   JSON_INDENT(2) | JSON_REAL_PRECISION(15)) != 0) {
		fprintf(stderr, "liveshopctl: clips: cannot write %s\n", tmp);
		unlink(tmp);
		goto done;
	}
	if (rename(tmp, dest) != 0) {
		fprintf(stderr,
			"liveshopctl: clips: cannot rename %s to %s: %s\n", tmp,
			dest, strerror(errno));
		unlink(tmp);
		goto done;
	}
	rc = 0;
done:
	json_decref(index);
	free(tmp);
	free(dest);
	return rc;
}

int ctl_clips_cut(const ctl_clips_job *job, const lshop_vtt *chapters)
{
	char offer_id[LSHOP_ID_MAX + 1];
	const lshop_vtt_cue *c;
	unsigned number;
	char start[32], duration[32], name[LSHOP_ID_MAX + 32], why[256];
	size_t i, cap = strlen(job->out_dir) + sizeof(name) + 2;
	char *out = malloc(cap);
	json_t *clips = json_array(), *e;
	int rc = -1;

	if (out == NULL || clips == NULL) {
		fprintf(stderr, "liveshopctl: clips: out of memory\n");
		goto done;
	}
	if (mkdir(job->out_dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "liveshopctl: clips: cannot create %s: %s\n",
			job->out_dir, strerror(errno));
		goto done;
	}
	for (i = 0; i < chapters->ncues; i++) {
		char *argv[] = {(char *)job->ffmpeg,
				"-nostdin",
				"-hide_banner",
				"-loglevel",
				"error",
				"-y",
				"-ss",
				start,
				"-i",
				(char *)job->recording,
				"-t",
				duration,
				"-c",
				"copy",
				"-avoid_negative_ts",
				"make_zero",
				out,
				NULL};

		c = &chapters->cues[i];
		/* held to N-OFFERID by lshop_vtt_parse_chapters */
		if (lshop_vtt_chapter_id(c->id, &number, offer_id) != 0)
			goto done;
		snprintf(name, sizeof(name), "%02u-%s.mp4", number, offer_id);
		snprintf(out, cap, "%s/%s", job->out_dir, name);
		seconds_arg(start, sizeof(start), c->start_ms);
		seconds_arg(duration, sizeof(duration),
			    c->end_ms - c->start_ms);
		if (run_program(argv, why, sizeof(why)) != 0) {
			fprintf(stderr,
				"liveshopctl: clips: cue %u-%s (%s s + %s s): "
				"%s\n",
				number, offer_id, start, duration, why);
			goto done;
		}
		e = json_object();
		if (json_array_append_new(clips, e) ||
		    json_object_set_new(e, "file", json_string(name)) ||
		    json_object_set_new(e, "offer_id", json_string(offer_id)) ||
		    json_object_set_new(e, "title", json_string(c->text)) ||
		    json_object_set_new(e, "start",
					seconds_json(c->start_ms)) ||
		    json_object_set_new(e, "end", seconds_json(c->end_ms))) {
			fprintf(stderr,
				"liveshopctl: clips: cue %u-%s: out of "
				"memory\n",
				number, offer_id);
			goto done;
		}
		if (!job->quiet)
			printf("%s\n", out);
	}
	rc = write_index(job, clips);
	if (rc == 0 && !job->quiet)
		printf("%s/index.json\n", job->out_dir);
done:
	json_decref(clips);
	free(out);
	return rc;
}
