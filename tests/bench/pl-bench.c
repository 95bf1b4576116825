/* pl-bench.c: measuring helper for the benchmarks (tests/bench/bench.sh)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gio/gio.h>

/* Subcommands (all times are CLOCK_MONOTONIC, so that processes in different network
 * namespaces can be compared; milliseconds with three decimals):
 *
 *   rtt GATEWAY COUNT [udp|tcp|mixed PORT [new]]
 *                              NAT-PMP ping-pong with the gateway's port 5351: one request,
 *                              wait for its answer, COUNT times. Without a protocol the
 *                              request is the 2-byte address request, else a 12-byte map
 *                              request for PORT (lifetime 7200); with "new" for PORT, PORT+1,
 *                              ... (COUNT new mappings one after the other: the floor of a
 *                              client that maps COUNT profiles; "mixed" takes TCP and UDP in
 *                              turn). One line per answer (ms); unanswered requests (1 s) are
 *                              reported on stderr.
 *   pcp-rtt SOURCE SERVER COUNT [udp|tcp|mixed PORT [new]]
 *                              the same with PCP (RFC 6887): the socket is bound to SOURCE
 *                              (the client-IP field; for IPv6 the address a pinhole opens),
 *                              SERVER is an IPv4 or IPv6 address (fe80::1%eth0 for a
 *                              link-local one). Without a protocol the request is a 24-byte
 *                              ANNOUNCE, else a 60-byte MAP for PORT (lifetime 7200, one
 *                              fixed nonce per port, so that a repeat renews). Answers with a
 *                              result other than SUCCESS are counted on stderr.
 *   time COUNT LABEL=CMD...    runs the commands round-robin COUNT times each (posix_spawn,
 *                              no shell, output to /dev/null); one line "LABEL ms status".
 *   announce SECONDS           waits for the first datagram on UDP port 5350 (224.0.0.1
 *                              included); prints "time length hex", exit 1 if none came.
 *   stamp                      copies stdin to stdout, each line prefixed with the time it
 *                              was read.
 *   sn-watcher                 plays the panel on the session bus: owns
 *                              org.kde.StatusNotifierWatcher, says a host is registered, and
 *                              prints "time registered SERVICE" for every item that registers
 *                              ("ready" once the name is owned). Runs until killed.
 *   engine-address             the floor of any GDBus client asking the engine for the
 *                              public address: connects to the session bus (Hello), one
 *                              Properties.GetAll of the engine's Manager, prints its
 *                              ExternalAddress; what `portlightctl address` does through the
 *                              engine, in a program that links GIO alone.
 *   exec FILE CMD...           writes the time to FILE, then becomes CMD (same process).
 *   now                        prints the time.
 *   stats                      reads numbers (one per line) and prints
 *                              "n median p90 min max mean".
 *
 * It never judges a figure: benchmarks report. Nothing here sends anywhere but to the
 * address it is given (the lab's router). */

extern char **environ;

static double
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int
usage (void)
{
  fprintf (stderr,
           "usage: pl-bench rtt GATEWAY COUNT [udp|tcp|mixed PORT [new]]\n"
           "       pl-bench pcp-rtt SOURCE SERVER COUNT [udp|tcp|mixed PORT [new]]\n"
           "       pl-bench time COUNT LABEL=COMMAND...\n"
           "       pl-bench announce SECONDS\n"
           "       pl-bench exec FILE COMMAND...\n"
           "       pl-bench sn-watcher | engine-address | stamp | now | stats\n");
  return 2;
}

static gboolean
parse_uint (const char *text,
            guint64     max,
            guint64    *out)
{
  return g_ascii_string_to_unsigned (text, 10, 1, max, out, NULL);
}

