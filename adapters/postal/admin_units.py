"""The administrative units, loaded once from the data files of the MIT-licensed ``vietnamadminunits``.

Only its data is used (its SQLite table of units and its conversion table), never its parser, which guesses
from free text and may geocode over the network. See ``NOTICE`` for the source and its licence. Everything is
turned into plain dicts keyed by the statistics office's codes, so a lookup is one dict access.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ADMIN_VERSION = "2025-07"
SOURCE_PACKAGE = "vietnamadminunits"


@dataclass(frozen=True)
class Province:
    code: str
    name: str


@dataclass(frozen=True)
class Commune:
    code: str
    name: str
    province_code: str


@dataclass(frozen=True)
class LegacyDistrict:
    code: str
    name: str
    province_code: str


@dataclass(frozen=True)
class LegacyWard:
    code: str
    name: str
    district_code: str


@dataclass(frozen=True)
class Units:
    provinces: dict[str, Province]  # 2025-07
    communes: dict[str, Commune]  # 2025-07
    legacy_provinces: dict[str, Province]  # before 2025-07
    legacy_districts: dict[str, LegacyDistrict]
    legacy_wards: dict[str, LegacyWard]
    # (legacy district code, legacy ward code or "" for a district without wards) -> 2025 commune codes
    conversion: dict[tuple[str, str], tuple[str, ...]]


def data_dir() -> Path:
    spec = importlib.util.find_spec(SOURCE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {SOURCE_PACKAGE} package (administrative unit data) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@cache
def units() -> Units:
    """Read the data once per process (about 50 ms)."""
    folder = data_dir()
    with sqlite3.connect(f"file:{folder / 'dataset.db'}?mode=ro", uri=True) as db:
        new_rows = db.execute(
            "SELECT provinceCode, province, wardCode, ward, provinceKey, wardKey FROM admin_units"
        ).fetchall()
        old_rows = db.execute(
            "SELECT provinceCode, province, districtCode, district, wardCode, ward,"
            " provinceKey, districtKey, coalesce(wardKey, '') FROM admin_units_legacy"
        ).fetchall()
    conversion_source = json.loads((folder / "converter_2025.json").read_text(encoding="utf-8"))

    provinces: dict[str, Province] = {}
    communes: dict[str, Commune] = {}
    new_by_key: dict[tuple[str, str], str] = {}
    for p_code, p_name, c_code, c_name, p_key, c_key in new_rows:
        provinces.setdefault(p_code, Province(p_code, p_name))
        communes[c_code] = Commune(c_code, c_name, p_code)
        new_by_key[(p_key, c_key)] = c_code

    legacy_provinces: dict[str, Province] = {}
    districts: dict[str, LegacyDistrict] = {}
    wards: dict[str, LegacyWard] = {}
    old_by_key: dict[str, tuple[str, str]] = {}
    for p_code, p_name, d_code, d_name, w_code, w_name, p_key, d_key, w_key in old_rows:
        legacy_provinces.setdefault(p_code, Province(p_code, p_name))
        districts.setdefault(d_code, LegacyDistrict(d_code, d_name, p_code))
        if w_code:
            wards[w_code] = LegacyWard(w_code, w_name, d_code)
        old_by_key[f"{p_key}_{d_key}_{w_key}"] = (d_code, w_code or "")

    conversion: dict[tuple[str, str], list[str]] = {}
    for p_key, by_ward in conversion_source["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for w_key, old_keys in by_ward.items():
            for old in old_keys:
                conversion.setdefault(old_by_key[old], []).append(new_by_key[(p_key, w_key)])
    for p_key, by_old in conversion_source["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, pieces in by_old.items():
            for piece in pieces:
                conversion.setdefault(old_by_key[old], []).append(new_by_key[(p_key, piece["newWardKey"])])

    return Units(
        provinces=provinces,
        communes=communes,
        legacy_provinces=legacy_provinces,
        legacy_districts=districts,
        legacy_wards=wards,
        conversion={key: tuple(sorted(set(codes))) for key, codes in conversion.items()},
    )
