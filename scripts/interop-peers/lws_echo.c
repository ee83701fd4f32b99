/*
 * Echo server on libwebsockets (Debian's libwebsockets-dev), an interop peer for scripts/interop.
 *
 * Usage: lws_echo PORT
 *
 * Listens on 127.0.0.1:PORT, sends every text and binary message back whole with the same type, and
 * prints `ready` once listening. The library's defaults otherwise (no extensions, no UTF-8 check
 * unless asked for); messages over 64 MiB close the connection.
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MESSAGE (64u << 20)

/* A whole message waiting to be written, with LWS_PRE bytes of room before it. */
struct message {
	struct message *next;
	unsigned char *frame;
	size_t len;
	int binary;
};

/* One connection: the message being received, and the ones waiting to go back. */
struct session {
	unsigned char *buf;
	size_t len, cap;
	int binary;
	struct message *head, *tail;
};

static void drop_all(struct session *s)
{
	while (s->head) {
		struct message *m = s->head;
		s->head = m->next;
		free(m->frame);
		free(m);
	}
	s->tail = NULL;
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
}

/* Appends `len` bytes to the message being received; 0 when it no longer fits. */
static int append(struct session *s, const void *in, size_t len)
{
	if (s->len + len > MAX_MESSAGE)
		return 0;
	if (s->len + len > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + len)
			cap *= 2;
		unsigned char *grown = realloc(s->buf, cap);
		if (!grown)
			return 0;
		s->buf = grown;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, in, len);
	s->len += len;
	return 1;
}

/* Queues the message received so far to be echoed. */
static int queue(struct session *s)
{
	struct message *m = calloc(1, sizeof *m);
	if (!m)
		return 0;
	m->frame = malloc(LWS_PRE + s->len + 1);
	if (!m->frame) {
		free(m);
		return 0;
	}
	if (s->len)
		memcpy(m->frame + LWS_PRE, s->buf, s->len);
	m->len = s->len;
	m->binary = s->binary;
	if (s->tail)
		s->tail->next = m;
	else
		s->head = m;
	s->tail = m;
	s->len = 0;
	return 1;
}

static int callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			 size_t len)
{
	struct session *s = user;
	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		memset(s, 0, sizeof *s);
		break;
	case LWS_CALLBACK_RECEIVE:
		if (lws_is_first_fragment(wsi)) {
			s->len = 0;
			s->binary = lws_frame_is_binary(wsi);
		}
		if (!append(s, in, len))
			return -1;
		if (lws_is_final_fragment(wsi)) {
			if (!queue(s))
				return -1;
			lws_callback_on_writable(wsi);
		}
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE: {
		struct message *m = s->head;
		if (!m)
			break;
		int written = lws_write(wsi, m->frame + LWS_PRE, m->len,
					m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
		if (written < (int)m->len)
			return -1;
		s->head = m->next;
		if (!s->head)
			s->tail = NULL;
		free(m->frame);
		free(m);
		if (s->head)
			lws_callback_on_writable(wsi);
		break;
	}
	case LWS_CALLBACK_CLOSED:
		drop_all(s);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{"echo", callback_echo, sizeof(struct session), 4096, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: lws_echo PORT\n");
		return 2;
	}
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = atoi(argv[1]);
	info.iface = "127.0.0.1";
	info.protocols = protocols;
	lws_set_log_level(LLL_ERR, NULL);
	struct lws_context *context = lws_create_context(&info);
	if (!context)
		return 1;
	printf("ready\n");
	fflush(stdout);
	while (lws_service(context, 0) >= 0) {
	}
	lws_context_destroy(context);
	return 0;
}
