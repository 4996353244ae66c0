"""Command line: ``ynps-geo demo | analyze | report | compare | sites | standards |
config-schema | fetch | cache``.

Each command parses its options and calls one workflow (or one download function).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ynps_geo import __version__
from ynps_geo.errors import DataSourceError, YnpsGeoError, YnpsGeoWarning


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
    d.add_argument(
        "--seed", type=_seed, default=532901, help="seed of the demo generator (0 to 2**32-1)"
    )
    d.add_argument(
        "--force",
        action="store_true",
        help="overwrite the demo inputs (OUT/data) left by an earlier demo run",
    )
    a = sub.add_parser("analyze", help="run the full analysis described by a YAML config")
    a.add_argument("config", type=Path, help="analysis config (YAML)")
    a.add_argument("--out", required=True, type=Path, help="output folder")
    a.add_argument(
        "--scenario",
        type=Path,
        help="planned facilities (a YAML of facility layers, or the 'sites' command's output "
        "as is): baseline, scenario and gain side by side",
    )
    _county_options(a)
    c = sub.add_parser(
        "compare",
        help="what changed between two runs (output folders of analyze, or dated report folders)",
    )
    c.add_argument("before", type=Path, help="the earlier run's folder")
    c.add_argument("after", type=Path, help="the later run's folder")
    c.add_argument("--out", required=True, type=Path, help="folder for the comparison report")
    r = sub.add_parser(
        "report",
        help="scheduled report: the analysis into a dated subfolder of --out, atomically, "
        "reusing cached travel times when the inputs are unchanged",
    )
    r.add_argument("config", type=Path, help="analysis config (YAML)")
    r.add_argument("--out", required=True, type=Path, help="folder of dated reports")
    r.add_argument("--no-cache", action="store_true", help="recompute even if inputs are unchanged")
    r.add_argument(
        "--stamp",
        help="name of the dated folder (default today, YYYY-MM-DD); a report compares itself "
        "with the latest earlier one",
    )
    _county_options(r)
    r.add_argument("--log", type=Path, help="log file (default OUT/ynps-geo.log)")
    t = sub.add_parser(
        "sites", help="where new facilities would close most of a standard's gap (siting)"
    )
    t.add_argument("config", type=Path, help="analysis config (YAML)")
    t.add_argument("--standard", required=True, help="a circle standard id, e.g. health_15min")
    t.add_argument("-p", type=int, default=3, help="number of new facilities (default 3)")
    t.add_argument("--county", help="county to site in (when the config has several)")
    t.add_argument("--method", choices=["greedy", "exact"], default="greedy")
    t.add_argument("--out", type=Path, help="write the sites to this GeoPackage/GeoParquet")
    c = sub.add_parser(
        "config-schema",
        help="print the JSON Schema of the analysis config (for editors and validators)",
    )
    c.add_argument("--out", type=Path, help="write it to this file instead of the screen")
    s = sub.add_parser("standards", help="list the plan standards the tool knows")
    s.add_argument("--format", choices=["table", "csv"], default="table")
    _fetch_parser(sub)
    c = sub.add_parser("cache", help="the cache of results and downloads: where, how big, clear")
    c.add_argument("action", choices=["info", "clear"], help="info: folder and size; clear: empty")
    return p


def _seed(text: str) -> int:
    """A demo seed: a whole number from 0 to 2**32 - 1 (numpy's seed range)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        msg = f"invalid seed {text!r}: give a whole number from 0 to 4294967295"
        raise argparse.ArgumentTypeError(msg)
    return value


def _county_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--county",
        action="append",
        help="analyse only this county (repeatable); split a province across machines",
    )
    p.add_argument("--jobs", type=int, help="counties in parallel worker processes (default 1)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the counties on this Dask cluster (tcp://host:8786, or a scheduler file "
        "ending in .json); the workers read the inputs from the config's paths. Needs "
        "pip install 'ynps-geo[dask]'",
    )


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {"counties": args.county, "jobs": args.jobs, "scheduler": args.scheduler}


