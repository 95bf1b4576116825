/* fake-systemd1.c: the fake systemd user manager as a program, for the lab: owns
 * org.freedesktop.systemd1 on the session bus, prints "ready", then reads commands from
 * standard input, one per line:
 *
 *   add UNIT STATE      a unit appears (UnitNew)
 *   state UNIT STATE    its ActiveState changes (PropertiesChanged)
 *   remove UNIT         it goes (UnitRemoved)
 *
 * and exits at the end of its input or on SIGTERM.
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdio.h>

#include <gio/gunixinputstream.h>
#include <glib-unix.h>

#include "pl-fake-systemd.h"

typedef struct
{
  PlFakeSystemd    *systemd;
  GDataInputStream *input;
  GMainLoop        *loop;
} App;

static void read_line (App *app);

static void
line_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  App *app = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source),
                                                                 result, NULL, &error);
  g_auto(GStrv) words = NULL;

  if (line == NULL)
    {
      g_main_loop_quit (app->loop);
      return;
    }
  words = g_strsplit (g_strstrip (line), " ", -1);
  if (g_strv_length (words) == 3 && g_str_equal (words[0], "add"))
    pl_fake_systemd_add_unit (app->systemd, words[1], words[2]);
  else if (g_strv_length (words) == 3 && g_str_equal (words[0], "state"))
    pl_fake_systemd_set_state (app->systemd, words[1], words[2]);
  else if (g_strv_length (words) == 2 && g_str_equal (words[0], "remove"))
    pl_fake_systemd_remove_unit (app->systemd, words[1]);
  else if (line[0] != '\0')
    g_printerr ("fake-systemd1: what is “%s”?\n", line);
  read_line (app);
}

static void
read_line (App *app)
{
  g_data_input_stream_read_line_async (app->input, G_PRIORITY_DEFAULT, NULL, line_cb, app);
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (((App *) user_data)->loop);
  return G_SOURCE_REMOVE;
}

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_autoptr(GInputStream) in = NULL;
  App app = { 0 };

  if (bus == NULL)
    {
      g_printerr ("fake-systemd1: %s\n", error->message);
      return 1;
    }
  app.systemd = pl_fake_systemd_new (bus, &error);
  if (app.systemd == NULL)
    {
      g_printerr ("fake-systemd1: %s\n", error->message);
      return 1;
    }
  in = g_unix_input_stream_new (0, FALSE);
  app.input = g_data_input_stream_new (in);
  app.loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, quit_cb, &app);
  printf ("ready\n");
  fflush (stdout);
  read_line (&app);
  g_main_loop_run (app.loop);
  g_clear_object (&app.input);
  g_clear_object (&app.systemd);
  g_main_loop_unref (app.loop);
  return 0;
}
