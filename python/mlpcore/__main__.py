"""``python -m mlpcore``: the command line; ``--cmakedir`` prints the C++ package's CMake folder."""
import sys


def _main() -> int:
    if sys.argv[1:] == ["--cmakedir"]:
        from pathlib import Path

        folder = Path(__file__).resolve().parent / "share" / "cmake" / "mlpcore"
        if not folder.is_dir():
            print(f"mlpcore: error: no C++ package at {folder} (it ships in an installed wheel, not in an "
                  "editable install; use `cmake --install` of the source tree instead)", file=sys.stderr)
            return 1
        print(folder)
        return 0
    from .cli import main

    return main()


if __name__ == "__main__":
    sys.exit(_main())