def _fetch_parser(sub: Any) -> None:
    """``ynps-geo fetch roads|facilities|worldpop`` (needs internet; see io.download)."""
    f = sub.add_parser(
        "fetch",
        help="download OSM roads or facilities (Overpass) or WorldPop population (online only)",
    )
    what = f.add_subparsers(dest="source", required=True)
    for name, help_, example in (
        ("roads", "OSM roads and paths of a bbox as .osm XML", "roads.osm"),
        ("facilities", "OSM public-service facilities of a bbox as GeoJSON", "pois.geojson"),
    ):
        o = what.add_parser(name, help=help_)
        o.add_argument(
            "--bbox",
            required=True,
            help="MINLON,MINLAT,MAXLON,MAXLAT in WGS84 degrees, one county (--bbox=-1,... "
            "when it starts with a minus sign)",
        )
        o.add_argument("--out", required=True, type=Path, help=f"output file, e.g. {example}")
        o.add_argument(
            "--endpoint",
            help="Overpass interpreter URL (default $YNPS_GEO_OVERPASS_URL, else "
            "https://overpass-api.de/api/interpreter)",
        )
        o.add_argument("--timeout", type=int, default=180, help="server timeout, seconds")
        o.add_argument("--retries", type=int, default=3, help="retries on 5xx and drops")
        o.add_argument(
            "--max-area-km2",
            type=float,
            help="largest area asked in one Overpass request; larger ones are split "
            "(default 2500, osmnx's)",
        )
    w = what.add_parser("worldpop", help="WorldPop 100 m population GeoTIFF of a country")
    w.add_argument("--iso3", default="CHN", help="ISO3 country code (default CHN)")
    w.add_argument("--year", type=int, default=2020, help="2000-2020 (default 2020)")
    w.add_argument("--constrained", action="store_true", help="constrained variant (2020)")
    w.add_argument("--no-un-adjusted", action="store_true", help="totals not UN-adjusted")
    w.add_argument("--out", required=True, type=Path, help="output file, e.g. pop.tif")
    w.add_argument(
        "--endpoint", help="server root replacing https://data.worldpop.org/GIS/Population"
    )
    w.add_argument("--sha256", help="expected SHA-256 of the file")
    w.add_argument("--timeout", type=int, default=60, help="socket timeout, seconds")
    w.add_argument("--retries", type=int, default=3, help="retries on errors and drops")


def _fetch(args: argparse.Namespace) -> int:
    from ynps_geo.io import download as dl

    if args.source == "worldpop":
        kw = {"base": args.endpoint} if args.endpoint else {}
        url = dl.worldpop_url(
            args.iso3,
            args.year,
            constrained=args.constrained,
            un_adjusted=not args.no_un_adjusted,
            **kw,
        )
        dl.download(url, args.out, timeout_s=args.timeout, retries=args.retries, sha256=args.sha256)
        return 0
    fetch = dl.fetch_roads if args.source == "roads" else dl.fetch_facilities
    fetch(
        dl.parse_bbox(args.bbox),
        args.out,
        endpoint=args.endpoint,
        timeout_s=args.timeout,
        retries=args.retries,
        max_query_area_m2=None if args.max_area_km2 is None else args.max_area_km2 * 1e6,
    )
    return 0


def _cache(args: argparse.Namespace) -> int:
    from ynps_geo.io import cache

    root = cache.cache_root()
    if args.action == "clear":
        n, size = cache.clear()
        print(f"removed {n:,} files ({size / 1e6:,.1f} MB) from {root}")
    else:
        from ynps_geo import settings

        print(
            f"{root}: {cache.cache_size() / 1e6:,.1f} MB (results and downloads capped at "
            f"{settings.cache_max_mb:,.0f} MB; set YNPS_GEO_CACHE / YNPS_GEO_CACHE_MAX_MB)"
        )
    return 0


class _WarningFilter(logging.Filter):
    """Warnings captured by logging (``py.warnings``): ynps_geo's as their plain message,
    the libraries' only with ``-v``."""

    _FORMAT = re.compile(r"^.*?:\d+: (?P<cat>\w+): (?P<msg>.*)$", re.DOTALL)

    def __init__(self, verbose: int) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        m = self._FORMAT.match(record.getMessage())
        if m is None:
            return bool(self.verbose)
        # warnings.formatwarning appends the source line, indented, after a newline
        text = re.sub(r"\n  [^\n]*\n?$", "", m.group("msg")).rstrip("\n")
        if m.group("cat") in _ynps_warning_names():
            record.msg, record.args = text, None
            return True
        if self.verbose:
            record.msg, record.args = f"{m.group('cat')}: {text}", None
            return True
        return False


