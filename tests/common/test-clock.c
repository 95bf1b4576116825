/* test-clock.c: the real and the virtual PlClock
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-core.h"

#define MS(ms) ((gint64) (ms) * 1000)

typedef struct
{
  PlClock *clock;
  GArray  *fired;      /* guint: tag of each timeout, in firing order */
  GArray  *times;      /* gint64: clock time at each firing */
} State;

typedef struct
{
  State *state;
  guint  tag;
} Timeout;

static void
state_init (State   *state,
            PlClock *clock)
{
  state->clock = clock;
  state->fired = g_array_new (FALSE, FALSE, sizeof (guint));
  state->times = g_array_new (FALSE, FALSE, sizeof (gint64));
}

static void
state_clear (State *state)
{
  g_clear_pointer (&state->fired, g_array_unref);
  g_clear_pointer (&state->times, g_array_unref);
}

static gboolean
timeout_cb (gpointer user_data)
{
  Timeout *timeout = user_data;
  State *state = timeout->state;
  gint64 now = pl_clock_get_time (state->clock);

  g_array_append_val (state->fired, timeout->tag);
  g_array_append_val (state->times, now);
  return G_SOURCE_REMOVE;
}

static GSource *
add_timeout (State   *state,
             guint64  delay_ms,
             guint    tag)
{
  GSource *source = pl_clock_timeout_source_new (state->clock, delay_ms);
  Timeout *timeout = g_new0 (Timeout, 1);

  timeout->state = state;
  timeout->tag = tag;
  g_source_set_callback (source, timeout_cb, timeout, g_free);
  g_source_attach (source, NULL);
  return source;
}

