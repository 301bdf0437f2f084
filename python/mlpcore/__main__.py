"""``python -m mlpcore``: the command line; ``--cmakedir`` prints the C++ package's CMake folder."""
import sys


def _cmakedir() -> int:
    from pathlib import Path

    import mlpcore

    # An installed wheel holds share/cmake/mlpcore inside the package folder. An editable
    # install splits the package: Python sources in the source tree, built files (the C++
    # package among them) in site-packages; __path__ lists both.
    tried = []
    for entry in mlpcore.__path__:
        folder = Path(entry).resolve() / "share" / "cmake" / "mlpcore"
        if (folder / "mlpcoreConfig.cmake").is_file():
            print(folder)
            return 0
        tried.append(str(folder))
    print("mlpcore: error: no C++ package (mlpcoreConfig.cmake) in " + ", ".join(tried) + "; install mlpcore "
          "with pip, or use `cmake --install` of the source tree", file=sys.stderr)
    return 1


def _main() -> int:
    if sys.argv[1:] == ["--cmakedir"]:
        return _cmakedir()
    from .cli import main

    return main()


if __name__ == "__main__":
    sys.exit(_main())
