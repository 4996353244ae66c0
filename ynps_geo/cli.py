"""Command line: ``ynps-geo demo | analyze | standards``. Parses options and calls one workflow."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from ynps_geo import __version__
from ynps_geo.errors import YnpsGeoError, YnpsGeoWarning


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ynps-geo",
        description="Service coverage against Yunnan's 14th Five-Year Public Service Plan.",
    )
    p.add_argument("--version", action="version", version=f"ynps-geo {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more output (-vv: debug)")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run the full analysis on the embedded demo county")
    d.add_argument("--out", required=True, type=Path, help="output folder")
    d.add_argument("--seed", type=int, default=532901, help="seed of the demo generator")
    a = sub.add_parser("analyze", help="run the full analysis described by a YAML config")
    a.add_argument("config", type=Path, help="analysis config (YAML)")
    a.add_argument("--out", required=True, type=Path, help="output folder")
    s = sub.add_parser("standards", help="list the plan standards the tool knows")
    s.add_argument("--format", choices=["table", "csv"], default="table")
    return p


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S"
    )

    def show(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
        if issubclass(category, YnpsGeoWarning):
            logging.getLogger("ynps_geo").warning("%s", message)
        elif verbose:
            logging.getLogger("py.warnings").warning("%s: %s", category.__name__, message)

    warnings.showwarning = show
    for noisy in ("pyogrio", "fiona", "rasterio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ynps-geo``; returns the exit status."""
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    log = logging.getLogger("ynps_geo")
    try:
        from ynps_geo import workflows

        if args.command == "standards":
            table = workflows.standards_table()
            if args.format == "csv":
                table.to_csv(sys.stdout, index=False)
            else:
                for row in table.itertuples(index=False):
                    print(
                        f"{row.id:<36} {row.kind:<9} {row.threshold:<8} {row.mode:<14} "
                        f"{row.applies_to:<11} {row.title_zh}"
                    )
            return 0
        if args.command == "demo":
            result = workflows.demo(args.out, seed=args.seed, progress=log.info)
        else:
            result = workflows.analyze(args.config, args.out, progress=log.info)
        if result.failures:
            for county, err in result.failures.items():
                log.error("county %s failed: %s", county, err)
        log.info("wrote %s in %.1f s", args.out, result.timings.get("total", 0.0))
        return 2 if result.failures and len(result.failures) == len(result.counties) else 0
    except YnpsGeoError as err:
        print(f"ynps-geo: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ynps-geo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
