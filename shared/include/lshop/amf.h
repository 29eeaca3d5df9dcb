/*
 * liveshop core: the AMF0 body of the RTMP data message (type 18) that
 * carries an event to RTMP subscribers (SPEC §6):
 *
 *   "onCuePoint" {name: NAME, time: SECONDS, type: "event",
 *                 parameters: {seq: "17", json: EVENT_JSON}}
 *
 * NAME is the event type, or "state" for the state sent to a subscriber
 * that starts playing. Note: ffmpeg's FLV demuxer skips a script tag whose
 * AMF strings reach 1024 bytes, so compact JSON matters.
 */
#ifndef LSHOP_AMF_H
#define LSHOP_AMF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Writes the AMF0 body into buf. Strings longer than 65535 bytes are
 * written as AMF0 long strings. Returns the number of bytes of the whole
 * body; if that exceeds cap nothing usable is written and the caller
 * retries with a buffer of the returned size (snprintf style).
 */
size_t lshop_amf_cuepoint(uint8_t *buf, size_t cap, const char *name,
			  double time_s, uint64_t seq, const char *json,
			  size_t json_len);

#ifdef __cplusplus
}
#endif

#endif