static int
cmd_rtt (int    argc,
         char **argv)
{
  struct sockaddr_in gw = { 0 };
  guint64 count, port = 0;
  guint8 request[12] = { 0 };
  gsize request_len = 2;
  gboolean new_ports = FALSE;
  int proto = 0;  /* 0 address request, 1 UDP, 2 TCP, 3 TCP and UDP in turn */
  guint8 reply[64];
  guint lost = 0;
  int fd;

  if (argc < 2 || argc > 5 || !parse_uint (argv[1], 1000000, &count))
    return usage ();
  if (argc >= 4)
    {
      if (g_str_equal (argv[2], "udp"))
        proto = 1;
      else if (g_str_equal (argv[2], "tcp"))
        proto = 2;
      else if (g_str_equal (argv[2], "mixed"))
        proto = 3;
      else
        return usage ();
      if (!parse_uint (argv[3], 65535, &port))
        return usage ();
      request_len = 12;
    }
  else if (argc == 3)
    return usage ();
  if (argc == 5)
    {
      if (!g_str_equal (argv[4], "new") || port + count - 1 > 65535)
        return usage ();
      new_ports = TRUE;
    }
  else if (proto == 3)
    return usage ();
  gw.sin_family = AF_INET;
  gw.sin_port = htons (5351);
  if (inet_pton (AF_INET, argv[0], &gw.sin_addr) != 1)
    return usage ();

  fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *) &gw, sizeof gw) < 0)
    {
      perror ("pl-bench rtt: socket");
      return 1;
    }

  for (guint64 i = 0; i < count; i++)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      double t0, t1;
      gboolean answered = FALSE;

      if (proto != 0)
        {
          /* version 0, opcode (1 UDP, 2 TCP), reserved, private port, public port,
           * lifetime 7200 */
          guint16 p = htons ((guint16) (new_ports ? port + i : port));
          guint32 lifetime = htonl (7200);

          request[1] = proto == 3 ? (i % 2 == 0 ? 2 : 1) : proto;
          memcpy (request + 4, &p, 2);
          memcpy (request + 6, &p, 2);
          memcpy (request + 8, &lifetime, 4);
        }
      t0 = now_ms ();
      if (send (fd, request, request_len, 0) < 0)
        {
          perror ("pl-bench rtt: send");
          close (fd);
          return 1;
        }
      while (!answered)
        {
          double left = 1000.0 - (now_ms () - t0);
          ssize_t n;

          if (left <= 0 || poll (&pfd, 1, (int) left + 1) <= 0)
            break;
          n = recv (fd, reply, sizeof reply, 0);
          if (n < 0 && errno == ECONNREFUSED)
            {
              fprintf (stderr, "pl-bench rtt: refused by %s\n", argv[0]);
              close (fd);
              return 1;
            }
          /* the answer to this request: opcode + 128, and the same private port */
          if (n >= 8 && reply[1] == (guint8) (request[1] + 128) &&
              (proto == 0 || (n >= 16 && memcmp (reply + 8, request + 4, 2) == 0)))
            answered = TRUE;
        }
      t1 = now_ms ();
      if (answered)
        printf ("%.3f\n", t1 - t0);
      else
        lost++;
    }
  close (fd);
  if (lost > 0)
    fprintf (stderr, "pl-bench rtt: %u of %" G_GUINT64_FORMAT " requests unanswered\n",
             lost, count);
  return 0;
}

/* The 16-byte address field of PCP: IPv6 as it is, IPv4 as ::ffff:a.b.c.d. */
static void
pcp_address_field (const struct sockaddr_storage *sa,
                   guint8                        *field)
{
  memset (field, 0, 16);
  if (sa->ss_family == AF_INET6)
    memcpy (field, &((const struct sockaddr_in6 *) sa)->sin6_addr, 16);
  else
    {
      field[10] = field[11] = 0xff;
      memcpy (field + 12, &((const struct sockaddr_in *) sa)->sin_addr, 4);
    }
}

