/*
 * liveshopctl clips: chapters.vtt read back strictly (the server is its
 * only writer, so anything else is a mistake worth naming), and ffmpeg
 * run once per chapter, without a shell: titles and file names never
 * reach one.
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

#define CTL_CHAPTERS_MAX 100000 /* cues; far above what a show keeps */

/* One line of the file: [*pos, its end), *pos moved past its ending. */
static int next_line(const char *vtt, size_t len, size_t *pos,
		     const char **line, size_t *n)
{
	const char *nl;

	if (*pos >= len)
		return 0;
	*line = vtt + *pos;
	nl = memchr(*line, '\n', len - *pos);
	*n = nl ? (size_t)(nl - *line) : len - *pos;
	*pos += *n + (nl != NULL);
	if (*n > 0 && (*line)[*n - 1] == '\r')
		(*n)--;
	return 1;
}

/* HH:MM:SS.mmm (2 or more hour digits) at s; the characters used, or 0. */
static size_t parse_time(const char *s, size_t n, int64_t *ms)
{
	size_t i = 0, digits = 0;
	int64_t h = 0;
	int m, sec, f;

	while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 9) {
		h = h * 10 + (s[i++] - '0');
		digits++;
	}
	if (digits < 2 || n - i < 10 || s[i] != ':' || s[i + 3] != ':' ||
	    s[i + 6] != '.')
		return 0;
	if (sscanf(s + i, ":%2d:%2d.%3d", &m, &sec, &f) != 3 || m > 59 ||
	    sec > 59)
		return 0;
	for (digits = 1; digits < 10; digits++) {
		if (digits == 3 || digits == 6)
			continue;
		if (s[i + digits] < '0' || s[i + digits] > '9')
			return 0;
	}
	*ms = ((h * 60 + m) * 60 + sec) * 1000 + f;
	return i + 10;
}

/* The cue text with &amp; &lt; &gt; resolved; NULL on ENOMEM. */
static char *unescape(const char *s, size_t n)
{
	static const struct {
		const char *ref;
		char c;
	} refs[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}};
	char *out = malloc(n + 1), *o = out;
	size_t i = 0, r, k;

	if (out == NULL)
		return NULL;
	while (i < n) {
		for (r = 0; s[i] == '&' && r < 3; r++) {
			k = strlen(refs[r].ref);
			if (n - i >= k && memcmp(s + i, refs[r].ref, k) == 0)
				break;
		}
		if (s[i] == '&' && r < 3) {
			*o++ = refs[r].c;
			i += strlen(refs[r].ref);
		} else {
			*o++ = s[i++];
		}
	}
	*o = '\0';
	return out;
}

void ctl_chapters_free(ctl_chapter *c, size_t n)
{
	size_t i;

	for (i = 0; c != NULL && i < n; i++)
		free(c[i].title);
	free(c);
}

