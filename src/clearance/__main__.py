"""``python -m clearance`` and the ``clearance`` console script: import the CLI, then run it.

Ctrl-C while Python is still importing the CLI (a second or more on a busy machine) gets the same one
``interrupted:`` line and exit status 130 as Ctrl-C inside a command, not a traceback.
"""

import sys


def run() -> None:
    try:
        from clearance.cli import main
    except KeyboardInterrupt:
        print("interrupted: stopped by Ctrl-C while starting; nothing was written", file=sys.stderr)
        raise SystemExit(130) from None
    main()


if __name__ == "__main__":
    run()
