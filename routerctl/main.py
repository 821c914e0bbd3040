"""``routerctl``: the control client. Thin: it forwards requests to the daemon and renders replies.

Exit codes: 0 success; 1 the daemon answered with an error; 2 bad usage; 3 the daemon is not
running; 4 the daemon did not answer in time or did not start. Heavy modules are imported inside the
commands that need them, so ``routerctl --help`` stays fast.
"""


import click

from routerctl import output

EXIT_DAEMON_ERROR = 1
EXIT_NOT_RUNNING = 3
EXIT_TIMEOUT = 4


class RouterctlGroup(click.Group):
    """Turns the client's expected failures into one line and a documented exit code."""

    def invoke(self, ctx: click.Context):
        from routerctl.client import ConnectionLost, DaemonError, DaemonNotRunning, Unreachable
        from routerd.framing import MAX_FRAME, FrameTooLarge

        try:
            return super().invoke(ctx)
        except FrameTooLarge as exc:
            output.fail(f"the request is {exc.size / 2**20:.1f} MiB; routerd takes at most "
                        f"{MAX_FRAME / 2**20:.0f} MiB per request", 2)
        except DaemonNotRunning as exc:
            output.fail(f"{exc}. Start it with `routerctl start` (or `routerd` in the foreground).",
                        EXIT_NOT_RUNNING)
        except Unreachable as exc:
            output.fail(str(exc), EXIT_NOT_RUNNING)
        except DaemonError as exc:
            if exc.code == "shutting_down":  # it answers while it drains: say so, not "not running"
                output.fail(str(exc.reply.get("message") or "routerd is stopping"), EXIT_DAEMON_ERROR)
            output.fail(f"routerd: {exc}", EXIT_DAEMON_ERROR)
        except TimeoutError:
            output.fail("routerd did not answer in time", EXIT_TIMEOUT)
        except ConnectionLost as exc:
            output.fail(f"lost the connection to routerd: {exc}", EXIT_DAEMON_ERROR)
        except BrokenPipeError:
            output.quiet_exit()  # our reader (`| head`) stopped reading: not an error


@click.group(cls=RouterctlGroup)
@click.option("--socket", "socket_path", envvar="ROUTERD_SOCKET", type=click.Path(),
              help="daemon socket (default: $ROUTERD_SOCKET or $XDG_RUNTIME_DIR/routerd/routerd.sock)")
@click.version_option(package_name="routerd", prog_name="routerctl")
@click.pass_context
def cli(ctx: click.Context, socket_path: str | None) -> None:
    """Control routerd, the local-first LLM router."""
    from pathlib import Path

    from routerd.paths import socket_path as default_socket

    ctx.obj = Path(socket_path) if socket_path else default_socket()


def _register() -> None:
    from routerctl import cmd_daemon, cmd_install, cmd_resilience, cmd_routing, cmd_service, cmd_state, cmd_usage

    for module in (cmd_daemon, cmd_state, cmd_usage, cmd_routing, cmd_install, cmd_service, cmd_resilience):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="routerctl")


if __name__ == "__main__":
    main()