int ctl_chapters_parse(const char *vtt, size_t len, ctl_chapter **out,
		       size_t *n, char *err, size_t errcap)
{
	ctl_chapter *c = NULL, *p;
	size_t pos = 0, ln = 0, cap = 0, count = 0, k, used;
	const char *line, *dash;
	int64_t last = 0;
	char *end;
	unsigned long num;

#define BAD(...)                                                               \
	do {                                                                   \
		int w_ = snprintf(err, errcap, "line %zu: ", ln);              \
		if (w_ >= 0 && (size_t)w_ < errcap)                            \
			snprintf(err + w_, errcap - (size_t)w_, __VA_ARGS__);  \
		goto fail;                                                     \
	} while (0)

	if (!next_line(vtt, len, &pos, &line, &k) ||
	    !(k == 6 || (k > 6 && (line[6] == ' ' || line[6] == '\t'))) ||
	    memcmp(line, "WEBVTT", 6) != 0) {
		ln = 1;
		BAD("expected the header WEBVTT");
	}
	ln = 1;
	if (!next_line(vtt, len, &pos, &line, &k))
		goto done; /* the header alone */
	ln++;
	if (k != 0)
		BAD("expected a blank line after WEBVTT");
	while (next_line(vtt, len, &pos, &line, &k)) {
		ln++;
		if (k == 0)
			BAD("expected a cue identifier N-OFFERID, not a "
			    "blank line");
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			if (cap > CTL_CHAPTERS_MAX)
				BAD("more than %d cues", CTL_CHAPTERS_MAX);
			p = realloc(c, cap * sizeof(*c));
			if (p == NULL)
				BAD("out of memory");
			c = p;
		}
		p = &c[count];
		memset(p, 0, sizeof(*p));
		/* N-OFFERID */
		dash = memchr(line, '-', k);
		errno = 0;
		num = strtoul(line, &end, 10);
		if (dash == NULL || line[0] < '0' || line[0] > '9' ||
		    end != dash || errno || num == 0 || num > 999999 ||
		    !lshop_id_valid(dash + 1, k - (size_t)(dash + 1 - line)))
			BAD("expected a cue identifier N-OFFERID (N from 1, "
			    "OFFERID 1-64 of A-Z a-z 0-9 . _ -)");
		p->number = (unsigned)num;
		memcpy(p->offer_id, dash + 1, k - (size_t)(dash + 1 - line));
		/* HH:MM:SS.mmm --> HH:MM:SS.mmm */
		if (!next_line(vtt, len, &pos, &line, &k))
			BAD("the file ends after a cue identifier");
		ln++;
		used = parse_time(line, k, &p->start_ms);
		if (used == 0 || k - used < 5 ||
		    memcmp(line + used, " --> ", 5) != 0)
			BAD("expected HH:MM:SS.mmm --> HH:MM:SS.mmm");
		k -= used + 5;
		line += used + 5;
		used = parse_time(line, k, &p->end_ms);
		if (used == 0 || used != k)
			BAD("expected HH:MM:SS.mmm --> HH:MM:SS.mmm (and no "
			    "cue settings)");
		if (p->end_ms <= p->start_ms)
			BAD("the cue ends before it starts");
		if (p->start_ms < last)
			BAD("the cue starts before the previous one ends");
		/* the text: one line, then a blank line or the end */
		ln++;
		if (!next_line(vtt, len, &pos, &line, &k) || k == 0)
			BAD("expected the cue's text (title and price)");
		p->title = unescape(line, k);
		if (p->title == NULL)
			BAD("out of memory");
		count++;
		last = p->end_ms;
		if (next_line(vtt, len, &pos, &line, &k)) {
			ln++;
			if (k != 0)
				BAD("expected a blank line after the cue's "
				    "one line of text");
		}
	}
done:
	*out = c;
	*n = count;
	return 0;
fail:
	ctl_chapters_free(c, count);
	return -1;
#undef BAD
}

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

int ctl_clips_cut(const ctl_clips_job *job, const ctl_chapter *c, size_t n)
{
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
	for (i = 0; i < n; i++) {
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

		snprintf(name, sizeof(name), "%02u-%s.mp4", c[i].number,
			 c[i].offer_id);
		snprintf(out, cap, "%s/%s", job->out_dir, name);
		seconds_arg(start, sizeof(start), c[i].start_ms);
		seconds_arg(duration, sizeof(duration),
			    c[i].end_ms - c[i].start_ms);
		if (run_program(argv, why, sizeof(why)) != 0) {
			fprintf(stderr,
				"liveshopctl: clips: cue %u-%s (%s s + %s s): "
				"%s\n",
				c[i].number, c[i].offer_id, start, duration,
				why);
			goto done;
		}
		e = json_object();
		if (json_array_append_new(clips, e) ||
		    json_object_set_new(e, "file", json_string(name)) ||
		    json_object_set_new(e, "offer_id",
					json_string(c[i].offer_id)) ||
		    json_object_set_new(e, "title", json_string(c[i].title)) ||
		    json_object_set_new(e, "start",
					seconds_json(c[i].start_ms)) ||
		    json_object_set_new(e, "end", seconds_json(c[i].end_ms))) {
			fprintf(stderr,
				"liveshopctl: clips: cue %u-%s: its "
				"title is no UTF-8, or out of memory\n",
				c[i].number, c[i].offer_id);
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
