"""``python -m mlpcore``: the command line; ``--cmakedir`` prints the C++ package's CMake folder."""
import sys


def _main() -> int:
    if sys.argv[1:] == ["--cmakedir"]:
        from pathlib import Path

        print(Path(__file__).resolve().parent / "share" / "cmake" / "mlpcore")
        return 0
    from .cli import main

    return main()


if __name__ == "__main__":
    sys.exit(_main())
