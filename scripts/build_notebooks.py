"""Build the user-guide notebooks in ``notebooks/`` from the cell sources below.

The notebooks are generated (never edited by hand) so that they stay in sync with the code
and are committed without outputs. Run after changing a cell:

    python scripts/build_notebooks.py          # writes notebooks/*.ipynb
    python scripts/build_notebooks.py --check  # exits 1 if a notebook is out of date

``tests/test_notebooks.py`` executes every notebook; cells tagged ``coverage``, ``errors``...
are the ones whose outputs it checks, so keep the tags when editing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(dedent(text).strip("\n"))


def code(text: str, *tags: str) -> nbformat.NotebookNode:
    cell = new_code_cell(dedent(text).strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


SETUP = """
import tempfile
from pathlib import Path

import pandas as pd

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 30)
pd.set_option("display.max_colwidth", 40)
"""

# --------------------------------------------------------------------------------------------
# 01 quick start
# --------------------------------------------------------------------------------------------

QUICKSTART = [
    md("""
    # 01 · Quick start: analyse what you already hold (示范县)

    An analyst in a notebook already holds the county's data as objects: a village list and
    a facility register as (Geo)DataFrames, the roads as an **osmnx** graph, a DEM and a
    population grid. `ynps_geo.analyze` takes them as they are and runs the whole analysis,
    the same as `ynps-geo analyze config.yaml` (same checks, same results):

    1. build the villages and facilities frames, load the roads with osmnx (offline),
    2. `ynps_geo.analyze(...)`: villages with their travel times, the coverage table (覆盖率)
       against the circles of the 14th Five-Year Public Service Plan, villages outside them,
    3. the interactive map (`result.explore()`),
    4. travel-time questions: a village x clinic matrix, the nearest clinics,
    5. the travel-time surface as a raster, and every output file in a folder.

    The demo county is a generated Yunnan-like mountain county; nothing in your working
    directory changes (everything goes to a temporary folder).
    """),
    code(SETUP),
    code("""
    from ynps_geo.datasets import generate_demo

    work = Path(tempfile.mkdtemp(prefix="ynps_demo_"))
    data = generate_demo(work / "data").parent   # the files a county's bureaus hand over
    sorted(p.name for p in data.iterdir())
    """),
    md("""
    ## 1. The data as objects

    The village list (statistics bureau) has WGS84 coordinates; the facility register
    (health, education, civil affairs) was copied from Amap (高德), so its coordinates are
    **GCJ-02**: we say so with `facilities_crs="gcj02"` and they are converted. The roads
    are OpenStreetMap: osmnx reads the `.osm` file offline (`simplify=False` keeps every
    vertex, as our own reader does).
    """),
    code("""
    import geopandas as gpd
    import osmnx as ox

    v = pd.read_csv(data / "villages.csv", dtype={"code": str})
    villages = gpd.GeoDataFrame(v, geometry=gpd.points_from_xy(v.lon, v.lat), crs="EPSG:4326")

    f = pd.read_csv(data / "facilities.csv", dtype={"fid": str})
    facilities = gpd.GeoDataFrame(f, geometry=gpd.points_from_xy(f.lng, f.lat), crs="EPSG:4326")

    boundary = gpd.read_file(data / "boundary.geojson")
    G = ox.graph_from_xml(data / "roads.osm", simplify=False, retain_all=True)
    print(len(villages), "villages;", len(facilities), "facilities;", G)
    facilities[["fid", "name", "type"]].head()
    """),
    md("""
    ## 2. The analysis

    Column names are keyword arguments named like the YAML keys; a `villages_` or
    `facilities_` prefix says which layer (`population=` and `name=` are the population
    raster and the analysis name, as at the top of a config). The DEM and the population
    grid are paths here; an open rasterio dataset, an xarray DataArray or
    `(array, transform, crs)` work too. Progress bars show while it runs.
    """),
    code("""
    import ynps_geo

    result = ynps_geo.analyze(
        villages,
        facilities,
        boundaries=boundary,
        roads=G,
        dem=data / "dem.tif",
        population=data / "population.tif",
        villages_id="code",
        villages_population="pop",
        setting="setting",
        facilities_crs="gcj02",
        facilities_id="fid",
        category_field="type",
        name_field="name",
        name="示范县",
    )
    result
    """),
    md("""
    ## The plan's circles (服务圈) evaluated

    Each *circle standard* says who must reach what within how long: e.g. `health_15min`
    (15-minute medical service circle, 15分钟医疗服务圈) or `basic_services_90min_rural`
    (rural residents reach basic public services within 1.5 hours, 1.5小时基本公共服务圈).
    """),
    code(
        """
    pd.DataFrame(
        [
            {"id": s.id, "threshold": f"{s.threshold:g} {s.unit}", "applies_to": s.applies_to,
             "title_zh": s.title_zh}
            for s in result.standards
        ]
    )
    """,
        "standards",
    ),
    md("""
    ## The villages (行政村 / 社区)

    `result.villages` is a GeoDataFrame with one row per village. For every standard `S` it
    has `S_minutes` (or `S_km` for distance standards), `S_covered`, `S_applies` (an urban
    standard does not apply to a rural village), and the nearest facility `S_facility_id`,
    `S_facility`. The same table is `villages.gpkg` (layer `villages`).
    """),
    code(
        """
    villages_out = result.villages
    print(type(villages_out).__name__, len(villages_out), "villages,", villages_out.crs)
    villages_out[["village_id", "name", "county", "population", "setting",
                  "health_15min_minutes", "health_15min_covered", "health_15min_facility"]].head(10)
    """,
        "villages",
    ),
    md("""
    ## The coverage table (覆盖率表)

    One row per (county, standard), plus `ALL`: the population the standard applies to, the
    population covered, the covered share, and the number of villages outside. This is
    `coverage.csv`.
    """),
    code(
        """
    coverage = result.coverage
    coverage
    """,
        "coverage",
    ),
    md("""
    ## Villages outside the circles (未达标村), and the notes

    `result.uncovered` lists every village failing at least one standard that applies to it,
    ranked by population and by how far over the threshold it is. `result.notes` are the
    data-quality notes and assumptions the report lists (typed: `.text`, `.county`, `.level`).
    """),
    code(
        """
    uncovered = result.uncovered
    print(len(uncovered), "of", len(result.villages), "villages fail at least one standard")
    uncovered[["village_id", "name", "setting", "population", "failed_standards", "n_failed",
               "max_excess_minutes"]].head(10)
    """,
        "uncovered",
    ),
    code(
        """
    pd.DataFrame([vars(n) for n in result.notes])
    """,
        "notes",
    ),
    md("""
    ## 3. The map (地图)

    `result.explore()` returns the interactive map (folium), shown inline: villages red when
    outside the chosen circle, isochrones, facilities; click a village for its population and
    travel times. The same map is `map.html` in the output folder, to send to the bureau.
    """),
    code(
        """
    m = result.explore(standard="health_15min")
    m
    """,
        "map",
    ),
    md("""
    ## 4. Travel-time questions

    `ynps_geo.travel_times` answers "how long from these places to those", on the same
    engine and trip model as the analysis (walk to a road, drive, walk to the door; over the
    DEM's slopes): one row per reachable pair in long form, or a matrix with
    `output="wide"`. Here: eight villages to the township health centres (卫生院), driving.
    """),
    code(
        """
    clinics = result.facilities[result.facilities["subtype"] == "township_health_centre"]
    matrix = ynps_geo.travel_times(
        result.villages[["village_id", "name", "geometry"]].head(8),
        clinics[["facility_id", "name", "geometry"]],
        mode="drive",
        roads=G,
        dem=data / "dem.tif",
        boundary=boundary,
        id="village_id",
        destinations_id="facility_id",
        output="wide",
    )
    matrix.round(1)
    """,
        "matrix",
    ),
    code(
        """
    ynps_geo.nearest(
        result.villages[["village_id", "geometry"]].head(5),
        clinics[["facility_id", "geometry"]],
        k=2,
        mode="drive",
        roads=G,
        dem=data / "dem.tif",
        boundary=boundary,
        origins_id="village_id",
        destinations_id="facility_id",
    )
    """,
        "nearest",
    ),
    md("""
    ## 5. The travel-time surface, and the files

    `result.travel_time_raster(standard)` is the time from every grid cell to the nearest
    qualifying facility, as an xarray DataArray with its CRS (rioxarray): style it, sample
    it, or `.rio.to_raster()` it. `result.to_folder(dir)` writes every standard output,
    including each surface as a Cloud-Optimised GeoTIFF for QGIS.
    """),
    code(
        """
    surface = result.travel_time_raster("health_15min", mode="drive")
    print(surface.rio.crs, surface.shape, f"{float(surface.median()):.1f} min median")
    surface.where(surface <= 60).plot.imshow(cmap="viridis_r", figsize=(6, 5));
    """,
        "surface",
    ),
    code(
        """
    written = result.to_folder(work / "out")
    sorted(p.name for p in written.values())
    """,
        "files",
    ),
]

# --------------------------------------------------------------------------------------------
# 02 your own county
# --------------------------------------------------------------------------------------------

OWN_COUNTY = [
    md("""
    # 02 · Your own county (你的县)

    Here the demo county's generated files play the part of *your* data, as the bureaus hand
    them over: a facility register exported from Excel in **GBK** with **Chinese column and
    type names** and coordinates copied from **Amap (高德, GCJ-02)**, a village list from the
    statistics bureau, roads, a DEM and a population grid. We

    1. write the register as a GBK CSV, with a few rows the tool cannot use,
    2. read it and see what was counted and left out,
    3. write a config YAML by hand and run the analysis,
    4. see what goes wrong when the register's coordinate system is declared wrongly,
    5. see the errors a bad config gives.
    """),
    code(SETUP.replace("import tempfile\n", "import tempfile\nimport warnings\n")),
    code("""
    from ynps_geo.datasets import generate_demo

    work = Path(tempfile.mkdtemp(prefix="ynps_county_"))
    data = work / "data"
    generate_demo(data)
    for p in sorted(data.iterdir()):
        print(f"{p.name:20s} {p.stat().st_size / 1024:8.1f} KiB")
    """),
    md("""
    ## 1. The facility register: GBK, Chinese names, GCJ-02

    The demo register `facilities.csv` is UTF-8 with English column names. A real export from
    the health or education bureau looks more like this: columns 编号, 名称, 类型, 经度, 纬度,
    saved by Chinese Excel in GBK, with a few rows that are not plan facilities (a pharmacy
    药店, a police station 派出所) and one row whose coordinates were never filled in.
    """),
    code("""
    register = pd.read_csv(data / "facilities.csv", dtype=str, encoding="utf-8-sig")
    register = register.rename(
        columns={"fid": "编号", "name": "名称", "type": "类型", "lng": "经度", "lat": "纬度"}
    )
    extra = pd.DataFrame(
        {
            "编号": ["X0001", "X0002", "X0003", "X0004"],
            "名称": ["示范县第一大药房", "城关派出所", "普头镇新街药店", "沙岭镇卫生院分院"],
            "类型": ["药店", "派出所", "药店", "卫生院"],
            "经度": ["99.9431", "99.9402", "99.9455", ""],
            "纬度": ["25.5921", "25.5889", "25.5978", ""],
        }
    )
    register = pd.concat([register, extra], ignore_index=True)
    gbk_csv = data / "医疗教育设施_gbk.csv"
    register.to_csv(gbk_csv, index=False, encoding="gbk")

    try:
        gbk_csv.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        print("not UTF-8, as Chinese Excel saves it:", err)
    register["类型"].value_counts().head(12)
    """),
    md("""
    Read it with `read_facilities`, exactly as the analysis does. No encoding is given: UTF-8
    is tried, then GB18030 (a superset of GBK). `crs: gcj02` says the coordinates are Amap's;
    they are converted to WGS84. `category_field: 类型` classifies each row by its Chinese type
    name (卫生院 → township health centre, 卫生室 → village clinic, 小学 → primary school...).

    Rows the tool cannot use are never silently dropped: they are left out of the analysis,
    **counted** in `attrs`, and reported with a warning.
    """),
    code(
        """
    from ynps_geo.io.vector import read_facilities

    spec = {"path": gbk_csv.name, "crs": "gcj02", "x": "经度", "y": "纬度", "id": "编号",
            "name": "名称", "category_field": "类型"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        facilities = read_facilities(spec, data)
    for w in caught:
        print(f"{w.category.__name__}: {w.message}\\n")

    print("rows in the file:           ", len(register))
    print("facilities read:            ", len(facilities))
    print("unknown types (left out):   ", facilities.attrs["unknown_types"])
    print("rows without coordinates:   ", facilities.attrs["dropped_no_coordinates"])
    print("declared coordinate system: ", facilities.attrs["declared_crs"])
    """,
        "register",
    ),
    code(
        """
    # how the Chinese type names were classified
    (facilities.groupby(["category", "subtype", "type_raw"]).size()
        .rename("facilities").reset_index())
    """,
        "classified",
    ),
    md("""
    ## 2. The config, written by hand

    Paths are relative to the config file. Every table must declare its coordinate system
    (`crs:`): a CSV without one is an error, never a guess. The village list here is in WGS84
    (GPS readings); the register is GCJ-02 (copied from Amap). Save the YAML as UTF-8.
    """),
    code(
        '''
    config_text = """\\
    name: 示范县 (my county)
    boundary: {path: boundary.geojson, crs: wgs84, name_field: name}
    villages: {path: villages.csv, crs: wgs84, x: lon, y: lat, id: code, name: name,
               population: pop, setting: setting}
    facilities:
      - {path: 医疗教育设施_gbk.csv, crs: gcj02, x: 经度, y: 纬度, id: 编号, name: 名称,
         category_field: 类型}
    roads: {path: roads.osm}
    dem: {path: dem.tif}
    population: {path: population.tif}
    standards: [health_15min, school_walk, basic_services_90min_rural, eldercare_15min]
    """
    config = data / "my_county.yaml"
    config.write_text(config_text, encoding="utf-8")
    print(config.read_text(encoding="utf-8"))
    ''',
        "config",
    ),
    code(
        """
    from ynps_geo import workflows

    out2 = work / "results"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = workflows.analyze(config, out2, progress=print)
    print()
    print("written:", ", ".join(sorted(p.name for p in out2.iterdir())))
    print()
    print("notes for the report's method section:")
    for note in result.notes:
        print(" -", note)
    """,
        "analyze",
    ),
    code(
        """
    result.coverage[result.coverage["county"] == "ALL"]
    """,
        "coverage",
    ),
    md("""
    ## 3. A wrong `crs`: GCJ-02 declared as WGS84

    GCJ-02 (Amap, Tencent) shifts points by a few hundred metres in Yunnan. Declared as
    `wgs84`, every facility sits that far from where it really is.
    """),
    code(
        """
    from ynps_geo.errors import DataQualityWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # the same register warnings as above
        wrong = read_facilities({**spec, "crs": "wgs84"}, data)
    shift_m = facilities.to_crs(32647).distance(wrong.to_crs(32647))
    print(f"each facility is misplaced by {shift_m.min():.0f} to {shift_m.max():.0f} m")
    """,
        "shift",
    ),
    md("""
    The tool checks every layer declared WGS84 against the county boundary: GCJ-02 points
    declared as WGS84 fall just outside it (by 100-700 m), and reading them as GCJ-02 brings
    them back in. This check can only see points near the border. The demo register's
    facilities all lie well inside the county, so for *this* register nothing is flagged: a
    wrong `crs` can pass silently, and declaring it correctly is your job.
    """),
    code("""
    from ynps_geo.config import load_config


    def load_with_warnings(cfg_path):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            inputs = workflows.load_inputs(load_config(cfg_path))
        # keep the coordinate-system warnings (the register's other warnings are shown above)
        return inputs, [f"{w.category.__name__}: {w.message}" for w in caught
                        if "GCJ-02" in str(w.message) or "outside" in str(w.message)]

    wrong_config = data / "my_county_wrong_crs.yaml"
    wrong_config.write_text(
        config_text.replace("crs: gcj02", "crs: wgs84"), encoding="utf-8"
    )
    inputs, msgs = load_with_warnings(wrong_config)
    print(len(msgs), "warnings about the coordinate system")
    for m in msgs:
        print("   ", m)
    """),
    md("""
    Yet the results change. Run the analysis with the wrong `crs` (`workflows.run` returns the
    results without writing files) and compare the 15-minute medical circle village by village:
    """),
    code(
        """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        wrong_result = workflows.run(load_config(wrong_config))

    key = ["village_id", "name", "health_15min_minutes", "health_15min_covered"]
    cmp = result.villages[key].merge(
        wrong_result.villages[key[:1] + key[2:]], on="village_id", suffixes=("", "_if_wgs84")
    )
    diff = (cmp["health_15min_minutes_if_wgs84"] - cmp["health_15min_minutes"]).abs()
    flipped = cmp[cmp["health_15min_covered"] != cmp["health_15min_covered_if_wgs84"]]
    print(f"travel times to the nearest clinic change by up to {diff.max():.1f} min "
          f"({(diff > 0.5).sum()} villages by more than half a minute)")
    print(f"{len(flipped)} villages change in or out of the 15-minute medical circle")
    flipped
    """,
        "wrong_crs_effect",
    ),
    md("""
    Near the border the check does fire. Here is a register of village clinics (卫生室) whose
    real sites are 50-250 m inside the county line, with their coordinates copied from Amap
    (the true WGS84 positions converted to GCJ-02, as Amap shows them). Declared `wgs84`, many
    land just outside the county and the loader warns; declared `gcj02`, there is no warning.
    (These clinics are constructed for the illustration.)
    """),
    code(
        """
    import geopandas as gpd
    import numpy as np

    from ynps_geo.io.coords import wgs84_to_gcj02

    # 40 sites along a line 150 m inside the county border (in UTM 47N metres)
    county = inputs.counties.to_crs(32647).geometry.iloc[0]
    inner_line = county.buffer(-150).boundary
    sites = gpd.GeoSeries(
        [inner_line.interpolate(t, normalized=True) for t in np.linspace(0, 1, 40, False)],
        crs=32647,
    ).to_crs(4326)
    lng, lat = wgs84_to_gcj02(sites.x.to_numpy(), sites.y.to_numpy())
    border = pd.DataFrame({"编号": [f"B{i:03d}" for i in range(len(sites))],
                           "名称": [f"边境村卫生室{i}" for i in range(len(sites))],
                           "类型": "卫生室", "经度": lng.round(6), "纬度": lat.round(6)})
    border.to_csv(data / "border_clinics.csv", index=False, encoding="gbk")

    border_entry = ("  - {path: border_clinics.csv, crs: CRS, x: 经度, y: 纬度, id: 编号, "
                    "name: 名称, category_field: 类型}\\n")
    for declared in ("wgs84", "gcj02"):
        text = config_text.replace("roads:", border_entry.replace("CRS", declared) + "roads:")
        cfg_path = data / f"border_{declared}.yaml"
        cfg_path.write_text(text, encoding="utf-8")
        _, msgs = load_with_warnings(cfg_path)
        print(f"border_clinics.csv declared {declared}: {len(msgs)} warning(s)")
        for m in msgs:
            print("   ", m)
    """,
        "gcj_warning",
    ),
    md("""
    ## 4. A bad config gives a clear error

    Every error is a `ynps_geo.errors.YnpsGeoError` (and also the matching built-in:
    `ValueError`, `OSError`...). The message names the file, the key or column, and the fix.
    A notebook or a cron job can catch it:
    """),
    code(
        """
    from ynps_geo.errors import YnpsGeoError

    mistakes = {
        "a misspelt key": config_text.replace("facilities:", "facilites:"),
        "a column that is not in the file": config_text.replace("pop,", "人口,"),
        "a table without crs": config_text.replace("villages.csv, crs: wgs84,", "villages.csv,"),
        "a file that does not exist": config_text.replace("dem.tif", "dem_30m.tif"),
        "an unknown standard": config_text.replace("school_walk,", "school_15min,"),
    }
    for what, text in mistakes.items():
        bad = data / "bad.yaml"
        bad.write_text(text, encoding="utf-8")
        try:
            workflows.analyze(bad, work / "bad-results")
        except YnpsGeoError as err:
            print(f"{what}:\\n  {type(err).__name__}: {err}\\n")
        else:
            print(f"{what}: no error?!")
    """,
        "errors",
    ),
]

# --------------------------------------------------------------------------------------------
# 03 reading the results
# --------------------------------------------------------------------------------------------

RESULTS = [
    md("""
    # 03 · Reading the results

    What each part of an `AnalysisResult` means, and the numpy-level engine underneath:

    1. coverage by county and by urban/rural setting (城乡),
    2. equalisation (均等化): the spread across counties (Gini) and the urban-rural gap,
    3. the ranked villages outside the circles,
    4. the isochrones (等时圈),
    5. capacity-aware access,
    6. the travel-time kernels on a tiny graph and a small cost raster.
    """),
    code(SETUP),
    code("""
    from ynps_geo import workflows

    out = Path(tempfile.mkdtemp(prefix="ynps_results_"))
    result = workflows.demo(out)
    print(result.name, "-", len(result.villages), "villages,", len(result.facilities),
          "facilities,", len(result.standards), "circle standards")
    """),
    md("""
    ## 1. Coverage by county and setting

    `result.by_setting` splits each standard's covered share by county and by setting
    (`urban` 城镇 / `rural` 农村). A standard only counts the people it applies to: the 10-li
    culture circle (10里文化圈) is rural, the 10-minute culture circle urban.
    """),
    code(
        """
    result.by_setting
    """,
        "by_setting",
    ),
    code("""
    # side by side: urban vs rural share per standard
    (result.by_setting.pivot_table(index="standard_id", columns="setting",
                                   values="share_covered").round(3))
    """),
    md("""
    ## 2. Equalisation (基本公共服务均等化)

    `result.equity` has, per standard, the lowest and highest county shares, the **Gini
    coefficient** of the county shares weighted by population (0 = every county equal; with a
    single county, as here, it is 0 or undefined), and the **urban-rural gap** (urban share
    minus rural share; the plan promises to narrow it).
    """),
    code(
        """
    result.equity
    """,
        "equity",
    ),
    code("""
    from ynps_geo.coverage import gini

    # the Gini the table uses, on made-up county shares: equal, then unequal
    print("equal shares:  ", gini([0.8, 0.8, 0.8], weights=[1e5, 2e5, 3e5]))
    print("unequal shares:", round(gini([0.95, 0.6, 0.3], weights=[1e5, 2e5, 3e5]), 3))
    """),
    md("""
    ## 3. Villages outside the circles, ranked

    `result.uncovered` keeps every column of `result.villages` for the villages failing at
    least one standard, plus `failed_standards`, `n_failed` and `max_excess_minutes` (how far
    over the threshold the worst standard is). It is ranked so that the first rows are where
    a new facility helps most people. *Why* a village fails shows in its columns: the nearest
    facility for each standard and the time to it.
    """),
    code(
        """
    cols = ["name", "setting", "population", "failed_standards", "max_excess_minutes",
            "basic_services_90min_rural_minutes", "health_15min_minutes", "health_15min_facility"]
    result.uncovered[cols].head(12)
    """,
        "uncovered",
    ),
    code("""
    # which standards fail most often, and for how many people
    failed = result.uncovered.assign(standard=result.uncovered["failed_standards"].str.split(","))
    failed = failed.explode("standard")
    failed["standard"] = failed["standard"].str.strip()
    failed.groupby("standard").agg(villages=("village_id", "size"),
                                   population=("population", "sum")).sort_values("population")
    """),
    md("""
    ## 4. Isochrones (等时圈)

    `result.isochrones` is a GeoDataFrame with one (multi)polygon per county, standard and
    travel mode: the area within the standard's threshold of a facility, with the population
    inside it and its area. This is `isochrones.gpkg`.
    """),
    code(
        """
    iso = result.isochrones
    print(type(iso).__name__, iso.crs)
    iso.drop(columns="geometry")
    """,
        "isochrones",
    ),
    md("""
    ## 5. Capacity-aware access (2SFCA)

    Coverage asks *is there a facility within reach*; capacity-aware access (two-step floating
    catchment area, 2SFCA) also asks *how many people share it* (beds, doctors or places per
    1,000 people within reach). `result.access` holds it when the analysis computes it.
    """),
    code(
        """
    from IPython.display import Markdown, display

    access = result.access
    if isinstance(access, pd.DataFrame) and not access.empty:
        display(access.head(20))
    else:
        display(Markdown(
            "*`result.access` is empty for this run: capacity-aware access (2SFCA) is described "
            "in the README.*"
        ))
    """,
        "access",
    ),
    md("""
    ## 6. The engine: `ynps_geo.kernels`

    Under the analysis are two numba kernels, usable directly on numpy arrays.

    **`multi_source_dijkstra`**: on a directed graph in CSR form (`indptr`, `indices`,
    `weights`), the distance from the *nearest* of several sources to every node, and which
    source that is. This is how "minutes to the nearest health centre" is computed on the road
    network. It equals `scipy.sparse.csgraph.dijkstra(..., min_only=True)`.
    """),
    code(
        """
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from ynps_geo.kernels import cost_distance, multi_source_dijkstra

    # 6 nodes, directed edges (u, v, minutes); two facilities at nodes 0 and 5
    edges = [(0, 1, 4.0), (1, 0, 4.0), (1, 2, 3.0), (2, 1, 3.0), (2, 3, 7.0), (3, 2, 7.0),
             (3, 4, 2.0), (4, 3, 2.0), (4, 5, 6.0), (5, 4, 6.0), (0, 2, 9.0), (1, 4, 12.0)]
    u, v, w = map(np.array, zip(*edges, strict=True))
    g = csr_matrix((w, (u.astype(int), v.astype(int))), shape=(6, 6))
    sources = np.array([0, 5])

    dist, nearest = multi_source_dijkstra(g.indptr, g.indices, g.data, sources)
    ref = dijkstra(g, directed=True, indices=sources, min_only=True)
    print("minutes to the nearest facility:", dist)
    print("scipy.sparse.csgraph.dijkstra:   ", ref)
    print("nearest facility node:          ", sources[nearest])
    assert np.allclose(dist, ref)

    # with a cutoff (inclusive): nodes farther than 6 minutes are unreached (inf, -1)
    print("within 6 minutes:", multi_source_dijkstra(g.indptr, g.indices, g.data, sources,
                                                     cutoff=6.0))
    """,
        "dijkstra",
    ),
    md("""
    **`cost_distance`**: on a raster of per-cell crossing costs (minutes to walk across one
    cell, `inf` where impassable: a river, a cliff), the accumulated cost from the nearest
    source cell, moving to 4, 8 or 16 neighbours. This is the off-road walking leg on
    mountain terrain. With 8 neighbours it equals scikit-image's `MCP_Geometric`.
    """),
    code(
        """
    cost = np.ones((5, 6))
    cost[:, 3] = np.inf          # a river with one bridge
    cost[2, 3] = 1.0
    cost[0:2, 1] = 3.0           # a steep slope
    acc = cost_distance(cost, [(0, 0)], connectivity=8)
    print(np.round(acc, 2))

    try:
        from skimage.graph import MCP_Geometric
    except ImportError:
        print("(scikit-image not installed: skipping the comparison)")
    else:
        ref, _ = MCP_Geometric(cost, fully_connected=True).find_costs([(0, 0)])
        print("equal to skimage MCP_Geometric:", np.allclose(acc, ref))
    """,
        "cost_distance",
    ),
]


# --------------------------------------------------------------------------------------------
# 04 where to build next
# --------------------------------------------------------------------------------------------

SITING = [
    md("""
    # 04 · Where to build next (siting)

    "If the county builds three more health centres, where do they bring the most people inside
    the 15-minute circle?" Every village is a candidate site; each is searched in the
    standard's own travel mode with the threshold as cutoff; villages already served count as
    covered; a maximal covering model picks the sites one by one (greedy), or all at once with
    an integer program (`method="exact"`). Then we *build* them and rerun the analysis to see
    the same gain in the ordinary outputs.
    """),
    code(SETUP),
    code(
        """
    from ynps_geo import workflows
    from ynps_geo.datasets import generate_demo

    work = Path(tempfile.mkdtemp(prefix="ynps-04-"))
    config = generate_demo(work / "data")
    sites = workflows.suggest_sites(config, "health_15min", 3)
    print(f"covered now: {sites.attrs['baseline_share']:.1%} of village residents")
    sites[["rank", "candidate_id", "name", "population_gained", "share_after"]]
    """,
        "sites",
    ),
    md("""
    The gains fall with each site (the first one serves the biggest gap). To see the effect in
    the usual outputs, add the sites as facilities and rerun: this is also how to test any
    "what if we build here" you have in mind — put the proposed facilities in their own layer.
    """),
    code(
        """
    import geopandas as gpd
    import pandas as pd

    from ynps_geo.analysis import Options, analyze_county
    from ynps_geo.config import load_config
    from ynps_geo.model.standards import load_standards
    from ynps_geo.siting import sites_as_facilities

    std = load_standards()["health_15min"]
    inputs = workflows.load_inputs(load_config(config))
    county, geom = inputs.counties["county"].iloc[0], inputs.counties.geometry.iloc[0]
    opts = Options(isochrones=False, facility_isochrones="none", access=False)

    def covered_people(inp):
        v = analyze_county(county, geom, inp, [std], opts).villages
        return v.loc[v[std.covered_column] & v[f"{std.id}_applies"], "population"].sum()

    before = covered_people(inputs)
    new = sites_as_facilities(sites, std)
    inputs.facilities = gpd.GeoDataFrame(
        pd.concat([inputs.facilities, new], ignore_index=True), crs="EPSG:4326"
    )
    after = covered_people(inputs)
    print(f"people inside the circle: {before:,.0f} -> {after:,.0f} (+{after - before:,.0f})")
    print(f"the siting model promised +{sites['population_gained'].sum():,.0f}")
    """,
        "rerun",
    ),
]


BOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_your_own_county.ipynb": OWN_COUNTY,
    "03_reading_the_results.ipynb": RESULTS,
    "04_siting.ipynb": SITING,
}


def build(name: str) -> nbformat.NotebookNode:
    nb = new_notebook(cells=BOOKS[name])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"
    nbformat.validate(nb)
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check they are up to date")
    args = parser.parse_args(argv)
    stale = []
    NOTEBOOKS.mkdir(exist_ok=True)
    for name in BOOKS:
        text = nbformat.writes(build(name)) + "\n"
        path = NOTEBOOKS / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print("wrote", path)
    if stale:
        print("out of date (run python scripts/build_notebooks.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
