/*
 * The ledger (ledger.h): lshop_ledger_read on any bytes, and
 * lshop_ledger_fold of any journal into any ledger. Input: the ledger,
 * a NUL, the journal (the rest). A ledger a fold writes must read back.
 */
#include "fuzz.h"
#include "lshop/ledger.h"

#define NOW INT64_C(1795514400000)

static int on_key(void *arg, const char *key, size_t len, int64_t at_ms)
{
	size_t *n = arg;

	(void)at_ms;
	FUZZ_CHECK(len < LSHOP_ORDER_KEY_MAX && strlen(key) == len);
	(*n)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in in = {data, size};
	char *ledger, *journal, *out;
	size_t ledger_len, journal_len, out_len, keys = 0;
	lshop_report *report;
	lshop_error err;
	int64_t file, file2;
	uint64_t seq, seq2;

	ledger = fuzz_field(&in, &ledger_len, 0);
	journal = fuzz_rest(&in, &journal_len);

	report = lshop_report_new();
	FUZZ_CHECK(report != NULL);
	(void)lshop_ledger_read(ledger, ledger_len, report, on_key, &keys,
				&file, &seq, &err);
	lshop_report_free(report);

	out = lshop_ledger_fold(ledger, ledger_len, journal, journal_len, NOW,
				&out_len, &err);
	if (out != NULL) {
		FUZZ_CHECK(out_len > 0 && out[out_len - 1] == '\n');
		report = lshop_report_new();
		FUZZ_CHECK(report != NULL);
		if (lshop_ledger_read(out, out_len, report, on_key, &keys,
				      &file2, &seq2, &err) != 0) {
			fprintf(stderr, "fold reads back: %s (%s): %s\n",
				err.code, err.field, err.message);
			FUZZ_CHECK(!"a folded ledger reads back");
		}
		lshop_report_free(report);
		free(out);
	} else {
		FUZZ_CHECK(err.code[0] != '\0');
	}
	free(ledger);
	free(journal);
	return 0;
}
