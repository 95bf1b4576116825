/* pl-port-hook.c: runs a profile's OnPortChange command when its public port changes
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>


#include "pl-clock.h"
#include "pl-port-hook.h"
#include "pl-profile.h"

/* Lines of one run's output written to the log; the rest is read and dropped. */
#define MAX_LOGGED_LINES 200
/* How long the output may stay open after the command exited (a child holding it). */
#define DRAIN_MS         1000

typedef struct
{
  gboolean  set;
  guint16   port;
  char     *address;
} Pending;

struct _PlPortHook
{
  GObject        parent_instance;
  GMainContext  *context;
  char          *profile_name;
  char          *command;
  guint          timeout_ms;
  guint          kill_timeout_ms;

  gboolean       running;        /* a run is in progress: started, not finished */
  GSubprocess   *process;        /* its process until it exited */
  GPid           group;          /* its process group */
  GDataInputStream *output;      /* its stdout and stderr until read to the end */
  GCancellable  *output_cancellable;
  guint          lines;
  GSource       *timer;          /* SIGTERM, then SIGKILL; after the exit, the drain */
  gboolean       terminated;     /* SIGTERM sent */
  gboolean       killed;         /* SIGKILL sent */
  gboolean       exited;         /* the process is gone; the run ends with its output */
  gboolean       success;
  char          *end_message;
  Pending        pending[2];     /* [0] TCP, [1] UDP: the newest change not yet run */
};

G_DEFINE_FINAL_TYPE (PlPortHook, pl_port_hook, G_TYPE_OBJECT)

enum {
  SIGNAL_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void run_next (PlPortHook *self);
static void maybe_finish (PlPortHook *self);
static gboolean timer_cb (gpointer data);

static guint
slot_of (PlProtocol protocol)
{
  return protocol == PL_PROTOCOL_TCP ? 0 : 1;
}

static void
pending_clear (Pending *pending)
{
  pending->set = FALSE;
  pending->port = 0;
  g_clear_pointer (&pending->address, g_free);
}

static void
pl_port_hook_finalize (GObject *object)
{
  PlPortHook *self = PL_PORT_HOOK (object);

  /* A run holds references: there is none now. */
  g_assert (!self->running && self->process == NULL && self->output == NULL);
  pl_clear_source (&self->timer);
  g_clear_object (&self->output_cancellable);
  g_free (self->end_message);
  for (guint i = 0; i < G_N_ELEMENTS (self->pending); i++)
    pending_clear (&self->pending[i]);
  g_free (self->profile_name);
  g_free (self->command);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (pl_port_hook_parent_class)->finalize (object);
}

static void
pl_port_hook_class_init (PlPortHookClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = pl_port_hook_finalize;

  /**
   * PlPortHook::finished:
   * @self: the hook
   * @success: whether the command exited with status 0
   * @message: how it ended, for the log
   *
   * Emitted after each run of the command.
   */
  signals[SIGNAL_FINISHED] =
    g_signal_new ("finished",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_STRING);
}

static void
pl_port_hook_init (PlPortHook *self)
{
  self->timeout_ms = PL_PORT_HOOK_DEFAULT_TIMEOUT_MS;
  self->kill_timeout_ms = PL_PORT_HOOK_DEFAULT_KILL_MS;
  self->context = g_main_context_ref_thread_default ();
}

PlPortHook *
pl_port_hook_new (const char *profile_name,
                  const char *command)
{
  PlPortHook *self;

  g_return_val_if_fail (profile_name != NULL, NULL);

  self = g_object_new (PL_TYPE_PORT_HOOK, NULL);
  self->profile_name = g_strdup (profile_name);
  pl_port_hook_set_command (self, command);
  return self;
}

const char *
pl_port_hook_get_profile_name (PlPortHook *self)
{
  g_return_val_if_fail (PL_IS_PORT_HOOK (self), NULL);

  return self->profile_name;
}

void
pl_port_hook_set_command (PlPortHook *self,
                          const char *command)
{
  g_return_if_fail (PL_IS_PORT_HOOK (self));

  if (command != NULL && *command == '\0')
    command = NULL;
  g_free (self->command);
  self->command = g_strdup (command);
}

const char *
pl_port_hook_get_command (PlPortHook *self)
{
  g_return_val_if_fail (PL_IS_PORT_HOOK (self), NULL);

  return self->command;
}

void
pl_port_hook_set_timeout (PlPortHook *self,
                          guint       timeout_ms,
                          guint       kill_timeout_ms)
{
  g_return_if_fail (PL_IS_PORT_HOOK (self));
  g_return_if_fail (timeout_ms > 0 && kill_timeout_ms > 0);

  self->timeout_ms = timeout_ms;
  self->kill_timeout_ms = kill_timeout_ms;
}

gboolean
pl_port_hook_get_running (PlPortHook *self)
{
  g_return_val_if_fail (PL_IS_PORT_HOOK (self), FALSE);

  return self->running;
}

/**
 * pl_port_hook_expand:
 * @words: the command's words, as pl_profile_validate_on_port_change() gives them
 * @protocol: the mapping's protocol (%P)
 * @port: the public port (%p)
 * @address: (nullable): the public address (%a), or %NULL while unknown
 *
 * Returns: (transfer full): the words to run
 */
char **
pl_port_hook_expand (const char * const *words,
                     PlProtocol          protocol,
                     guint16             port,
                     const char         *address)
{
  g_autoptr(GStrvBuilder) out = g_strv_builder_new ();

  g_return_val_if_fail (words != NULL, NULL);

  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autoptr(GString) word = g_string_new (NULL);

      for (const char *p = words[i]; *p != '\0'; p++)
        {
          if (*p != '%' || p[1] == '\0')
            {
              g_string_append_c (word, *p);
              continue;
            }
          switch (p[1])
            {
            case 'p':
              g_string_append_printf (word, "%u", port);
              break;
            case 'a':
              g_string_append (word, address != NULL ? address : "");
              break;
            case 'P':
              g_string_append (word, pl_protocol_to_string (protocol));
              break;
            case '%':
              g_string_append_c (word, '%');
              break;
            default:
              g_string_append_c (word, '%');
              g_string_append_c (word, p[1]);
              break;
            }
          p++;
        }
      g_strv_builder_add (out, word->str);
    }
  return g_strv_builder_end (out);
}