static int
cmd_pcp_rtt (int    argc,
             char **argv)
{
  struct addrinfo hints = { 0 }, *server = NULL, *source = NULL;
  struct sockaddr_storage local;
  socklen_t local_len = sizeof local;
  guint64 count, port = 0;
  guint8 request[60] = { 0 };
  gsize request_len = 24;
  gboolean new_ports = FALSE;
  int proto = 0;  /* 0 ANNOUNCE, 1 UDP, 2 TCP, 3 TCP and UDP in turn */
  guint8 reply[1100];
  guint lost = 0, refused_results = 0;
  int rc, fd;

  if (argc < 3 || argc > 6 || !parse_uint (argv[2], 1000000, &count))
    return usage ();
  if (argc >= 5)
    {
      if (g_str_equal (argv[3], "udp"))
        proto = 1;
      else if (g_str_equal (argv[3], "tcp"))
        proto = 2;
      else if (g_str_equal (argv[3], "mixed"))
        proto = 3;
      else
        return usage ();
      if (!parse_uint (argv[4], 65535, &port))
        return usage ();
      request_len = 60;
    }
  else if (argc == 4)
    return usage ();
  if (argc == 6)
    {
      if (!g_str_equal (argv[5], "new") || port + count - 1 > 65535)
        return usage ();
      new_ports = TRUE;
    }
  else if (proto == 3)
    return usage ();

  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  if ((rc = getaddrinfo (argv[1], "5351", &hints, &server)) != 0)
    {
      fprintf (stderr, "pl-bench pcp-rtt: %s: %s\n", argv[1], gai_strerror (rc));
      return 2;
    }
  hints.ai_family = server->ai_family;
  hints.ai_flags |= AI_PASSIVE;
  if ((rc = getaddrinfo (argv[0], "0", &hints, &source)) != 0)
    {
      fprintf (stderr, "pl-bench pcp-rtt: %s: %s\n", argv[0], gai_strerror (rc));
      freeaddrinfo (server);
      return 2;
    }
  fd = socket (server->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind (fd, source->ai_addr, source->ai_addrlen) < 0 ||
      connect (fd, server->ai_addr, server->ai_addrlen) < 0 ||
      getsockname (fd, (struct sockaddr *) &local, &local_len) < 0)
    {
      perror ("pl-bench pcp-rtt: socket");
      freeaddrinfo (server);
      freeaddrinfo (source);
      return 1;
    }
  freeaddrinfo (server);
  freeaddrinfo (source);

  /* version 2, opcode (0 ANNOUNCE, 1 MAP), reserved, lifetime, client IP */
  request[0] = 2;
  request[1] = proto == 0 ? 0 : 1;
  if (proto != 0)
    {
      guint32 lifetime = htonl (7200);

      memcpy (request + 4, &lifetime, 4);
    }
  pcp_address_field (&local, request + 8);
  if (proto != 0 && local.ss_family == AF_INET)
    {
      /* suggested external address: ::ffff:0.0.0.0 (IPv6: :: as it stands) */
      request[54] = request[55] = 0xff;
    }

  for (guint64 i = 0; i < count; i++)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      double t0, t1;
      gboolean answered = FALSE;

      if (proto != 0)
        {
          /* MAP: nonce, protocol, reserved, internal port, suggested external port */
          guint16 p = htons ((guint16) (new_ports ? port + i : port));
          int ip_proto = proto == 3 ? (i % 2 == 0 ? 6 : 17) : proto == 2 ? 6 : 17;

          memcpy (request + 24, "pl-bench", 8);
          memcpy (request + 32, &p, 2);
          request[34] = (guint8) ip_proto;
          request[35] = 0;
          request[36] = (guint8) ip_proto;
          memcpy (request + 40, &p, 2);
          memcpy (request + 42, &p, 2);
        }
      t0 = now_ms ();
      if (send (fd, request, request_len, 0) < 0)
        {
          perror ("pl-bench pcp-rtt: send");
          close (fd);
          return 1;
        }
      while (!answered)
        {
          double left = 1000.0 - (now_ms () - t0);
          ssize_t n;

          if (left <= 0 || poll (&pfd, 1, (int) left + 1) <= 0)
            break;
          n = recv (fd, reply, sizeof reply, 0);
          if (n < 0 && errno == ECONNREFUSED)
            {
              fprintf (stderr, "pl-bench pcp-rtt: refused by %s\n", argv[1]);
              close (fd);
              return 1;
            }
          /* the answer to this request: version 2, opcode + 128; a MAP's nonce and
           * internal port */
          if (n >= 24 && reply[0] == 2 && reply[1] == (guint8) (request[1] | 0x80) &&
              (proto == 0 || (n >= 60 && memcmp (reply + 24, request + 24, 12) == 0 &&
                              memcmp (reply + 40, request + 40, 2) == 0)))
            {
              answered = TRUE;
              if (reply[3] != 0)
                refused_results++;
            }
        }
      t1 = now_ms ();
      if (answered)
        printf ("%.3f\n", t1 - t0);
      else
        lost++;
    }
  close (fd);
  if (lost > 0)
    fprintf (stderr, "pl-bench pcp-rtt: %u of %" G_GUINT64_FORMAT " requests unanswered\n",
             lost, count);
  if (refused_results > 0)
    fprintf (stderr, "pl-bench pcp-rtt: %u answers with a result other than SUCCESS\n",
             refused_results);
  return 0;
}