def _ynps_warning_names() -> set[str]:
    names, todo = set(), [YnpsGeoWarning]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S"
    )

    logging.captureWarnings(False)  # a second call (tests, notebooks) must capture afresh
    logging.captureWarnings(True)
    captured = logging.getLogger("py.warnings")
    for f in [f for f in captured.filters if isinstance(f, _WarningFilter)]:
        captured.removeFilter(f)
    captured.addFilter(_WarningFilter(verbose))
    for noisy in ("pyogrio", "fiona", "rasterio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _log_to_file(path: Path) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    if logging.getLogger().level > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)
        for h in logging.getLogger().handlers:
            if h is not handler:
                h.setLevel(logging.ERROR)
    return handler


def _one_line(err: BaseException) -> str:
    """The message of ``err`` on one line (a multi-line message is joined with "; ")."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return "; ".join(lines) or type(err).__name__


def _fail(message: str, log_file: logging.Handler | None) -> None:
    """Print ``ynps-geo: error: message`` on stderr (one line) and write it to the run's log."""
    print(f"ynps-geo: error: {message}", file=sys.stderr)
    if log_file is not None:  # a scheduled run: the log file must say why it failed
        log_file.handle(
            logging.LogRecord("ynps_geo", logging.ERROR, __file__, 0, message, None, None)
        )


def _sites(args: argparse.Namespace, workflows: Any) -> int:
    if args.out:  # checked before the search, not after it
        if args.out.is_dir():
            msg = f"--out {args.out} is a folder; give a file such as sites.gpkg"
            raise DataSourceError(msg)
        workflows.check_output_dir(args.out.parent)
    sites = workflows.suggest_sites(
        args.config, args.standard, args.p, county=args.county, method=args.method
    )
    base = sites.attrs.get("baseline_share")
    if base is not None:
        print(f"{args.standard}: covered share now {base:.1%}")
    for row in sites.itertuples(index=False):
        print(
            f"{row.rank:>3}. {row.name} ({row.candidate_id}): +{row.population_gained:,.0f} "
            f"people -> {row.share_after:.1%}"
        )
    if args.out:
        from ynps_geo.io.vector import write_layer

        # the standard sited for travels with the sites, so that `analyze --scenario` reads
        # the file as a facility layer as it is
        sites = sites.assign(standard_id=args.standard)
        write_layer(sites, args.out, layer="sites" if args.out.suffix == ".gpkg" else None)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from ynps_geo.compare import compare
    from ynps_geo.report.changes import summary_lines, write_comparison

    comp = compare(args.before, args.after)
    written = write_comparison(comp, args.out)
    for line in summary_lines(comp, "en"):
        print(line)
    print(f"wrote {', '.join(str(p) for p in written.values())}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ynps-geo``; returns the exit status."""
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    log = logging.getLogger("ynps_geo")
    log_file: logging.Handler | None = None
    try:
        if args.command == "fetch":
            return _fetch(args)
        if args.command == "cache":
            return _cache(args)
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
        if args.command == "sites":
            return _sites(args, workflows)
        if args.command == "compare":
            return _compare(args)
        if args.command == "config-schema":
            from ynps_geo.config_model import schema_json

            text = schema_json() + "\n"
            if args.out:
                from ynps_geo.io.vector import atomic_write

                with atomic_write(args.out) as tmp:
                    Path(tmp).write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
            return 0
        target = args.out
        if args.command == "demo":
            result = workflows.demo(args.out, seed=args.seed, progress=log.info, force=args.force)
        elif args.command == "report":
            log_file = _log_to_file(args.log or args.out / "ynps-geo.log")
            result, target = workflows.report(
                args.config,
                args.out,
                progress=log.info,
                use_cache=not args.no_cache,
                stamp=args.stamp,
                options=_overrides(args),
            )
        else:
            result = workflows.analyze(
                args.config,
                args.out,
                progress=log.info,
                options=_overrides(args),
                scenario=args.scenario,
            )
        log.info(
            "wrote %s in %.1f s",
            target,
            sum(result.timings.get(k, 0.0) for k in ("total", "write_outputs")),
        )
        if result.failures:  # each failure was logged by the workflow, with its reason
            _fail(
                f"{len(result.failures)} of {len(result.counties)} counties failed (the others "
                f"were written): {'; '.join(f'{c}: {r}' for c, r in result.failures.items())}",
                log_file,
            )
            return 3
        return 0
    except YnpsGeoError as err:
        _fail(_one_line(err), log_file)
        return 1
    except BrokenPipeError:  # e.g. `ynps-geo standards | head`
        sys.stderr.close()
        return 0
    except OSError as err:  # disk full, permission denied, a folder where a file should be...
        _fail(_one_line(err), log_file)
        return 1
    except Exception as err:  # a bug: still one line (and the traceback with -v)
        if args.verbose:
            log.error("unexpected error", exc_info=True)
        _fail(
            f"unexpected {type(err).__name__}: {_one_line(err)} (this is a bug in ynps-geo; "
            "run again with -v for the traceback and report it)",
            log_file,
        )
        return 1
    except KeyboardInterrupt:
        print("ynps-geo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