/* Output: read line by line and logged while the command runs. A run ends when the command
 * has exited and its output is read to the end; a child it left behind holding the pipe
 * gets DRAIN_MS, then the reading stops. */

static void
output_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(PlPortHook) self = user_data;   /* the reading's reference */
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL,
                                                    &error);
  if (line == NULL && error != NULL &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
    {
      /* Not UTF-8: said so, and the rest of the line is dropped with it. */
      if (++self->lines <= MAX_LOGGED_LINES)
        g_message ("OnPortChange of profile “%s”: (a line that is not UTF-8)",
                   self->profile_name);
    }
  else if (line == NULL)
    {
      if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("OnPortChange of profile “%s”: output: %s", self->profile_name,
                 error->message);
      if (self->lines > MAX_LOGGED_LINES)
        g_message ("OnPortChange of profile “%s”: %u more lines of output not logged",
                   self->profile_name, self->lines - MAX_LOGGED_LINES);
      g_clear_object (&self->output);
      maybe_finish (self);
      return;
    }
  else if (++self->lines <= MAX_LOGGED_LINES)
    g_message ("OnPortChange of profile “%s”: %s", self->profile_name, line);

  /* The next line; the reference goes with it. */
  g_data_input_stream_read_line_async (self->output, G_PRIORITY_DEFAULT,
                                       self->output_cancellable, output_cb,
                                       g_object_ref (self));
}

/* Running. */

static void
signal_group (PlPortHook *self,
              int         signum)
{
  /* The leader is not reaped before wait_cb, and the group lives while it has members, so
   * the id cannot have been reused. */
  if (self->group > 0 && kill (-self->group, signum) != 0 && errno != ESRCH)
    g_debug ("OnPortChange of profile “%s”: kill: %s", self->profile_name,
             g_strerror (errno));
}

static void
arm_timer (PlPortHook *self,
           guint       ms)
{
  pl_clear_source (&self->timer);
  self->timer = g_timeout_source_new (ms);
  g_source_set_callback (self->timer, timer_cb, self, NULL);
  g_source_set_static_name (self->timer, "[portlight] OnPortChange timeout");
  g_source_attach (self->timer, self->context);
}

/* While the command runs: SIGTERM at the timeout, SIGKILL after the kill timeout. Once it
 * has exited: the output has had its time. */
static gboolean
timer_cb (gpointer data)
{
  PlPortHook *self = data;

  g_clear_pointer (&self->timer, g_source_unref);
  if (self->exited)
    {
      g_cancellable_cancel (self->output_cancellable);
      return G_SOURCE_REMOVE;
    }
  if (!self->terminated)
    {
      g_message ("OnPortChange of profile “%s” still running after %u ms: stopping it",
                 self->profile_name, self->timeout_ms);
      self->terminated = TRUE;
      signal_group (self, SIGTERM);
      arm_timer (self, self->kill_timeout_ms);
    }
  else
    {
      g_message ("OnPortChange of profile “%s” ignored SIGTERM: killing it", self->profile_name);
      self->killed = TRUE;
      signal_group (self, SIGKILL);
    }
  return G_SOURCE_REMOVE;
}