typedef struct
{
  char  *label;
  char **argv;
} Command;

static int
cmd_time (int    argc,
          char **argv)
{
  g_autoptr(GArray) commands = g_array_new (FALSE, TRUE, sizeof (Command));
  posix_spawn_file_actions_t actions;
  guint64 count;
  int status = 0;

  if (argc < 2 || !parse_uint (argv[0], 100000, &count))
    return usage ();
  for (int i = 1; i < argc; i++)
    {
      const char *eq = strchr (argv[i], '=');
      g_autoptr(GError) error = NULL;
      Command c;

      if (eq == NULL || eq == argv[i])
        return usage ();
      c.label = g_strndup (argv[i], eq - argv[i]);
      if (!g_shell_parse_argv (eq + 1, NULL, &c.argv, &error))
        {
          fprintf (stderr, "pl-bench time: %s: %s\n", c.label, error->message);
          return 2;
        }
      g_array_append_val (commands, c);
    }

  posix_spawn_file_actions_init (&actions);
  posix_spawn_file_actions_addopen (&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen (&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen (&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);

  for (guint64 round = 0; round < count; round++)
    for (guint i = 0; i < commands->len; i++)
      {
        Command *c = &g_array_index (commands, Command, i);
        double t0, t1;
        pid_t pid;
        int rc;

        t0 = now_ms ();
        rc = posix_spawnp (&pid, c->argv[0], &actions, NULL, c->argv, environ);
        if (rc != 0)
          {
            fprintf (stderr, "pl-bench time: %s: %s\n", c->argv[0], g_strerror (rc));
            status = 1;
            goto out;
          }
        while (waitpid (pid, &rc, 0) < 0 && errno == EINTR)
          ;
        t1 = now_ms ();
        printf ("%s %.3f %d\n", c->label, t1 - t0,
                WIFEXITED (rc) ? WEXITSTATUS (rc) : 128 + WTERMSIG (rc));
        fflush (stdout);
      }

out:
  posix_spawn_file_actions_destroy (&actions);
  for (guint i = 0; i < commands->len; i++)
    {
      g_free (g_array_index (commands, Command, i).label);
      g_strfreev (g_array_index (commands, Command, i).argv);
    }
  return status;
}

static int
cmd_announce (int    argc,
              char **argv)
{
  struct sockaddr_in any = { 0 };
  struct sockaddr_in from;
  socklen_t from_len = sizeof from;
  struct pollfd pfd;
  guint8 buf[1100];
  guint64 seconds;
  ssize_t n;
  int one = 1;
  int fd;

  if (argc != 1 || !parse_uint (argv[0], 3600, &seconds))
    return usage ();

  fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  any.sin_family = AF_INET;
  any.sin_port = htons (5350);
  any.sin_addr.s_addr = htonl (INADDR_ANY);
  if (fd < 0 ||
      setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      setsockopt (fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
      bind (fd, (struct sockaddr *) &any, sizeof any) < 0)
    {
      perror ("pl-bench announce: bind 5350");
      return 1;
    }
  /* bound: the caller may go on */
  printf ("ready\n");
  fflush (stdout);

  pfd.fd = fd;
  pfd.events = POLLIN;
  if (poll (&pfd, 1, (int) seconds * 1000) <= 0)
    {
      close (fd);
      return 1;
    }
  n = recvfrom (fd, buf, sizeof buf, 0, (struct sockaddr *) &from, &from_len);
  if (n < 0)
    {
      close (fd);
      return 1;
    }
  printf ("%.3f %zd ", now_ms (), n);
  for (ssize_t i = 0; i < n && i < 32; i++)
    printf ("%02x", buf[i]);
  printf ("\n");
  close (fd);
  return 0;
}

static int
cmd_stamp (void)
{
  char *line = NULL;
  size_t size = 0;

  while (getline (&line, &size, stdin) > 0)
    {
      printf ("%.3f %s", now_ms (), line);
      fflush (stdout);
    }
  free (line);
  return 0;
}

/* sn-watcher */

static const char watcher_xml[] =
  "<node>"
  "  <interface name='org.kde.StatusNotifierWatcher'>"
  "    <method name='RegisterStatusNotifierItem'><arg type='s' direction='in'/></method>"
  "    <method name='RegisterStatusNotifierHost'><arg type='s' direction='in'/></method>"
  "    <property name='RegisteredStatusNotifierItems' type='as' access='read'/>"
  "    <property name='IsStatusNotifierHostRegistered' type='b' access='read'/>"
  "    <property name='ProtocolVersion' type='i' access='read'/>"
  "    <signal name='StatusNotifierItemRegistered'><arg type='s'/></signal>"
  "    <signal name='StatusNotifierItemUnregistered'><arg type='s'/></signal>"
  "    <signal name='StatusNotifierHostRegistered'/>"
  "  </interface>"
  "</node>";

static GPtrArray *watcher_items;

static void
watcher_method (GDBusConnection       *connection,
                const char            *sender,
                const char            *object_path,
                const char            *interface_name,
                const char            *method_name,
                GVariant              *parameters,
                GDBusMethodInvocation *invocation,
                gpointer               user_data)
{
  const char *arg = NULL;

  g_variant_get (parameters, "(&s)", &arg);
  if (g_str_equal (method_name, "RegisterStatusNotifierItem"))
    {
      /* the item names its bus name or only its object path (then it is the sender's) */
      g_autofree char *item = arg[0] == '/' ? g_strconcat (sender, arg, NULL) : g_strdup (arg);

      printf ("%.3f registered %s\n", now_ms (), item);
      fflush (stdout);
      g_ptr_array_add (watcher_items, g_strdup (item));
      g_dbus_connection_emit_signal (connection, NULL, object_path, interface_name,
                                     "StatusNotifierItemRegistered",
                                     g_variant_new ("(s)", item), NULL);
    }
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static GVariant *
watcher_get_property (GDBusConnection  *connection,
                      const char       *sender,
                      const char       *object_path,
                      const char       *interface_name,
                      const char       *property_name,
                      GError          **error,
                      gpointer          user_data)
{
  if (g_str_equal (property_name, "IsStatusNotifierHostRegistered"))
    return g_variant_new_boolean (TRUE);
  if (g_str_equal (property_name, "ProtocolVersion"))
    return g_variant_new_int32 (0);
  return g_variant_new_strv ((const char * const *) watcher_items->pdata, watcher_items->len);
}

static const GDBusInterfaceVTable watcher_vtable = {
  watcher_method, watcher_get_property, NULL, { 0 }
};

static void
watcher_name_acquired (GDBusConnection *connection,
                       const char      *name,
                       gpointer         user_data)
{
  printf ("ready\n");
  fflush (stdout);
}

static void
watcher_name_lost (GDBusConnection *connection,
                   const char      *name,
                   gpointer         user_data)
{
  fprintf (stderr, "pl-bench sn-watcher: could not own %s\n", name);
  exit (1);
}

static int
cmd_sn_watcher (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_autoptr(GDBusNodeInfo) info = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  if (bus == NULL)
    {
      fprintf (stderr, "pl-bench sn-watcher: %s\n", error->message);
      return 1;
    }
  watcher_items = g_ptr_array_new_null_terminated (4, g_free, TRUE);
  info = g_dbus_node_info_new_for_xml (watcher_xml, &error);
  g_assert_no_error (error);
  if (g_dbus_connection_register_object (bus, "/StatusNotifierWatcher", info->interfaces[0],
                                         &watcher_vtable, NULL, NULL, &error) == 0)
    {
      fprintf (stderr, "pl-bench sn-watcher: %s\n", error->message);
      return 1;
    }
  g_bus_own_name_on_connection (bus, "org.kde.StatusNotifierWatcher",
                                G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
                                watcher_name_acquired, watcher_name_lost, NULL, NULL);
  g_main_loop_run (loop);
  return 0;
}

static int
compare_double (gconstpointer a,
                gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static double
percentile (GArray *v,
            double  p)
{
  guint rank = (guint) (p / 100.0 * v->len + 0.999999);

  rank = CLAMP (rank, 1, v->len);
  return g_array_index (v, double, rank - 1);
}

static int
cmd_stats (void)
{
  g_autoptr(GArray) v = g_array_new (FALSE, FALSE, sizeof (double));
  char buf[256];
  double sum = 0, median;

  while (fgets (buf, sizeof buf, stdin) != NULL)
    {
      char *end;
      double x = g_ascii_strtod (buf, &end);

      if (end != buf)
        {
          g_array_append_val (v, x);
          sum += x;
        }
    }
  if (v->len == 0)
    {
      printf ("0 - - - - -\n");
      return 0;
    }
  g_array_sort (v, compare_double);
  if (v->len % 2 == 1)
    median = g_array_index (v, double, v->len / 2);
  else
    median = (g_array_index (v, double, v->len / 2 - 1) +
              g_array_index (v, double, v->len / 2)) / 2;
  printf ("%u %.3f %.3f %.3f %.3f %.3f\n", v->len, median, percentile (v, 90),
          g_array_index (v, double, 0), g_array_index (v, double, v->len - 1),
          sum / v->len);
  return 0;
}

static int
cmd_engine_address (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) properties = NULL;
  const char *address = NULL;

  if (bus != NULL)
    reply = g_dbus_connection_call_sync (bus, "io.github.portlight.Portlight.Broker1",
                                         "/io/github/portlight/Portlight/Broker1/Manager",
                                         "org.freedesktop.DBus.Properties", "GetAll",
                                         g_variant_new ("(s)",
                                                        "io.github.portlight.Portlight.Broker1.Manager"),
                                         G_VARIANT_TYPE ("(a{sv})"),
                                         G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, &error);
  if (reply == NULL)
    {
      fprintf (stderr, "pl-bench engine-address: %s\n", error->message);
      return 1;
    }
  properties = g_variant_get_child_value (reply, 0);
  if (!g_variant_lookup (properties, "ExternalAddress", "&s", &address) || address[0] == '\0')
    {
      fprintf (stderr, "pl-bench engine-address: the engine knows no address\n");
      return 1;
    }
  printf ("%s\n", address);
  return 0;
}

int
main (int    argc,
      char **argv)
{
  if (argc < 2)
    return usage ();
  /* a benchmark killed half-way must not leave a child behind a dead pipe */
  signal (SIGPIPE, SIG_DFL);

  if (g_str_equal (argv[1], "rtt"))
    return cmd_rtt (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "pcp-rtt"))
    return cmd_pcp_rtt (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "time"))
    return cmd_time (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "announce"))
    return cmd_announce (argc - 2, argv + 2);
  if (g_str_equal (argv[1], "stamp"))
    return cmd_stamp ();
  if (g_str_equal (argv[1], "sn-watcher"))
    return cmd_sn_watcher ();
  if (g_str_equal (argv[1], "engine-address"))
    return cmd_engine_address ();
  if (g_str_equal (argv[1], "exec") && argc >= 4)
    {
      FILE *f = fopen (argv[2], "w");

      if (f == NULL)
        {
          perror (argv[2]);
          return 1;
        }
      fprintf (f, "%.3f\n", now_ms ());
      fclose (f);
      execvp (argv[3], argv + 3);
      perror (argv[3]);
      return 127;
    }
  if (g_str_equal (argv[1], "now"))
    {
      printf ("%.3f\n", now_ms ());
      return 0;
    }
  if (g_str_equal (argv[1], "stats"))
    return cmd_stats ();
  return usage ();
}
