"""``python -m syncer``: the same as the ``syncer`` command."""

from syncer.cli import main

if __name__ == "__main__":
    main()