static void
drain (void)
{
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

static void
test_virtual_advance (void)
{
  g_autoptr(PlClock) clock = pl_clock_new_virtual (FALSE);
  g_autoptr(GSource) source = NULL;
  State state;

  g_test_summary ("Without auto-advance, virtual time moves only with pl_clock_advance(), and a "
                  "timeout fires once it is due");

  state_init (&state, clock);
  g_assert_true (pl_clock_is_virtual (clock));
  g_assert_cmpint (pl_clock_get_time (clock), ==, 0);

  source = add_timeout (&state, 1000, 1);
  drain ();
  g_assert_cmpuint (state.fired->len, ==, 0);
  g_assert_cmpint (pl_clock_get_time (clock), ==, 0);

  pl_clock_advance (clock, MS (999));
  drain ();
  g_assert_cmpuint (state.fired->len, ==, 0);
  g_assert_cmpint (pl_clock_get_time (clock), ==, MS (999));

  pl_clock_advance (clock, MS (1));
  drain ();
  g_assert_cmpuint (state.fired->len, ==, 1);
  g_assert_cmpint (g_array_index (state.times, gint64, 0), ==, MS (1000));
  g_assert_true (g_source_is_destroyed (source));

  /* It fires once only. */
  pl_clock_advance (clock, MS (5000));
  drain ();
  g_assert_cmpuint (state.fired->len, ==, 1);
  g_assert_cmpint (pl_clock_get_time (clock), ==, MS (6000));

  /* A zero delay is due at once. */
  g_clear_pointer (&source, g_source_unref);
  source = add_timeout (&state, 0, 2);
  drain ();
  g_assert_cmpuint (state.fired->len, ==, 2);

  state_clear (&state);
}

static void
test_virtual_ordering (void)
{
  g_autoptr(PlClock) clock = pl_clock_new_virtual (FALSE);
  static const guint64 delays[] = { 300, 100, 200, 100000, 50 };
  static const guint expected[] = { 4, 1, 2, 0, 3 };
  State state;

  g_test_summary ("Virtual timeouts fire in deadline order, each at its own deadline, when time "
                  "is advanced past all of them step by step");

  state_init (&state, clock);
  for (guint i = 0; i < G_N_ELEMENTS (delays); i++)
    g_source_unref (add_timeout (&state, delays[i], i));

  /* 1 ms steps up to 300 ms, then one big jump. */
  for (guint i = 0; i < 300; i++)
    {
      pl_clock_advance (clock, MS (1));
      drain ();
    }
  g_assert_cmpuint (state.fired->len, ==, 4);
  pl_clock_advance (clock, MS (200000));
  drain ();

  g_assert_cmpuint (state.fired->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_assert_cmpuint (g_array_index (state.fired, guint, i), ==, expected[i]);
      if (i < 4)
        g_assert_cmpint (g_array_index (state.times, gint64, i), ==, MS (delays[expected[i]]));
    }

  state_clear (&state);
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static gboolean
chain_cb (gpointer user_data)
{
  State *state = user_data;
  gint64 now = pl_clock_get_time (state->clock);
  guint tag = state->fired->len;

  g_array_append_val (state->fired, tag);
  g_array_append_val (state->times, now);

  /* Each firing schedules the next, twice as far, like a retransmission schedule. */
  if (state->fired->len < 10)
    pl_clock_timeout_add (state->clock, 250u << state->fired->len, chain_cb, state);

  return G_SOURCE_REMOVE;
}

static void
test_virtual_auto_advance (void)
{
  g_autoptr(PlClock) clock = pl_clock_new_virtual (TRUE);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  gint64 real_start = g_get_monotonic_time ();
  gint64 expected = 0;
  State state;

  g_test_summary ("With auto-advance, an idle main loop jumps straight to the next timeout: "
                  "hours of virtual time pass in well under a second, exactly");

  state_init (&state, clock);
  g_assert_cmpuint (pl_clock_timeout_add (clock, 250, chain_cb, &state), !=, 0);
  pl_clock_timeout_add (clock, 1000u * 3600 * 5, quit_cb, loop);
  g_main_loop_run (loop);

  g_assert_cmpint (pl_clock_get_time (clock), ==, MS (1000u * 3600 * 5));
  g_assert_cmpuint (state.fired->len, ==, 10);
  for (guint i = 0; i < 10; i++)
    {
      expected += MS (250u << i);
      g_assert_cmpint (g_array_index (state.times, gint64, i), ==, expected);
    }
  g_assert_cmpint (g_get_monotonic_time () - real_start, <, G_USEC_PER_SEC);

  /* With nothing left to wait for, the context goes quiet and time stays put. */
  drain ();
  g_assert_false (g_main_context_pending (NULL));
  g_assert_cmpint (pl_clock_get_time (clock), ==, MS (1000u * 3600 * 5));

  state_clear (&state);
}

static void
test_virtual_destroyed (void)
{
  g_autoptr(PlClock) clock = pl_clock_new_virtual (TRUE);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  GSource *far;
  State state;

  g_test_summary ("A destroyed virtual timeout neither fires nor pulls time forward");

  state_init (&state, clock);
  far = add_timeout (&state, 500000, 1);
  g_source_destroy (far);
  pl_clock_timeout_add (clock, 10000, quit_cb, loop);
  g_main_loop_run (loop);
  drain ();

  g_assert_cmpint (pl_clock_get_time (clock), ==, MS (10000));
  g_assert_cmpuint (state.fired->len, ==, 0);
  g_source_unref (far);

  state_clear (&state);
}

typedef struct
{
  PlClock   *clock;
  GMainLoop *loop;
  gint64     received_at;
  guint      received;
} SocketState;

static gboolean
readable_cb (GSocket      *socket,
             GIOCondition  condition,
             gpointer      user_data)
{
  SocketState *state = user_data;
  char buf[64];

  while (g_socket_receive (socket, buf, sizeof buf, NULL, NULL) >= 0)
    {
      state->received++;
      state->received_at = pl_clock_get_time (state->clock);
    }

  return G_SOURCE_CONTINUE;
}

static void
test_virtual_socket_first (void)
{
  g_autoptr(PlClock) clock = pl_clock_new_virtual (TRUE);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) receiver = NULL;
  g_autoptr(GSocket) sender = NULL;
  g_autoptr(GSource) source = NULL;
  g_autoptr(GError) error = NULL;
  SocketState state = { clock, loop, -1, 0 };

  g_test_summary ("Loopback traffic is processed before auto-advance moves time on");

  receiver = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                           G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (receiver, FALSE);
  g_socket_bind (receiver, any, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (receiver, &error);
  g_assert_no_error (error);
  sender = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);

  source = g_socket_create_source (receiver, G_IO_IN, NULL);
  g_source_set_callback (source, G_SOURCE_FUNC (readable_cb), &state, NULL);
  g_source_attach (source, NULL);

  /* A timeout far away; the datagrams must be seen at time 0, not after the jump. */
  pl_clock_timeout_add (clock, 60000, quit_cb, loop);
  for (guint i = 0; i < 3; i++)
    {
      g_socket_send_to (sender, bound, "x", 1, NULL, &error);
      g_assert_no_error (error);
    }
  g_main_loop_run (loop);

  g_assert_cmpuint (state.received, ==, 3);
  g_assert_cmpint (state.received_at, ==, 0);
  g_assert_cmpint (pl_clock_get_time (clock), ==, MS (60000));

  g_source_destroy (source);
}

static void
test_virtual_dispose (void)
{
  PlClock *clock = pl_clock_new_virtual (TRUE);
  GSource *source;
  State state;

  g_test_summary ("A virtual clock can go away with timeouts pending: they never fire");

  state_init (&state, clock);
  source = add_timeout (&state, 100, 1);
  g_object_unref (clock);
  state.clock = NULL;

  drain ();
  g_assert_cmpuint (state.fired->len, ==, 0);
  g_assert_false (g_main_context_pending (NULL));

  g_source_destroy (source);
  g_source_unref (source);
  state_clear (&state);
}

static void
test_real (void)
{
  g_autoptr(PlClock) clock = pl_clock_get_default ();
  g_autoptr(PlClock) again = pl_clock_get_default ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  gint64 start, end;

  g_test_summary ("The real clock is one shared instance, is not virtual, never goes back, and "
                  "its timeouts wait real time");

  g_assert_true (clock == again);
  g_assert_false (pl_clock_is_virtual (clock));

  start = pl_clock_get_time (clock);
  g_assert_cmpint (start, >, 0);
  g_assert_cmpint (pl_clock_get_time (clock), >=, start);

  pl_clock_timeout_add (clock, 20, quit_cb, loop);
  g_main_loop_run (loop);
  end = pl_clock_get_time (clock);
  g_assert_cmpint (end - start, >=, MS (20) - 1000);
  g_assert_cmpint (end - start, <, G_USEC_PER_SEC * 10);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/pm/clock/virtual/advance", test_virtual_advance);
  g_test_add_func ("/pm/clock/virtual/ordering", test_virtual_ordering);
  g_test_add_func ("/pm/clock/virtual/auto-advance", test_virtual_auto_advance);
  g_test_add_func ("/pm/clock/virtual/destroyed", test_virtual_destroyed);
  g_test_add_func ("/pm/clock/virtual/socket-first", test_virtual_socket_first);
  g_test_add_func ("/pm/clock/virtual/dispose", test_virtual_dispose);
  g_test_add_func ("/pm/clock/real", test_real);

  return g_test_run ();
}
