/*
 * lshop_journal_replay on any bytes: a journal torn by a crash, cut by
 * a full disk or corrupted on it. Replay must skip what it cannot read
 * and say so, and what it hands the callbacks must be whole.
 * Catch-up on the same bytes, after a seq taken from the middle byte:
 * lshop_journal_seek stays within the file, and on a journal every line
 * of which replays, lshop_journal_events from where it points hands out
 * exactly the events the full replay does after that seq.
 */
#include "fuzz.h"
#include "lshop/journal.h"

struct seen {
	size_t offers, events, orders, checkpoints;
	uint64_t last_seq;
};

static int on_offer(void *arg, const lshop_offer *offer, int64_t at_ms)
{
	struct seen *s = arg;

	(void)at_ms;
	FUZZ_CHECK(lshop_id_valid(offer->id, strlen(offer->id)));
	s->offers++;
	return 0;
}

static int on_checkpoint(void *arg, uint64_t seq, int64_t file)
{
	struct seen *s = arg;

	(void)seq;
	/* checkpoint.file is optional: 0 when a checkpoint has none */
	FUZZ_CHECK(file >= 0);
	s->checkpoints++;
	return 0;
}

static int on_order(void *arg, const lshop_order *order, lshop_provider p,
		    int64_t at_ms)
{
	struct seen *s = arg;
	size_t i;

	(void)at_ms;
	FUZZ_CHECK(lshop_provider_name(p) != NULL);
	FUZZ_CHECK(order->nitems <= LSHOP_ORDER_ITEMS_MAX);
	/* a refund line's items may hold 0 units; an order's never */
	FUZZ_CHECK(order->refund == 0 || order->refund == 1);
	for (i = 0; i < order->nitems; i++)
		FUZZ_CHECK(order->items[i].quantity >= (order->refund ? 0 : 1));
	s->orders++;
	return 0;
}

static int on_event(void *arg, const lshop_event *ev, const char *json,
		    size_t len, int restored)
{
	struct seen *s = arg;

	FUZZ_CHECK(memchr(json, '\n', len) == NULL);
	FUZZ_CHECK(lshop_event_type_name(ev->type) != NULL);
	s->events++;
	if (!restored)
		s->last_seq = ev->seq;
	return 0;
}

/* The events after a seq, as a count, a sum and the last seq. */
struct after {
	uint64_t after, count, sum, last;
};

static int on_event_after(void *arg, const lshop_event *ev,
			  const char *json, size_t len, int restored)
{
	struct after *a = arg;

	(void)json;
	(void)len;
	if (restored || ev->seq <= a->after)
		return 0;
	a->count++;
	a->sum += ev->seq;
	a->last = ev->seq;
	return 0;
}

struct file {
	const char *buf;
	size_t size;
};

static int64_t read_file(void *arg, char *buf, size_t len, int64_t offset)
{
	const struct file *f = arg;
	size_t n;

	FUZZ_CHECK(offset >= 0 && (size_t)offset <= f->size);
	n = f->size - (size_t)offset < len ? f->size - (size_t)offset : len;
	memcpy(buf, f->buf + offset, n);
	return (int64_t)n;
}

static void check_catch_up(const char *buf, size_t size, uint64_t after,
			   int whole)
{
	struct after full = {after, 0, 0, 0}, part = {after, 0, 0, 0};
	lshop_replay_ops all = {.arg = &full, .event = on_event_after};
	lshop_replay_ops some = {.arg = &part, .event = on_event_after};
	struct file f = {buf, size};
	lshop_state st;
	int64_t offset = -1;
	int r;

	r = lshop_journal_seek(read_file, &f, (int64_t)size, after, &offset);
	FUZZ_CHECK(r == 0 || r == 1);
	FUZZ_CHECK(offset >= 0 && (size_t)offset <= size);
	FUZZ_CHECK(lshop_journal_events(buf + offset, size - (size_t)offset,
					after, UINT64_MAX, &some, NULL) == 0);
	if (!whole)
		return;
	lshop_state_init(&st);
	FUZZ_CHECK(lshop_journal_replay(buf, size, &st, &all, NULL) == 0);
	FUZZ_CHECK(part.count == full.count && part.sum == full.sum &&
		   part.last == full.last);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_copy(data, size);
	struct seen seen = {0, 0, 0, 0, 0};
	lshop_replay_ops ops = {.arg = &seen,
				.offer = on_offer,
				.checkpoint = on_checkpoint,
				.order = on_order,
				.event = on_event};
	lshop_replay_result res;
	lshop_state st;
	int64_t file;

	file = lshop_journal_file(buf, size);
	FUZZ_CHECK(file >= 0);
	lshop_state_init(&st);
	memset(&res, 0, sizeof(res));
	FUZZ_CHECK(lshop_journal_replay(buf, size, &st, &ops, &res) == 0);
	FUZZ_CHECK(res.last_good <= size);
	FUZZ_CHECK(res.torn <= 1);
	FUZZ_CHECK(res.torn == (size > 0 && data[size - 1] != '\n'));
	/* Events are applied in order: the state is at the last of them. */
	FUZZ_CHECK(st.seq >= seen.last_seq);
	FUZZ_CHECK(memchr(res.first_problem.message, 0,
			  sizeof(res.first_problem.message)));
	/* The good lines alone replay to the same state, untorn. */
	if (res.last_good < size) {
		lshop_replay_ops none = {.arg = NULL};
		lshop_replay_result again;
		lshop_state st2;

		lshop_state_init(&st2);
		memset(&again, 0, sizeof(again));
		FUZZ_CHECK(lshop_journal_replay(buf, res.last_good, &st2, &none,
						&again) == 0);
		FUZZ_CHECK(again.torn == 0 && again.last_good == res.last_good);
		FUZZ_CHECK(st2.seq == st.seq);
	}
	check_catch_up(buf, size, size ? data[size / 2] % 24 : 0,
		       res.skipped == 0 && res.torn == 0);
	free(buf);
	return 0;
}