static void
maybe_finish (PlPortHook *self)
{
  g_autofree char *message = NULL;
  gboolean success;

  if (!self->exited)
    return;
  if (self->output != NULL)
    {
      if (self->timer == NULL)
        arm_timer (self, DRAIN_MS);
      return;
    }

  pl_clear_source (&self->timer);
  g_clear_object (&self->output_cancellable);
  message = g_steal_pointer (&self->end_message);
  success = self->success;
  self->running = FALSE;
  self->exited = FALSE;

  g_message ("OnPortChange of profile “%s” %s", self->profile_name, message);
  g_signal_emit (self, signals[SIGNAL_FINISHED], 0, success, message);
  run_next (self);
}

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(PlPortHook) self = user_data;
  GSubprocess *process = G_SUBPROCESS (source);
  g_autoptr(GError) error = NULL;

  self->success = FALSE;
  g_free (self->end_message);
  if (!g_subprocess_wait_finish (process, result, &error))
    self->end_message = g_strdup_printf ("could not wait for it: %s", error->message);
  else if (self->terminated || self->killed)
    self->end_message = g_strdup_printf ("stopped (%s) after %u ms",
                                         self->killed ? "SIGKILL" : "SIGTERM",
                                         self->timeout_ms);
  else if (g_subprocess_get_if_exited (process))
    {
      self->success = g_subprocess_get_exit_status (process) == 0;
      self->end_message = g_strdup_printf ("exited with status %d",
                                           g_subprocess_get_exit_status (process));
    }
  else
    self->end_message = g_strdup_printf ("ended by signal %d",
                                         g_subprocess_get_term_sig (process));

  pl_clear_source (&self->timer);
  /* Whatever the command left behind in its group goes with it. */
  if (self->terminated || self->killed)
    signal_group (self, SIGKILL);
  self->group = 0;
  g_clear_object (&self->process);
  self->exited = TRUE;
  maybe_finish (self);
}

static void
child_setup (gpointer user_data)
{
  /* Its own process group, so that the timeout stops what it started as well. */
  setpgid (0, 0);
}

static gboolean
start (PlPortHook *self,
       PlProtocol  protocol,
       guint16     port,
       const char *address)
{
  g_auto(GStrv) words = NULL;
  g_auto(GStrv) argv = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *shown = NULL;
  const char *identifier;

  if (self->command == NULL)
    return FALSE;
  if (!pl_profile_validate_on_port_change (self->profile_name, self->command, &words, &error))
    {
      g_message ("%s", error->message);
      return FALSE;
    }

  argv = pl_port_hook_expand ((const char * const *) words, protocol, port, address);
  shown = g_strjoinv (" ", argv);
  g_message ("OnPortChange of profile “%s”: running %s", self->profile_name, shown);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  self->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv, &error);
  if (self->process == NULL)
    {
      g_message ("OnPortChange of profile “%s” could not be started: %s", self->profile_name,
                 error->message);
      g_signal_emit (self, signals[SIGNAL_FINISHED], 0, FALSE, error->message);
      return FALSE;
    }

  identifier = g_subprocess_get_identifier (self->process);
  self->group = identifier != NULL ? (GPid) g_ascii_strtoll (identifier, NULL, 10) : 0;
  self->running = TRUE;
  self->exited = FALSE;
  self->terminated = FALSE;
  self->killed = FALSE;
  self->lines = 0;

  /* Nothing to read from us. */
  g_output_stream_close (g_subprocess_get_stdin_pipe (self->process), NULL, NULL);
  self->output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->process));
  g_data_input_stream_set_newline_type (self->output, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  self->output_cancellable = g_cancellable_new ();
  g_data_input_stream_read_line_async (self->output, G_PRIORITY_DEFAULT,
                                       self->output_cancellable, output_cb, g_object_ref (self));

  arm_timer (self, self->timeout_ms);
  g_subprocess_wait_async (self->process, NULL, wait_cb, g_object_ref (self));
  return TRUE;
}

/* The next change waiting, TCP first; one that cannot be started is dropped (and logged). */
static void
run_next (PlPortHook *self)
{
  while (!self->running)
    {
      Pending *next = NULL;
      g_autofree char *address = NULL;
      PlProtocol protocol;
      guint16 port;

      if (self->pending[0].set)
        next = &self->pending[0];
      else if (self->pending[1].set)
        next = &self->pending[1];
      else
        return;

      protocol = next == &self->pending[0] ? PL_PROTOCOL_TCP : PL_PROTOCOL_UDP;
      port = next->port;
      address = g_steal_pointer (&next->address);
      pending_clear (next);
      start (self, protocol, port, address);
    }
}

void
pl_port_hook_port_changed (PlPortHook *self,
                           PlProtocol  protocol,
                           guint16     port,
                           const char *address)
{
  Pending *pending;

  g_return_if_fail (PL_IS_PORT_HOOK (self));
  g_return_if_fail (protocol == PL_PROTOCOL_TCP || protocol == PL_PROTOCOL_UDP);

  if (self->command == NULL)
    return;

  /* The newest values replace any still waiting for the same protocol. */
  pending = &self->pending[slot_of (protocol)];
  pending_clear (pending);
  pending->set = TRUE;
  pending->port = port;
  pending->address = g_strdup (address);

  if (self->running)
    {
      g_debug ("OnPortChange of profile “%s” still running: port %u (%s) runs after it",
               self->profile_name, port, pl_protocol_to_string (protocol));
      return;
    }
  run_next (self);
}
